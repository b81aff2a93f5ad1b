"""The studio's work (scorer.studio), the `scorer project` command, and the Gradio app
driven on loopback through gradio_client and a real headless Chromium."""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from media import free_port, make_cut
from scorer import studio
from scorer.errors import InputError
from scorer.mix.loudness import measure
from scorer.project import Project
from scorer.timebase import s_to_smpte

SR = 48000
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    d = tmp_path_factory.mktemp("studio")
    path = d / "Reel 2.mp4"
    make_cut(path, shot_frames=(120, 100, 30, 26, 34, 28, 150), clicks_s=(10.4,),
             speech_at=((17.0, "I told you we would make it."),))
    return path


@pytest.fixture(scope="module")
def project(cut, tmp_path_factory):
    folder = tmp_path_factory.mktemp("projects") / "reel2"
    return studio.new_project(folder, cut, seed=3)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "scorer.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- takes -------------------------------------------------------------------------------------

def test_takes_are_new_files_at_a_matched_level_and_never_rewritten(project):
    cue = project.cue_sheet().cues[0]
    a, b = studio.regenerate(project, [cue.id], takes=2, seeds=[11, 12])
    assert (a.status, b.status) == ("done", "done") and a.params["seed"] == 11 and b.parent is None
    wav_a, wav_b = (studio.take_file(project, t, "take.wav") for t in (a, b))
    ya, rate = sf.read(wav_a, dtype="float32", always_2d=True)
    yb, _ = sf.read(wav_b, dtype="float32", always_2d=True)
    assert rate == SR and ya.shape[1] == 2
    assert not np.array_equal(ya[:len(yb)], yb[:len(ya)])          # new seed, new music
    info = json.loads(studio.take_file(project, a, "take.json").read_text())
    # The take runs from the cue's first sample to the end of its tail.
    assert len(ya) == round((info["end_s"] + info["tail_s"]) * SR) - round(info["start_s"] * SR)
    for y in (ya, yb):                                              # A/B at one level
        lufs, tp = measure([y.T], sample_rate=SR)
        assert abs(lufs - studio.TAKE_LUFS) < 0.6 and tp <= -0.9
    # The same parameters compose the same notes (the take is its parameters).
    again = studio.make_take(project, cue.id, a.params)
    assert studio.take_file(project, again, "take.mid").read_bytes() == studio.take_file(project, a, "take.mid").read_bytes()
    before = {t.id: dict(t.files) for t in project.takes()}
    studio.regenerate(project, [cue.id], takes=1)
    for t in project.takes():
        if t.id in before:
            assert t.files == before[t.id]
            for name, digest in t.files.items():
                assert _sha(studio.take_file(project, t, name)) == digest
    assert project.verify() == []


def test_refine_changes_one_thing_and_keeps_the_seed(project):
    cue = project.cue_sheet().cues[0]
    base = studio.regenerate(project, [cue.id], takes=1, seeds=[21])[0]
    project.select(cue.id, base.id)
    r = studio.refine_take(project, cue.id, preset="noir")
    assert r.params["seed"] == 21 and r.params["preset"] == "noir" and r.parent == base.id
    info = json.loads(studio.take_file(project, r, "take.json").read_text())
    assert info["params"]["preset"] == "noir"
    with pytest.raises(InputError, match="refine changes one of"):
        studio.refine_take(project, cue.id, colour="blue")


def test_locked_and_approved_cues_are_left_alone_by_bulk_regeneration(cut, tmp_path):
    p = studio.new_project(tmp_path / "p", cut, seed=1)
    ids = [c.id for c in p.cue_sheet().cues]
    assert len(ids) >= 2
    first = studio.regenerate(p, [ids[0]], takes=1)[0]
    p.select(ids[0], first.id)
    p.set_status(ids[0], "approved")
    p.set_status(ids[0], "locked")
    made = studio.regenerate(p, ids, takes=1, bulk=True)
    assert {t.cue_id for t in made} == set(ids[1:])
    with pytest.raises(InputError, match="locked"):
        studio.regenerate(p, [ids[0]], takes=1)
    with pytest.raises(InputError, match="locked"):
        studio.save_edit(p, studio.set_cue(p.cue_sheet(), ids[0], intensity=0.9), touched=[ids[0]])


