"""Faults: processes killed mid-take and mid-commit, a full disk, a backend that fails or
runs out of memory. Every case: earlier takes intact and matching their hashes, the
selected take complete, the store sound, leftovers cleaned on the next open, and the
next job works."""
from __future__ import annotations

import os
import random
import resource
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from media import make_cut
from scorer import studio
from scorer.config import Config, using
from scorer.errors import InputError
from scorer.project import Project

TAKE_LOOP = textwrap.dedent("""
    import sys
    from scorer import studio
    from scorer.project import Project

    if __name__ == "__main__":
        p = Project.open(sys.argv[1])
        print("ready", flush=True)
        while True:
            studio.regenerate(p, [sys.argv[2]], takes=1)
            print("take", flush=True)
""")


def _line(proc, timeout_s: float = 120.0) -> str:
    """The take loop's next line ('ready' after its imports, 'take' after each take)."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    assert ready, f"the take loop said nothing for {timeout_s:.0f} s"
    return proc.stdout.readline().decode().strip()


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    path = tmp_path_factory.mktemp("faults") / "cut.mp4"
    make_cut(path, shot_frames=(120, 100, 30, 26, 34, 28, 150), clicks_s=(10.4,))
    return path


@pytest.fixture()
def project(cut, tmp_path):
    p = studio.new_project(tmp_path / "proj", cut, seed=2)
    cue = p.cue_sheet().cues[0].id
    first = studio.regenerate(p, [cue], takes=2, seeds=[1, 2])
    p.select(cue, first[0].id)
    return p


def _snapshot(p: Project) -> dict:
    return {t.id: (t.status, dict(t.files)) for t in p.takes()}


def _assert_sound(p: Project, before: dict) -> None:
    """Earlier done takes unchanged, nothing left running, the store verified."""
    now = {t.id: t for t in p.takes()}
    for tid, (status, files) in before.items():
        if status == "done":
            assert now[tid].status == "done" and now[tid].files == files, tid
    assert not [t for t in now.values() if t.status == "running"]
    for t in now.values():
        if t.status == "failed":
            assert not p.take_dir(t.id, t.cue_id).exists()
    assert p.verify() == []
    cue = p.cue_sheet().cues[0].id
    sel = p.selected(cue)
    assert sel is not None and sel.status == "done"
    assert not list((p.folder / "cache").glob(".scorer-audio-*"))


@pytest.mark.slow                       # ~60 s on 2 cores
def test_killing_a_take_at_random_points_loses_nothing(project):
    cue = project.cue_sheet().cues[0].id
    script = project.folder.parent / "take_loop.py"
    script.write_text(TAKE_LOOP)
    rng = random.Random(8)

    def start():
        proc = subprocess.Popen([sys.executable, str(script), str(project.folder), cue],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert _line(proc) == "ready"
        return proc

    # How long one take lasts on this machine, so the kills land inside takes and between
    # them however fast or loaded the machine is.
    before = _snapshot(project)
    proc = start()
    t0 = time.perf_counter()
    assert _line(proc) == "take"
    take_s = time.perf_counter() - t0
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    _assert_sound(Project.open(project.folder), before)
    kills = 0
    while kills < 20:
        before = _snapshot(project)
        proc = start()
        time.sleep(rng.uniform(0.0, 2.5 * take_s))   # inside a take or between two
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        kills += 1
        reopened = Project.open(project.folder)  # recovery runs here
        _assert_sound(reopened, before)
    done = [t for t in Project.open(project.folder).takes() if t.status == "done"]
    failed = [t for t in Project.open(project.folder).takes() if t.status == "failed"]
    assert len(done) > 2 and failed                # some takes finished, some were cut short
    # … and the next job works.
    assert studio.regenerate(Project.open(project.folder), [cue], takes=1)[0].status == "done"


def test_a_process_killed_inside_a_write_transaction_changes_nothing(project):
    cue = project.cue_sheet().cues[0].id
    before = _snapshot(project)
    selected = project.selected(cue).id
    code = textwrap.dedent(f"""
        import os, signal, sqlite3
        c = sqlite3.connect({str(project.db_path)!r}, isolation_level=None)
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("BEGIN IMMEDIATE")
        c.execute("DELETE FROM takes")
        c.execute("UPDATE selection SET take_id = -1")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code])
    assert proc.returncode == -signal.SIGKILL
    p = Project.open(project.folder)
    assert _snapshot(p) == before and p.selected(cue).id == selected
    _assert_sound(p, before)


