"""The project store: takes are written once and verified by hash, selections and cue
statuses follow the rules, notes keep their timecode and author, a crash mid-take is
cleaned up on the next open, and concurrent writers lose nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from test_compose import cue, hit, sheet

from scorer.errors import InputError
from scorer.project import Project


@pytest.fixture()
def project(tmp_path):
    cs = sheet([cue(1.0, 20.0, [hit(5.0, 0.9)], cid="1M1"), cue(25.0, 40.0, cid="1M2")])
    return Project.create(tmp_path / "film", cut_path=tmp_path / "cut.mp4", cue_sheet=cs)


def _take(p, cue_id="1M1", seed=1, data=b"MIDI" * 10):
    t = p.start_take(cue_id, seed=seed, params={"preset": "noir"}, backend="soundfont")
    return p.finish_take(t, {"take.mid": data, "strings.wav": data * 2})


def test_takes_are_written_once_and_verified(project):
    a = _take(project, seed=1)
    b = _take(project, seed=2, data=b"other")
    assert a.status == b.status == "done" and a.id != b.id
    assert set(a.files) == {"take.mid", "strings.wav"}
    assert project.verify() == []
    again = Project.open(project.folder)
    assert [t.id for t in again.takes("1M1")] == [a.id, b.id]
    assert again.cue_sheet() == project.cue_sheet()
    with pytest.raises(InputError, match="only a running take"):
        project.finish_take(a.id, {"take.mid": b"x"})
    # Tampering with a take's file is found.
    (project.take_dir(a.id, "1M1") / "take.mid").write_bytes(b"changed")
    assert any("does not match its hash" in p for p in project.verify())


def test_selection_and_status_follow_the_rules(project):
    a = _take(project)
    with pytest.raises(InputError, match="no chosen take yet"):
        project.set_status("1M1", "sketch")
        project.set_status("1M1", "approved")
    project.select("1M1", a.id)
    assert project.selected("1M1").id == a.id
    with pytest.raises(InputError, match="moves on to approved next, not locked"):
        project.set_status("1M1", "locked")
    project.set_status("1M1", "approved")
    project.set_status("1M1", "locked")
    assert project.regenerable(["1M1", "1M2"]) == ["1M2"]
    b = _take(project, seed=5)
    with pytest.raises(InputError, match="locked"):
        project.select("1M1", b.id)
    project.set_status("1M1", "approved", back=True)       # unlocking is explicit
    project.select("1M1", b.id)
    with pytest.raises(InputError, match="belongs to cue 1M1"):
        project.select("1M2", b.id)
    failed = project.start_take("1M2", seed=1, params={}, backend="soundfont")
    project.fail_take(failed, "out of memory")
    with pytest.raises(InputError, match="failed"):
        project.select("1M2", failed)


def test_notes_keep_cue_timecode_and_author(project):
    n = project.add_note("1M1", "00:00:05:12", author="Director", text="hold the hit longer")
    assert n.author == "Director" and n.timecode == "00:00:05:12" and abs(n.t_s - (5 + 12 / 23.976)) < 0.01
    assert [x.text for x in project.notes("1M1")] == ["hold the hit longer"]
    with pytest.raises(InputError):
        project.add_note("1M1", "99:99", author="x", text="y")
    with pytest.raises(InputError, match="no cue"):
        project.add_note("9M9", "00:00:01:00", author="x", text="y")


def test_a_note_is_pinned_inside_the_cut_to_the_cue_that_holds_it(project):
    with pytest.raises(InputError, match="not in cue 1M2; it is in 1M1"):
        project.add_note("1M2", "00:00:10:00", author="Director", text="too early")
    assert project.add_note(None, "00:00:30:00", author="Director", text="here").cue_id == "1M2"
    with pytest.raises(InputError, match="no cue plays at 00:00:22:00"):
        project.add_note(None, "00:00:22:00", author="Director", text="between cues")
    assert project.cue_sheet().source.duration_s < 600
    with pytest.raises(InputError, match="00:10:00:00 is not inside the cut, which runs 00:00:00:00–"):
        project.add_note(None, "00:10:00:00", author="D", text="past the end")
    with pytest.raises(InputError, match="at most 2000 characters; this one has 200000"):
        project.add_note("1M1", "00:00:02:00", author="D", text="x" * 200_000)
    assert len(project.notes()) == 1                     # nothing half-kept


def test_a_note_on_a_cut_that_starts_at_an_hour_takes_the_pictures_timecode(tmp_path):
    from dataclasses import replace

    cs = sheet([cue(1.0, 20.0, cid="1M1")])
    cs = replace(cs, source=replace(cs.source, start_timecode="01:00:00:00"))
    p = Project.create(tmp_path / "reel", cut_path=tmp_path / "cut.mp4", cue_sheet=cs)
    a = p.add_note(None, "01:00:05:00", author="Director", text="the picture's timecode")
    b = p.add_note(None, "00:00:05:00", author="Director", text="counted from the first frame")
    assert a.t_s == b.t_s and a.timecode == b.timecode == "01:00:05:00"


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x" * 40, "1M1\x00"])
def test_names_never_become_paths(project, bad):
    with pytest.raises(InputError):
        project.start_take(bad, seed=1, params={}, backend="soundfont")
    if len(bad) < 40:                               # a long name is fine for a file, not for a cue
        t = project.start_take("1M1", seed=1, params={}, backend="soundfont")
        with pytest.raises(InputError):
            project.finish_take(t, {bad or "..": b"x"})


def test_a_take_killed_mid_write_is_cleaned_up_and_earlier_takes_survive(project):
    good = _take(project)
    code = (f"import os, sys, time; sys.path.insert(0, {str(os.getcwd())!r});"
            "from scorer.project import Project;"
            f"p = Project.open({str(project.folder)!r});"
            "t = p.start_take('1M1', seed=9, params={}, backend='soundfont');"
            "d = p.take_dir(t, '1M1'); d.mkdir(parents=True);"
            "(d / '.take.mid.partial').write_bytes(b'half');"
            "print(t, flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    take_id = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    again = Project.open(project.folder)                 # recovery runs here
    dead = again.take(take_id)
    assert dead.status == "failed" and "stopped" in dead.error
    assert not again.take_dir(take_id, "1M1").exists()
    assert again.take(good.id).status == "done" and again.verify() == []


def test_concurrent_writers_lose_nothing(project):
    errors = []

    def worker(k):
        try:
            p = Project.open(project.folder)
            for i in range(5):
                _take(p, cue_id="1M2", seed=100 * k + i, data=f"{k}-{i}".encode())
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    takes = project.takes("1M2")
    assert len(takes) == 20 and len({t.seed for t in takes}) == 20
    assert all(t.status == "done" for t in takes) and project.verify() == []


def test_opening_nothing_or_twice_is_a_clear_error(tmp_path, project):
    with pytest.raises(InputError, match="no project here"):
        Project.open(tmp_path / "nowhere")
    with pytest.raises(InputError, match="already exists"):
        Project.create(project.folder, cut_path="x.mp4", cue_sheet=project.cue_sheet())


def test_recovery_never_takes_a_take_finishing_meanwhile_for_a_dead_one(project, monkeypatch):
    """Opening a project checks takes left running; one that finishes while it looks (its
    writer alive a moment ago, done now) keeps its files and its status."""
    import scorer.project as project_module

    t = project.start_take("1M2", seed=4242, params={}, backend="soundfont")

    def finishes_meanwhile(pid):
        project.finish_take(t, {"take.mid": b"MIDI done", "strings.wav": b"RIFF"})
        return False                      # by the time anyone looks, nobody holds it

    monkeypatch.setattr(project_module, "pid_alive", finishes_meanwhile)
    assert t not in project.recover()
    monkeypatch.undo()
    assert project.take(t).status == "done" and project.verify() == []
