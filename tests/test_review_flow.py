"""The review flow: notes as threads (replies, resolve / reopen, filters), a request for
changes that sends an approved cue back to sketch, what each person has not seen yet, the
deliveries numbered in order, and an edit made on a stale view refused by name."""
import json
import zipfile

import pytest

from media import make_cut
from scorer import studio
from scorer.errors import InputError
from scorer.project import Project
from scorer.timebase import s_to_smpte

PASSWORDS = {"Dana": "director-pass-1", "Kofi": "composer-pass-1", "Vic": "viewer-pass-1"}


@pytest.fixture()
def film(tmp_path_factory):
    d = tmp_path_factory.mktemp("review")
    cut = d / "reel.mp4"
    make_cut(cut, shot_frames=(96, 72, 120))
    p = studio.new_project(d / "projects" / "Reel", cut, seed=2)
    for name, role in (("Dana", "director"), ("Kofi", "composer"), ("Vic", "viewer")):
        p.add_user(name, role, PASSWORDS[name])
    return p


def _tc(p, t_s):
    src = p.cue_sheet().source
    return s_to_smpte(t_s, src.fps, start_frame=src.start_frame)


def test_a_reply_joins_its_thread_and_reopens_it(film):
    p = film
    first = p.cue_sheet().cues[0]
    n = p.add_note(None, _tc(p, first.start_s + 1.0), author="Dana", text="too busy here", by="Dana")
    other = p.add_note(None, _tc(p, first.start_s + 0.5), author="Kofi", text="earlier note", by="Kofi")
    r = p.add_note(None, None, author="Kofi", text="thinned the strings", by="Kofi", reply_to=n.id)
    assert (r.reply_to, r.cue_id, r.timecode, r.t_s) == (n.id, n.cue_id, n.timecode, n.t_s)
    rr = p.add_note(None, None, author="Dana", text="better", by="Dana", reply_to=r.id)
    assert rr.reply_to == n.id                                   # a reply to a reply: the same thread
    # In picture order, each thread's first note before its replies.
    assert [x.id for x in p.notes()] == [other.id, n.id, r.id, rr.id]
    # The composer resolves the director's thread; a reply opens it again.
    assert not p.resolve_note(n.id, by="Kofi").open
    assert [x.id for x in p.notes(open_only=True)] == [other.id]
    p.add_note(None, None, author="Dana", text="one more thing", by="Dana", reply_to=n.id)
    assert p.note(n.id).open
    # Filters: by author (threads they began or answered), by cue.
    assert {x.id for x in p.notes(author="Dana")} >= {n.id, r.id, rr.id} and other.id not in \
        {x.id for x in p.notes(author="Dana")}
    assert all(x.cue_id == first.id for x in p.notes(first.id))
    # Who may resolve: the author, or a role that may; a viewer may not (and may not reply).
    with pytest.raises(InputError, match="Vic is the viewer"):
        p.resolve_note(n.id, by="Vic")
    with pytest.raises(InputError, match="Vic is the viewer"):
        p.add_note(None, None, author="Vic", text="hm", by="Vic", reply_to=n.id)
    assert p.resolve_note(other.id, by="Kofi").resolved_by == "Kofi"
    assert p.resolve_note(other.id, by="Kofi", reopen=True).open
    with pytest.raises(InputError, match="no note 999"):
        p.add_note(None, None, author="Kofi", text="x", by="Kofi", reply_to=999)


def test_a_request_for_changes_sends_an_approved_cue_back_to_sketch(film):
    p = film
    cue = p.cue_sheet().cues[0]
    (take,) = studio.regenerate(p, [cue.id], takes=1, seeds=[5])
    p.select(cue.id, take.id, by="Dana")
    assert p.status(cue.id) == "sketch"                     # choosing a take starts its sketch
    p.set_status(cue.id, "approved", by="Dana")
    with pytest.raises(InputError, match="Kofi is the composer: to ask for changes to a cue is for the director"):
        p.request_changes(cue.id, "warmer", by="Kofi")
    with pytest.raises(InputError, match="needs a note"):
        p.request_changes(cue.id, "  ", by="Dana")
    note = p.request_changes(cue.id, "warmer, and land the door slam", by="Dana")
    assert note.kind == "changes" and note.cue_id == cue.id and note.timecode == _tc(p, cue.start_s)
    assert p.status(cue.id) == "sketch"
    acts = [(a.user, a.action) for a in p.activity(cue.id)]
    assert ("Dana", "asked for changes") in acts and ("Dana", "stepped back to") in acts
    # A locked cue stays locked: the note says what is wanted, the composer unlocks it.
    p.set_status(cue.id, "approved", by="Dana")
    p.set_status(cue.id, "locked", by="Kofi")
    p.request_changes(cue.id, "one more pass", by="Dana")
    assert p.status(cue.id) == "locked"


