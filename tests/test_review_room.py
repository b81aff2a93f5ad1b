"""The studio as a review room, in Debian's chromium: the cut plays with the picked cue's
takes in sync, the playhead moves on the timeline, a click seeks and picks a cue, the
editor's keys work, A/B switches the take heard at the same position, and a director's
note, approval and request for changes go through. Screenshots at 1024 and 1600 px are
saved as test artifacts. Every wait is on a condition."""
import re
from pathlib import Path

import pytest

from media import free_port, make_cut
from scorer import studio
from scorer.timebase import s_to_smpte

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    d = tmp_path_factory.mktemp("room")
    cut = d / "Reel 3.mp4"
    make_cut(cut, shot_frames=(120, 100, 30, 26, 34, 28, 150), clicks_s=(10.4,),
             speech_at=((17.0, "I told you we would make it."),))
    p = studio.new_project(d / "reel3", cut, seed=3)
    first = p.cue_sheet().cues[0]
    studio.regenerate(p, [first.id], takes=2, seeds=[11, 12])
    from ui.app import launch

    port = free_port()
    demo = launch(str(p.folder), port=port, projects_dir=d / "projects", block=False)
    yield f"http://127.0.0.1:{port}/", p
    demo.close()


def _state(page):
    return page.evaluate("window.scorerReview.state()")


def test_the_cut_plays_with_the_takes_and_the_keys_drive_it(room):
    import playwright.sync_api as playwright

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.fail("Debian's chromium is needed for the page test (apt-get install chromium)")
    url, p = room
    sheet = p.cue_sheet()
    first, second = sheet.cues[0], sheet.cues[1]
    ARTIFACTS.mkdir(exist_ok=True)
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium),
                                     args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url)
        # The player knows the cut and the picked cue's two takes; the cut's picture loads.
        page.wait_for_function("window.scorerReview && window.scorerReview.state().a && "
                               "window.scorerReview.state().b", timeout=180_000)
        page.wait_for_function("document.querySelector('#review video').readyState >= 1", timeout=180_000)
        assert page.evaluate("document.querySelector('#review video').duration") == pytest.approx(
            sheet.source.duration_s, abs=0.1)
        # Space plays: the picture runs, both takes run with it, A heard and B muted.
        page.keyboard.press("Space")
        page.wait_for_function("window.scorerReview.state().t > 0.3 && window.scorerReview.state().playing.A "
                               "&& window.scorerReview.state().playing.B", timeout=180_000)
        s = _state(page)
        assert not s["paused"] and s["muted"] == {"A": False, "B": True}
        # B: the other take is heard from the same position, without stopping.
        page.keyboard.press("b")
        page.wait_for_function("window.scorerReview.state().muted.A && !window.scorerReview.state().muted.B",
                               timeout=180_000)
        assert _state(page)["playing"] == {"A": True, "B": True}
        # The playhead on the timeline follows the picture.
        page.wait_for_function("(() => { const l = document.querySelector('#timeline line.rv-playhead');"
                               " return l && Number(l.dataset.t) > 0.3; })()", timeout=180_000)
        page.keyboard.press("k")
        page.wait_for_function("window.scorerReview.state().paused", timeout=180_000)
        # → and ← move one frame.
        t0 = _state(page)["t"]
        frame = 1 / float(sheet.source.fps)
        page.keyboard.press("ArrowRight")
        page.wait_for_function(f"Math.abs(window.scorerReview.state().t - {t0}) > {frame / 4}", timeout=180_000)
        t1 = _state(page)["t"]
        assert 0.5 * frame < t1 - t0 < 1.6 * frame
        page.keyboard.press("ArrowLeft")
        page.wait_for_function(f"window.scorerReview.state().t < {t1 - frame / 4}", timeout=180_000)
        # ] goes to the next cue's start and picks it (its takes: none yet).
        page.keyboard.press("]")
        page.wait_for_function(f"window.scorerReview.state().cue === '{second.id}'", timeout=180_000)
        assert _state(page)["t"] == pytest.approx(second.start_s, abs=0.05)
        # A click on the first cue's block seeks there and picks it; the takes come back.
        svg = page.locator("#timeline svg").bounding_box()
        at = (first.start_s + first.end_s) / 2
        x = svg["x"] + svg["width"] * (4 + (1200 - 8) * at / sheet.source.duration_s) / 1200
        page.mouse.click(x, svg["y"] + svg["height"] * 0.45)
        page.wait_for_function(f"window.scorerReview.state().cue === '{first.id}' && window.scorerReview.state().a",
                               timeout=180_000)
        assert _state(page)["t"] == pytest.approx(at, abs=0.1)
        # L plays forward; J runs the playhead back.
        page.keyboard.press("l")
        page.wait_for_function(f"window.scorerReview.state().t > {at + 0.3}", timeout=180_000)
        page.keyboard.press("j")
        t_back = _state(page)["t"]
        page.wait_for_function(f"window.scorerReview.state().t < {t_back - 0.2}", timeout=180_000)
        page.keyboard.press("k")
        # A cue table row picks its cue.
        page.locator("#review").scroll_into_view_if_needed()
        page.locator("#cues").get_by_text(second.id, exact=True).last.click()
        page.wait_for_function(f"window.scorerReview.state().cue === '{second.id}'", timeout=180_000)
        page.screenshot(path=str(ARTIFACTS / "review-1600.png"), full_page=True)
        page.set_viewport_size({"width": 1024, "height": 900})
        page.wait_for_function("document.querySelector('#timeline svg').getBoundingClientRect().width <= 1024",
                               timeout=180_000)
        page.screenshot(path=str(ARTIFACTS / "review-1024.png"), full_page=True)
        browser.close()
    assert (ARTIFACTS / "review-1024.png").stat().st_size > 10_000


