"""The editor's timeline (EDL/OTIO) and the director's notes as inputs to spotting."""
from dataclasses import replace
from fractions import Fraction

import pytest

from scorer.music.presets import load_presets
from scorer.errors import InputError
from scorer.io.timeline import read_timeline
from scorer.spot.notes import apply_notes, read_notes
from scorer.types import Cue

FPS = Fraction(24000, 1001)

EDL = """TITLE: TEST CUT
FCM: NON-DROP FRAME

001  A001     V     C        00:00:10:00 00:00:12:00 01:00:00:00 01:00:02:00
* FROM CLIP NAME: shot1.mov
002  A002     V     C        00:00:20:00 00:00:21:12 01:00:02:00 01:00:03:12
* FROM CLIP NAME: shot2.mov
* LOC: 01:00:02:12 RED     DOOR SLAM
003  A003     V     C        00:00:30:00 00:00:33:00 01:00:03:12 01:00:06:12
"""


def test_edl_cuts_and_markers_in_frames_of_the_cut(tmp_path):
    path = tmp_path / "cut.edl"
    path.write_text(EDL)
    tl = read_timeline(path, fps=FPS)
    assert tl.cuts == (48, 84)          # 01:00:02:00 and 01:00:03:12 at 24 frames per second
    assert tl.markers == ((60, "DOOR SLAM"),)
    assert tl.n_frames == 156


def test_otio_round_trip_with_a_dissolve(tmp_path):
    import opentimelineio as otio

    rate = float(FPS)
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    for name, n in (("a", 50), ("b", 70), ("c", 40)):
        track.append(otio.schema.Clip(name=name, source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate), otio.opentime.RationalTime(n, rate))))
    track.insert(2, otio.schema.Transition(
        transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
        in_offset=otio.opentime.RationalTime(6, rate), out_offset=otio.opentime.RationalTime(6, rate)))
    track[0].markers.append(otio.schema.Marker(name="punch", marked_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(30, rate), otio.opentime.RationalTime(0, rate))))
    tl = otio.schema.Timeline(tracks=[track])
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(tl, str(path))
    got = read_timeline(path, fps=FPS)
    assert got.cuts == (50,)
    assert got.transitions == ((114, 120, 126, "dissolve"),)
    assert got.markers == ((30, "punch"),)


@pytest.mark.parametrize("text,needle", [("not an edl", "cannot read"), (None, "not found")])
def test_bad_timeline_is_a_clear_error(tmp_path, text, needle):
    path = tmp_path / "cut.edl"
    if text is not None:
        path.write_text(text)
    with pytest.raises(InputError, match=needle):
        read_timeline(path, fps=FPS)


def cue(**kw):
    base = Cue("1M1", 10.0, 30.0, "warmth", 0.4, -0.3, ((10.0, 0.5), (20.0, 0.5), (30.0, 0.5)))
    return replace(base, **kw)


def test_notes_move_mood_and_build_intensity(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("# director\n00:00:09:00 00:00:40:00 tense, building to the reveal\n")
    notes = read_notes(path, fps=FPS)
    assert notes[0].start_s == pytest.approx(9 * 1001 / 1000)
    moved = apply_notes(cue(), notes, presets=load_presets())
    assert moved.valence < 0.4 and moved.arousal > -0.3
    values = [v for _, v in moved.intensity]
    assert values[-1] > values[0] + 0.3
    assert moved.note == "tense, building to the reveal"
    assert moved.preset != "warmth"


def test_notes_can_name_a_preset_or_ask_for_silence(tmp_path):
    presets = load_presets()
    path = tmp_path / "notes.txt"
    path.write_text("12 play this noir\n40 no music here\n")
    notes = read_notes(path, fps=FPS)
    assert apply_notes(cue(), notes, presets=presets).preset == "noir"
    assert apply_notes(cue(start_s=41.0, end_s=50.0), notes, presets=presets) is None


def test_bad_notes_name_the_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("00:00:01:00 fine\nsoon something\n")
    with pytest.raises(InputError, match="line 2"):
        read_notes(path, fps=FPS)


def test_motion_burst_is_a_hit_candidate_but_a_cut_is_not_a_motion_peak():
    import numpy as np

    from scorer.spot.hits import motion_peaks
    from scorer.types import Analysis, Shot, Source

    n = 240
    rng = np.random.default_rng(0)
    motion = (0.01 + 0.001 * rng.random(n)).astype(np.float32)
    motion[150] = 0.08          # a punch
    motion[100] = 0.2           # the cut's own change
    src = Source("x.mp4", FPS, n * 1001 / 24000, n)
    a = Analysis(src, (Shot(0.0, 100 * 1001 / 24000, 0, "start"), Shot(100 * 1001 / 24000, src.duration_s, 100, "cut")),
                 (), np.arange(n) * 1001 / 24000, motion, np.zeros(n), np.zeros(n), np.zeros(n),
                 np.zeros(n), np.zeros(0), np.zeros(0), ())
    peaks = motion_peaks(a)
    assert [h.frame for h in peaks] == [150]
    assert peaks[0].kind == "motion" and peaks[0].t_s == 150 * 1001 / 24000


def test_quiet_talk_plays_dry_but_a_busy_scene_with_talk_does_not():
    from scorer.spot import _plays_dry
    from scorer.spot.cues import Segment
    from scorer.types import Span

    talk = (Span(0.5, 4.0), Span(4.3, 9.5))
    assert _plays_dry(Segment(0.0, 10.0, 0.1, -0.7), talk)
    assert not _plays_dry(Segment(0.0, 10.0, 0.1, 0.3), talk)          # agitated: music stays
    assert not _plays_dry(Segment(0.0, 10.0, 0.1, -0.7), talk[:1])     # mostly not talk


def test_hits_on_a_variable_frame_rate_cut_use_the_frames_pts_times():
    import numpy as np

    from scorer.spot.hits import candidates
    from scorer.types import Analysis, Shot, Source

    # A phone clip: frames at irregular times (as the container's PTS say).
    times = np.cumsum(np.r_[0, np.tile([0.030, 0.030, 0.045], 60)])[:180]
    n = len(times)
    src = Source("phone.mp4", Fraction(30), float(times[-1] + 0.033), n)
    shots = (Shot(0.0, float(times[90]), 0, "start"), Shot(float(times[90]), src.duration_s, 90, "cut"))
    z = np.zeros(n, np.float32)
    a = Analysis(src, shots, (), times, z, z, z, z, z, np.zeros(0), np.zeros(0),
                 ((float(times[120]) + 0.004, 0.9),))
    hits = {h.kind: h for h in candidates(a)}
    assert hits["cut"].t_s == pytest.approx(times[90]) and hits["cut"].frame == 90
    assert hits["onset"].frame == 120 and hits["onset"].t_s == pytest.approx(times[120])
    assert abs(times[90] - 90 / 30) > 0.01   # frame × fps would have been wrong