def test_what_changed_since_someone_last_looked(film):
    p = film
    cue = p.cue_sheet().cues[0]
    p.mark_seen("Dana")
    assert p.since_seen("Dana") == []
    p.add_note(cue.id, _tc(p, cue.start_s), author="Kofi", text="new sketch up", by="Kofi")
    p.add_note(cue.id, _tc(p, cue.start_s), author="Dana", text="my own", by="Dana")
    seen = p.since_seen("Dana")
    assert [(a.user, a.action) for a in seen] == [("Kofi", "noted")]          # not her own
    p.mark_seen("Dana")
    assert p.since_seen("Dana") == []
    assert [a.action for a in p.since_seen("Vic")] == ["noted", "noted"]    # never looked: everything


def test_deliveries_are_numbered_in_order_and_named_after_the_project(film, tmp_path):
    p = film
    assert [p.next_number("demo") for _ in range(3)] == [1, 2, 3]
    assert p.next_number("demo", at_least=7) == 8
    first = studio.export(p, preview=False)
    second = studio.export(p, preview=False)
    assert (first.name, second.name) == ("reel temp score v01.zip", "reel temp score v02.zip")
    with zipfile.ZipFile(second) as z:
        names = z.namelist()
        assert any(n.endswith("stems/reel_ALL_strings_v02.wav") or "_v02.wav" in n for n in names), names
    acts = [a.detail for a in p.activity() if a.action == "exported"]
    assert acts[0].startswith("v01") and acts[1].startswith("v02")


def test_the_delivery_carries_threads_and_requests(film, tmp_path):
    p = film
    cue = p.cue_sheet().cues[0]
    n = p.add_note(cue.id, _tc(p, cue.start_s), author="Dana", text="hold the low end", by="Dana")
    p.add_note(None, None, author="Kofi", text="done", by="Kofi", reply_to=n.id)
    p.resolve_note(n.id, by="Kofi")
    z = studio.export(p, tmp_path / "d.zip", preview=False)
    with zipfile.ZipFile(z) as zf:
        name = next(x for x in zf.namelist() if x.endswith("notes.json"))
        doc = json.loads(zf.read(name))
    assert doc["schema"] == "ReviewNotes.2"
    first, reply = doc["notes"]
    assert first["resolved_by"] == "Kofi" and reply["reply_to"] == first["id"] and reply["kind"] == "note"


def test_an_edit_made_on_a_stale_view_is_refused_naming_who_changed_the_cue(film):
    p = film
    sheet = p.cue_sheet()
    cue = sheet.cues[0]
    seen = studio.cue_version(sheet, cue.id)
    moved = studio.move_cue(sheet, cue.id, end_s=cue.end_s - 0.5)
    studio.save_edit(p, moved, touched=[cue.id], by="Kofi", seen={cue.id: seen})
    # Dana's form still shows the cue as it was: her edit is refused, nothing is lost.
    stale = studio.set_cue(p.cue_sheet(), cue.id, intensity=0.9)
    with pytest.raises(InputError, match=f"{cue.id} was changed by Kofi .* since you opened it"):
        studio.save_edit(p, stale, touched=[cue.id], by="Kofi", seen={cue.id: seen})
    assert p.cue_sheet().cues[0].end_s == pytest.approx(cue.end_s - 0.5, abs=0.05)
    # Looked at again, the edit goes through.
    fresh = studio.cue_version(p.cue_sheet(), cue.id)
    studio.save_edit(p, stale, touched=[cue.id], by="Kofi", seen={cue.id: fresh})
    assert isinstance(Project.open(p.folder).cue_sheet(), type(sheet))


def test_the_timeline_draws_the_cuts_own_sound_where_it_is(tmp_path):
    from xml.etree import ElementTree

    from ui.app import timeline_html

    cut = tmp_path / "talk.mp4"
    make_cut(cut, shot_frames=(96, 96, 96), speech_spans_s=((6.0, 9.0),))
    p = studio.new_project(tmp_path / "p", cut, seed=1)
    peaks = studio.production_waveform(p)
    duration = p.cue_sheet().source.duration_s
    speech = peaks[int(6.0 / duration * len(peaks)):int(9.0 / duration * len(peaks))]
    quiet = peaks[int(1.0 / duration * len(peaks)):int(4.0 / duration * len(peaks))]
    assert len(peaks) == studio.WAVEFORM_POINTS and speech.max() > 0.9 and speech.mean() > quiet.mean() + 0.25
    assert list(p.folder.glob("cache/waveform-*.npy"))          # decoded once, kept
    svg = timeline_html(p, None).split("<div class=\"scorer-legend\"")[0].removeprefix('<div class="scorer-timeline">')
    root = ElementTree.fromstring(svg)
    paths = [e for e in root.iter("{http://www.w3.org/2000/svg}path") if e.get("class") == "sound"]
    assert len(paths) == 1 and paths[0].get("d").count("M") == studio.WAVEFORM_POINTS