# --- editing the cue sheet ----------------------------------------------------------------------

def test_a_project_made_with_a_user_preset_composes_takes_and_exports_with_it(cut, tmp_path):
    repo = Path(__file__).resolve().parent.parent
    text = (repo / "presets" / "noir.toml").read_text(encoding="utf-8").replace('name = "noir"', 'name = "my_noir"', 1)
    text = text.replace("[tempo]", "[tempo]\n# my own", 1)
    user = tmp_path / "my_noir.toml"
    user.write_text(text, encoding="utf-8")
    p = studio.new_project(tmp_path / "p", cut, seed=2, preset=str(user))
    user.unlink()                        # the project keeps the preset, not a path to it
    assert {c.preset for c in p.cue_sheet().cues} == {"my_noir"}
    composer = studio.Composer(p)
    assert all(cs.cue.preset == "my_noir" for cs in composer.base().cues)
    cue_id = p.cue_sheet().cues[0].id
    take = studio.make_take(p, cue_id, studio.take_params(seed=5), composer=composer)
    assert take.status == "done"
    # A cue may be set to the user preset and back to a shipped one; an unknown name is refused.
    presets = studio.project_presets(p)
    sheet = studio.set_cue(p.cue_sheet(), cue_id, preset="tension", presets=presets)
    sheet = studio.set_cue(sheet, cue_id, preset="my_noir", presets=presets)
    with pytest.raises(InputError, match="no preset 'nosuch'"):
        studio.set_cue(sheet, cue_id, preset="nosuch", presets=presets)
    p.select(cue_id, take.id)
    out = studio.export(p, tmp_path / "export.zip", preview=False)
    report = json.loads(zipfile.ZipFile(out).read(next(n for n in zipfile.ZipFile(out).namelist()
                                                       if n.endswith("report.json"))))
    assert {c["preset"] for c in report["cues"]} == {"my_noir"}


def test_split_merge_move_and_hits_edit_the_cue_sheet(project):
    sheet = project.cue_sheet()
    c = sheet.cues[0]
    mid = (c.start_s + c.end_s) / 2
    split = studio.split_cue(sheet, c.id, mid)
    a, b = (x for x in split.cues if x.id in (c.id, c.id + "A"))
    fps = sheet.source.fps
    from scorer.timebase import frame_to_s, s_to_frame
    assert a.end_s == b.start_s == frame_to_s(s_to_frame(mid, fps), fps)       # on a frame
    assert abs(a.end_s - mid) <= 1 / float(fps) and b.id == c.id + "A"
    merged = studio.merge_cues(split, c.id, c.id + "A")
    back = next(x for x in merged.cues if x.id == c.id)
    assert (back.start_s, back.end_s) == (c.start_s, c.end_s)
    hit_t = c.start_s + 1.0
    with_hit = studio.add_hit(sheet, c.id, hit_t)
    h = next(h for h in next(x for x in with_hit.cues if x.id == c.id).hits if h.kind == "marker")
    assert h.frame == s_to_frame(hit_t, fps) and h.t_s == frame_to_s(h.frame, fps)
    moved = studio.move_hit(with_hit, c.id, hit_t, hit_t + 0.5)
    assert any(abs(x.t_s - (hit_t + 0.5)) < 1 / float(fps) for x in next(y for y in moved.cues if y.id == c.id).hits)
    assert studio.remove_hit(with_hit, c.id, hit_t).cues == sheet.cues
    shorter = studio.move_cue(sheet, c.id, end_s=c.end_s - 1.0)
    assert next(x for x in shorter.cues if x.id == c.id).end_s < c.end_s
    with pytest.raises(InputError, match="outside the cue"):
        studio.add_hit(sheet, c.id, c.end_s + 5)
    with pytest.raises(InputError, match="not inside"):
        studio.split_cue(sheet, c.id, c.end_s + 1)


# --- export ------------------------------------------------------------------------------------