def _limit_file_size(limit_bytes: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)    # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


def test_a_full_disk_is_a_clear_error_and_loses_nothing(project, tmp_path):
    cue = project.cue_sheet().cues[0].id
    before = _snapshot(project)
    r = subprocess.run([sys.executable, "-m", "scorer.cli", "project", "score", str(project.folder),
                        "--cue", cue, "-q"], capture_output=True, text=True, timeout=300,
                       preexec_fn=_limit_file_size(600_000))
    assert r.returncode == 2, r.stderr
    assert "scorer: error: cannot write" in r.stderr
    assert "File too large" in r.stderr or "is the disk full?" in r.stderr
    assert "Traceback" not in r.stderr
    p = Project.open(project.folder)
    _assert_sound(p, before)
    assert p.takes()[-1].status == "failed" and "OSError" in p.takes()[-1].error
    # The delivery: a second run into the same folder on a full disk keeps the first.
    sheet = tmp_path / "cues.json"
    sheet.write_text(__import__("json").dumps(p.cue_sheet().to_dict()))
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "scorer.cli", "score", p.cut_path, "-o", str(out), "--cues",
                        str(sheet), "--no-preview", "-q"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    kept = {f: f.read_bytes() for f in out.rglob("*") if f.is_file()}
    r = subprocess.run([sys.executable, "-m", "scorer.cli", "score", p.cut_path, "-o", str(out), "--cues",
                        str(sheet), "--no-preview", "--seed", "9", "-q"], capture_output=True, text=True,
                       timeout=300, preexec_fn=_limit_file_size(2_000_000))
    assert r.returncode == 2 and "cannot write" in r.stderr and "Traceback" not in r.stderr
    after = {f: f.read_bytes() for f in out.rglob("*") if f.is_file()}
    for f, data in kept.items():
        if f.name != "report.json" and not f.name.endswith("_v02.wav"):
            assert after.get(f) == data, f              # nothing half-written over a good file
    assert not [f for f in after if f.name.startswith(".")]     # no temp files left behind


def test_a_backend_error_or_out_of_memory_fails_the_take_and_the_next_one_works(project, monkeypatch,
                                                                              tmp_path):
    cue = project.cue_sheet().cues[0].id
    before = _snapshot(project)
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF\x10\x00\x00\x00sfbk" + b"\x00" * 6)      # a truncated SoundFont
    with using(Config(soundfont=broken)), pytest.raises(InputError):     # as SCORER_SOUNDFONT names it
        studio.regenerate(project, [cue], takes=1)
    assert project.takes()[-1].status == "failed"

    import importlib
    render = importlib.import_module("scorer.render")     # (scorer.render is also a function)

    real = render.get_backend

    class Exhausted:
        name = "soundfont"

        def render(self, *a, **k):
            raise MemoryError("cannot allocate the render buffers")

    monkeypatch.setattr(render, "get_backend", lambda name: Exhausted())
    with pytest.raises(MemoryError):
        studio.regenerate(project, [cue], takes=1)
    failed = project.takes()[-1]
    assert failed.status == "failed" and "MemoryError" in failed.error
    monkeypatch.setattr(render, "get_backend", real)
    assert studio.regenerate(project, [cue], takes=1)[0].status == "done"
    _assert_sound(project, before)


def test_leftover_render_folders_of_dead_processes_are_removed_on_open(project):
    cache = project.folder / "cache"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = cache / f".scorer-audio-{dead.pid}-abc"
    stale.mkdir(parents=True)
    (stale / "000001-1M1-strings.f32").write_bytes(b"\0" * 1024)
    live = cache / f".scorer-audio-{os.getpid()}-xyz"
    live.mkdir()
    Project.open(project.folder)
    assert not stale.exists() and live.exists()
    live.rmdir()
    assert sqlite3.connect(project.db_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