def test_a_note_at_the_playhead_approval_and_a_request_for_changes(room):
    import playwright.sync_api as playwright

    url, p = room
    first = p.cue_sheet().cues[0]
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_function("window.scorerReview && window.scorerReview.state().a", timeout=180_000)
        page.keyboard.press("l")
        page.wait_for_function("window.scorerReview.state().t > 1.5", timeout=180_000)
        page.keyboard.press("k")
        # "note here" puts the playhead's timecode in the Notes tab.
        page.get_by_role("button", name="note here").click()
        box = page.locator("#note-tc textarea, #note-tc input").first
        playwright.expect(box).to_have_value(re.compile(r"^\d\d:\d\d:\d\d:\d\d$"), timeout=180_000)
        tc = box.input_value()
        page.get_by_label("your name").fill("Dana")
        page.get_by_label("note", exact=True).fill("strings too loud here")
        page.get_by_role("button", name="Add note").click()
        page.locator("#notes").get_by_text("strings too loud here").wait_for(timeout=180_000)
        (note,) = [n for n in p.notes() if n.text == "strings too loud here"]
        assert note.timecode == tc and note.cue_id == first.id
        # A reply on the thread, then it is resolved.
        page.wait_for_function("(want) => document.querySelector('#notes').innerText.includes(want)",
                               arg=f"#{note.id}", timeout=180_000)
        page.locator("#thread input").click()
        page.keyboard.type(f"#{note.id} ")
        page.keyboard.press("Enter")
        playwright.expect(page.locator("#thread input")).to_have_value(re.compile(f"^#{note.id} "), timeout=180_000)
        page.get_by_label("reply").fill("thinned them")
        page.get_by_role("button", name="Reply").click()
        page.locator("#notes").get_by_text("thinned them").wait_for(timeout=180_000)
        page.get_by_role("button", name="Resolve").click()
        page.locator("#notes").get_by_text("resolved by", exact=False).wait_for(timeout=180_000)
        # Choose take A, approve, then ask for changes: back to sketch with the note.
        page.get_by_role("tab", name="Takes").click()
        page.get_by_role("button", name="Select A").click()
        page.get_by_text("selected.").first.wait_for(timeout=180_000)
        page.get_by_role("button", name="Approve (director)").click()
        page.get_by_text(f"{first.id} is approved.").first.wait_for(timeout=180_000)
        page.get_by_label("what should change").fill("warmer, please")
        page.get_by_role("button", name="Request changes (director)").click()
        page.get_by_text("Changes asked for").first.wait_for(timeout=180_000)
        assert p.status(first.id) == "sketch"
        # A refused action leaves the page usable: unlocking a cue that is not locked.
        page.get_by_role("button", name="Unlock (composer)").click()
        page.get_by_text("not locked: nothing to unlock").first.wait_for(timeout=180_000)
        page.keyboard.press("]")
        page.wait_for_function("window.scorerReview.state().cue !== '%s'" % first.id, timeout=180_000)
        browser.close()
    kinds = [(n.kind, n.text) for n in p.notes(first.id)]
    assert ("changes", "warmer, please") in kinds and ("note", "thinned them") in kinds


PASSWORDS = {"Dana": "director-pass-1", "Kofi": "composer-pass-1", "Vic": "viewer-pass-1", "Mo": "editor-pass-1"}


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    d = tmp_path_factory.mktemp("team")
    cut = d / "Reel 4.mp4"
    make_cut(cut, shot_frames=(120, 100, 150), speech_at=((6.0, "We never spoke of it again."),))
    p = studio.new_project(d / "projects" / "Reel 4", cut, seed=4)
    for name, role in (("Dana", "director"), ("Kofi", "composer"), ("Vic", "viewer"), ("Mo", "music editor")):
        p.add_user(name, role, PASSWORDS[name])
    from ui.app import launch

    port = free_port()
    demo = launch(str(p.folder), port=port, projects_dir=d / "projects", block=False)
    yield f"http://127.0.0.1:{port}/", p
    demo.close()