def test_export_delivers_the_selected_takes(project, tmp_path):
    cue = project.cue_sheet().cues[0]
    take = studio.regenerate(project, [cue.id], takes=1, seeds=[77])[0]
    project.select(cue.id, take.id)
    z = studio.export(project, tmp_path / "delivery.zip", preview=False)
    with zipfile.ZipFile(z) as f:
        names = f.namelist()
        f.extractall(tmp_path / "x")
    root = next((tmp_path / "x").iterdir())
    for needed in ("mix.wav", "score.mid", "cuesheet.csv", "timeline.otio", "report.json", "cues.json"):
        assert (root / needed).is_file(), (needed, names)
    assert any(n.endswith(".wav") and "/stems/" in n for n in names)
    # The delivered MIDI plays the selected take's notes for that cue.
    def notes(path, lo_s, hi_s):
        mid = mido.MidiFile(path)
        t, out = 0.0, []
        for msg in mid:                      # mido yields messages in seconds, merged
            t += msg.time
            if msg.type == "note_on" and msg.velocity and lo_s - 1e-3 <= t < hi_s - 1e-3:
                out.append((round(t, 3), msg.note))
        return sorted(out)
    take_mid = studio.take_file(project, take, "take.mid")
    assert notes(root / "score.mid", cue.start_s, cue.end_s) == notes(take_mid, cue.start_s, cue.end_s)


# --- the command -------------------------------------------------------------------------------

def test_project_command_new_score_takes_select_note_export(cut, tmp_path):
    folder = tmp_path / "cli-project"
    r = run_cli("project", "new", folder, cut, "--seed", "5", "-q")
    assert r.returncode == 0, r.stderr
    r = run_cli("project", "score", folder, "--takes", "2", "-q")
    assert r.returncode == 0, r.stderr
    p = Project.open(folder)
    takes = p.takes()
    assert len(takes) == 2 * len(p.cue_sheet().cues) and all(t.status == "done" for t in takes)
    r = run_cli("project", "select", folder, takes[1].id)
    assert r.returncode == 0 and p.selected(takes[1].cue_id).id == takes[1].id
    r = run_cli("project", "note", folder, takes[1].cue_id, "00:00:02:00", "hit the door harder", "--author", "dir")
    assert r.returncode == 0, r.stderr
    r = run_cli("project", "takes", folder)
    assert r.returncode == 0 and f"* take {takes[1].id}" in r.stdout and "hit the door harder" in r.stdout
    r = run_cli("project", "export", folder, "-o", tmp_path / "out.zip", "--no-preview", "-q")
    assert r.returncode == 0, r.stderr
    assert zipfile.ZipFile(tmp_path / "out.zip").testzip() is None
    # A bad selection: a clear message, a non-zero exit, nothing changed.
    r = run_cli("project", "select", folder, "9999")
    assert r.returncode != 0 and "no take 9999" in r.stderr
    assert p.selected(takes[1].cue_id).id == takes[1].id


# --- the app -----------------------------------------------------------------------------------

def _free_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def app(project, tmp_path_factory):
    from ui.app import launch

    port = _free_port()
    projects = tmp_path_factory.mktemp("studio-projects")
    demo = launch(str(project.folder), port=port, projects_dir=projects, block=False)
    yield f"http://127.0.0.1:{port}/", projects
    demo.close()