def _logged_in(browser, url, name):
    """A browser context of its own (its own cookies), logged in as `name`."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(url)
    page.locator("input").nth(0).fill(name)
    page.locator("input[type=password]").fill(PASSWORDS[name])
    page.get_by_role("button", name="Login").click()
    page.wait_for_selector("#timeline svg", timeout=180_000)
    page.wait_for_function("window.scorerReview && window.scorerReview.state().cue", timeout=180_000)
    return page


def test_director_composer_and_viewer_review_together_without_reloading(team):
    import playwright.sync_api as playwright

    url, p = team
    cue = p.cue_sheet().cues[0]
    src = p.cue_sheet().source
    at = s_to_smpte((cue.start_s + cue.end_s) / 2, src.fps, start_frame=src.start_frame)
    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        director, composer, viewer = (_logged_in(browser, url, n) for n in ("Dana", "Kofi", "Vic"))
        # The director leaves a note at a timecode …
        director.get_by_role("tab", name="Notes").click()
        director.get_by_label("timecode").fill(at)
        director.get_by_label("note", exact=True).fill("let the door slam land")
        director.get_by_role("button", name="Add note").click()
        director.get_by_text("Note added to").first.wait_for(timeout=180_000)
        (note,) = p.notes()
        assert (note.author, note.timecode, note.cue_id) == ("Dana", at, cue.id)
        # … the composer sees it appear without reloading, and replies.
        composer.get_by_role("tab", name="Notes").click()
        composer.locator("#notes").get_by_text("let the door slam land").wait_for(timeout=180_000)
        composer.locator("#thread input").click()
        composer.keyboard.type(f"#{note.id} ")
        composer.keyboard.press("Enter")
        composer.get_by_label("reply").fill("on it: a stinger on the slam")
        composer.get_by_role("button", name="Reply").click()
        director.locator("#notes").get_by_text("on it: a stinger on the slam").wait_for(timeout=180_000)
        # The composer makes two takes and chooses one; the director approves the cue.
        composer.get_by_role("tab", name="Takes").click()
        composer.locator("#regenerate").click()
        composer.get_by_text(f"2 new take(s) of {cue.id}.").first.wait_for(timeout=600_000)
        composer.get_by_role("button", name="Select A").click()
        composer.get_by_text("selected.").first.wait_for(timeout=180_000)
        director.get_by_role("tab", name="Takes").click()
        director.get_by_role("button", name="Approve (director)").click()
        director.get_by_text(f"{cue.id} is approved.").first.wait_for(timeout=180_000)
        assert p.status(cue.id) == "approved"
        # The viewer can't, is told why in words, and the page stays usable.
        viewer.get_by_role("tab", name="Takes").click()
        viewer.get_by_role("button", name="Step back one status").click()
        viewer.get_by_text("Vic is the viewer").first.wait_for(timeout=180_000)
        assert p.status(cue.id) == "approved"
        viewer.keyboard.press("]")
        viewer.wait_for_function(f"window.scorerReview.state().cue !== '{cue.id}'", timeout=180_000)
        # Every act has its person.
        acts = {(a.user, a.action) for a in p.activity()}
        assert {("Dana", "noted"), ("Kofi", "replied"), ("Kofi", "made"), ("Kofi", "chose"),
                ("Dana", "moved on to")} <= acts
        director.screenshot(path=str(ARTIFACTS / "review-director.png"), full_page=True)
        # Two people edit the same cue: the second, whose fields are stale, is told who
        # changed it and sees the change; nothing is lost.
        editor = _logged_in(browser, url, "Mo")
        editor.get_by_role("tab", name="Edit cue").click()
        start_tc = s_to_smpte(cue.start_s, src.fps, start_frame=src.start_frame)
        playwright.expect(editor.get_by_label("in (timecode or s)")).to_have_value(start_tc, timeout=180_000)
        composer.get_by_role("tab", name="Edit cue").click()
        new_out = s_to_smpte(cue.end_s - 1.0, src.fps, start_frame=src.start_frame)
        composer.get_by_label("out (timecode or s)").fill(new_out)
        composer.get_by_role("button", name="Move in/out").click()
        composer.get_by_text("Cue sheet saved.").first.wait_for(timeout=180_000)
        moved_end = p.cue_sheet().cues[0].end_s
        editor.get_by_role("button", name="Set preset and intensity").click()
        editor.get_by_text("was changed by Kofi").first.wait_for(timeout=180_000)
        assert p.cue_sheet().cues[0].end_s == moved_end                       # Kofi's edit stands
        playwright.expect(editor.get_by_label("out (timecode or s)")).to_have_value(
            s_to_smpte(moved_end, src.fps, start_frame=src.start_frame), timeout=180_000)
        editor.get_by_role("button", name="Set preset and intensity").click()      # looked at again: saved
        editor.get_by_text("Cue sheet saved.").first.wait_for(timeout=180_000)
        browser.close()