def test_the_api_regenerates_selects_and_exports_on_loopback(app, project):
    from gradio_client import Client

    url, _ = app
    c = Client(url, verbose=False)
    cue = project.cue_sheet().cues[-1]
    before = len(project.takes(cue.id))
    c.predict(cue.id, api_name="/view_cue")
    out = c.predict(cue.id, 2, api_name="/regenerate")
    assert out[-1] == f"2 new take(s) of {cue.id}."
    new = project.takes(cue.id)[before:]
    assert len(new) == 2 and all(t.status == "done" for t in new)
    wav = c.predict(new[0].id, api_name="/take_audio_a")
    assert sf.info(wav).samplerate == SR
    c.predict(cue.id, new[0].id, api_name="/select_a")
    assert project.selected(cue.id).id == new[0].id
    zip_path, _, msg = c.predict("ebu", ["click"], api_name="/export")
    assert msg.startswith("Exported: ") and zipfile.ZipFile(zip_path).testzip() is None
    assert any(re.search(r"_Click_v\d\d\.wav$", n) for n in zipfile.ZipFile(zip_path).namelist())   # "also deliver"
    # The delivery is named after the project and its number, and handed out again on asking
    # (a link from long ago may have been retired): the same bytes under the same name.
    assert re.fullmatch(r"Reel-2 temp score v\d\d\.zip", Path(zip_path).name), zip_path
    again, _, said = c.predict(api_name="/latest_delivery")
    assert Path(again).name == Path(zip_path).name and said.startswith("Handed out again")
    assert Path(again).read_bytes() == Path(zip_path).read_bytes()


def test_the_api_edits_a_cue_by_timecode(app, cut):
    from gradio_client import Client

    from scorer.timebase import frame_to_s, s_to_frame

    url, projects = app
    p = studio.new_project(projects / "Edit Reel", cut, seed=1)
    c = Client(url, verbose=False)
    c.predict("Edit Reel", api_name="/open_project")
    cue = p.cue_sheet().cues[0]
    fps = p.cue_sheet().source.fps
    out_frame = s_to_frame(cue.end_s, fps) - 24
    c.predict(cue.id, "00:00:00:00", f"00:00:{out_frame // 24:02d}:{out_frame % 24:02d}", api_name="/move_cue")
    moved = p.cue_sheet().cues[0]
    assert s_to_frame(moved.end_s, fps) == out_frame                     # to the frame typed
    c.predict(cue.id, "2.5", api_name="/add_hit")                         # seconds work too
    assert any(s_to_frame(h.t_s, fps) == s_to_frame(2.5, fps) for h in p.cue_sheet().cues[0].hits)
    hit_tc = f"00:00:02:{s_to_frame(2.5, fps) - 48:02d}"
    c.predict(cue.id, hit_tc, api_name="/remove_hit")                     # the hit, named by its frame
    assert not any(s_to_frame(h.t_s, fps) == s_to_frame(2.5, fps) for h in p.cue_sheet().cues[0].hits)
    with pytest.raises(Exception, match="not HH:MM:SS:FF"):
        c.predict(cue.id, "soon", api_name="/split_cue")
    assert frame_to_s(out_frame, fps) == pytest.approx(moved.end_s, abs=1e-6)


def test_the_api_creates_a_project_from_an_uploaded_cut(app, cut):
    from gradio_client import Client, handle_file

    url, projects = app
    c = Client(url, verbose=False)
    notes = cut.parent / "director-notes.txt"
    notes.write_text("00:00:02:00 uneasy from here\n")
    out = c.predict("Uploaded Reel", handle_file(str(cut)), None, None, handle_file(str(notes)), 3, "web",
                    api_name="/create_project")
    assert out[-1] == "Created **Uploaded Reel**."
    p = Project.open(projects / "Uploaded Reel")
    assert len(p.cue_sheet().cues) >= 2
    assert Path(p.cut_path) == (projects / "Uploaded Reel" / "media" / cut.name).resolve()   # copied in
    # The form's settings are the project's, the notes file copied in beside the cut.
    kept = studio.project_settings(p)
    assert (kept.seed, kept.spec) == (3, "web")
    assert Path(kept.notes).read_text() == notes.read_text() and Path(kept.notes).parent == Path(p.cut_path).parent
    # A second client on another project never sees this one's takes.
    other = Client(url, verbose=False)
    cue = p.cue_sheet().cues[0].id
    c.predict(cue, 1, api_name="/regenerate")
    assert len(p.takes()) == 1
    view = other.predict(api_name="/view")
    assert "Uploaded Reel" not in json.dumps(view, default=str)
    with pytest.raises(Exception, match="already exists"):
        c.predict("Uploaded Reel", handle_file(str(cut)), None, None, None, 0, "ebu", api_name="/create_project")
    assert len(p.takes()) == 1                   # nothing lost


def test_with_auth_nothing_is_served_without_logging_in(project):
    import urllib.error
    import urllib.request

    from ui.app import launch

    port = _free_port()
    demo = launch(str(project.folder), port=port, auth="director:secret", block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        for route in ("gradio_api/info", "config"):
            try:
                with urllib.request.urlopen(url + route, timeout=10) as r:
                    status = r.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            assert status in (401, 403), (route, status)
        from gradio_client import Client
        with pytest.raises(Exception):
            Client(url, verbose=False)
        Client(url, auth=("director", "secret"), verbose=False).predict(api_name="/view")
    finally:
        demo.close()
    with pytest.raises(InputError, match="USER:PASS"):
        launch(str(project.folder), port=port, auth="nocolon", block=False)


def test_a_musicgen_take_without_weights_is_a_clear_error_and_loses_nothing(app, project):
    from gradio_client import Client

    url, _ = app
    c = Client(url, verbose=False)
    cue = project.cue_sheet().cues[0].id
    c.predict(cue, api_name="/view_cue")
    before = {t.id: t.files for t in project.takes() if t.status == "done"}
    with pytest.raises(Exception, match="(?i)weights|audiocraft"):
        c.predict(cue, api_name="/regenerate_musicgen")
    after = {t.id: t for t in project.takes()}
    assert all(after[i].files == files for i, files in before.items())
    assert not [t for t in after.values() if t.status == "running"]
    assert [t.status for t in after.values() if t.id not in before and t.backend == "musicgen"] in ([], ["failed"])


def test_file_routes_serve_nothing_outside_what_the_app_handed_out(app, project):
    import urllib.error
    import urllib.parse
    import urllib.request

    url, _ = app
    for target in ("/etc/passwd", str(project.db_path), str(project.folder / ".." / "project.db"),
                   str(Path(project.cut_path))):
        for route in ("gradio_api/file=", "file="):
            try:
                with urllib.request.urlopen(url + route + urllib.parse.quote(target), timeout=10) as r:
                    status = r.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            assert status in (403, 404), (route, target, status)


def test_project_names_never_become_paths(tmp_path):
    from ui.app import project_folder

    assert project_folder(tmp_path, "My Film") == (tmp_path / "My Film").resolve()
    assert project_folder(tmp_path, "Amélie à Paris").name == "Amélie à Paris"      # kept as typed
    for bad in ("../etc", "/abs", "a/b", "", ".hidden", "x" * 80):
        with pytest.raises(InputError):
            project_folder(tmp_path, bad)


@contextlib.contextmanager
def _counting_listener():
    """A web server on loopback that records every request it gets: (port, paths)."""
    import http.server
    import threading

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_the_page_in_a_real_browser_creates_a_project_and_regenerates(app, cut):
    import playwright.sync_api as playwright
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.fail("Debian's chromium is needed for the page test (apt-get install chromium)")
    url, projects = app
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.get_by_text("Project", exact=True).first.click()        # the accordion, closed on an open project
        page.get_by_label("new project name").fill("Browser Film")
        page.locator("input[type=file]").first.set_input_files(str(cut))
        page.get_by_role("button", name="Create and analyse").click()
        page.wait_for_selector("#timeline svg", timeout=180_000)
        page.get_by_text("Created").first.wait_for(timeout=180_000)
        page.locator("#regenerate").click()
        page.get_by_text("2 new take(s)").first.wait_for(timeout=180_000)
        page.screenshot(path=str(ARTIFACTS / "studio.png"), full_page=True)
        p = Project.open(projects / "Browser Film")
        assert [t.status for t in p.takes()] == ["done", "done"]
        # A reload while a take is being made: the page comes back on the same project,
        # and the take, finished meanwhile, is there.
        assert "project=Browser+Film" in page.url or "project=Browser%20Film" in page.url
        page.locator("#regenerate").click()
        page.reload()
        page.wait_for_selector("#timeline svg", timeout=180_000)
        # Both takes asked for are made: a reload does not cancel the rest of a batch.
        for _ in range(3600):                    # (a take can take a minute on a busy machine)
            if len([t for t in p.takes() if t.status == "done"]) >= 4:
                break
            page.wait_for_timeout(100)
        assert len([t for t in p.takes() if t.status == "done"]) == 4, [t.status for t in p.takes()]
        page.reload()
        newest = max(t.id for t in p.takes())
        page.get_by_text("Browser Film").first.wait_for(timeout=180_000)
        # The newest take is offered as A (the dropdown shows it in its input).
        page.wait_for_function("(want) => [...document.querySelectorAll('input')].some("
                               "i => i.value.startsWith(want))", arg=f"take {newest} ", timeout=180_000)
        # A note is plain text: markup in it shows as typed and makes no viewer's browser
        # fetch anything (a listener on loopback counts the requests it gets).
        with _counting_listener() as (port, hits):
            text = f'<img src="http://127.0.0.1:{port}/a"> ![x](http://127.0.0.1:{port}/b) <svg><image href="http://127.0.0.1:{port}/c"/></svg>'
            page.get_by_role("tab", name="Notes").click()
            first = p.cue_sheet().cues[0]
            page.get_by_label("timecode").fill(s_to_smpte((first.start_s + first.end_s) / 2, p.cue_sheet().source.fps))
            page.get_by_label("your name").fill("Director")
            page.get_by_label("note", exact=True).fill(text)
            page.get_by_role("button", name="Add note").click()
            page.get_by_text("Note added to").first.wait_for(timeout=180_000)
            page.locator("#notes").get_by_text(f'<img src="http://127.0.0.1:{port}/a">', exact=False).wait_for(
                timeout=180_000)
            page.reload()
            page.get_by_role("tab", name="Notes").click()
            page.locator("#notes").get_by_text("![x]", exact=False).wait_for(timeout=180_000)
            # The note is a marker on the timeline too, its text as the marker's tooltip.
            page.wait_for_selector("#timeline svg path.note", state="attached", timeout=180_000)
            page.screenshot(path=str(ARTIFACTS / "studio-notes.png"), full_page=True)
            assert hits == []
        # What someone else does shows on this page without a reload.
        p.add_note(None, s_to_smpte(first.start_s + 0.5, p.cue_sheet().source.fps), author="Composer",
                   text="heard it, on it")
        page.locator("#notes").get_by_text("heard it, on it").wait_for(timeout=180_000)
        # The Edit cue fields hold the picked cue's own times, as timecode.
        page.get_by_role("tab", name="Edit cue").click()
        start_tc = s_to_smpte(first.start_s, p.cue_sheet().source.fps)
        playwright.expect(page.get_by_label("in (timecode or s)")).to_have_value(start_tc, timeout=180_000)
        page.screenshot(path=str(ARTIFACTS / "studio-edit.png"), full_page=True)
        browser.close()
    assert sorted(n.text for n in p.notes()) == sorted([text, "heard it, on it"])
    assert len([t for t in p.takes() if t.status == "done"]) == 4
    assert (ARTIFACTS / "studio.png").stat().st_size > 10_000


def test_cancel_stops_before_the_next_take_and_leaves_no_half_take(app, project):
    from gradio_client import Client

    url, _ = app
    c = Client(url, verbose=False)
    cue = project.cue_sheet().cues[0]
    c.predict(cue.id, api_name="/view_cue")
    before = len(project.takes(cue.id))
    job = c.submit(cue.id, 8, api_name="/regenerate")
    for _ in range(600):                         # the first take lands …
        if len(project.takes(cue.id)) > before + 1:
            break
        time.sleep(0.05)
    c.predict(api_name="/cancel_takes")          # … then Cancel
    for _ in range(1200):                        # the take being made is finished …
        if all(t.status in ("done", "failed") for t in project.takes(cue.id)[before:]):
            break
        time.sleep(0.05)
    job.cancel()
    made = project.takes(cue.id)[before:]
    assert 1 <= len(made) < 8
    assert all(t.status in ("done", "failed") for t in made)
    time.sleep(2.0)
    assert len(project.takes(cue.id)[before:]) == len(made)          # nothing more came
