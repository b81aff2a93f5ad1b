"""Performance data from the score to the file and the render: controller changes (CC11
dynamics, CC64 pedal) at their times on their parts' channels and audible in the render,
and the conductor's bar grid (meters on bar lines, every cue's first downbeat a bar line)
on hand-built scores with known answers."""
from __future__ import annotations

import io
from dataclasses import replace
from fractions import Fraction

import mido
import numpy as np
import pytest

from test_midi_readback import _abs, assert_programs_hold, meters, meters_off_bar_lines, on_bar_line
from test_render_midi import midi_times

from scorer.deliver.midi import build_midi, film_tempo_map, midi_bytes, part_channels
from scorer.render import get_backend
from scorer.timebase import SAMPLE_RATE, frame_to_s, s_to_sample
from scorer.types import (EXPRESSION, SUSTAIN_PEDAL, Control, Cue, CueScore, Hit, HitFit, Note, Part,
                          Score, Source, TempoMap, TempoSegment)

FPS = Fraction(30000, 1001)          # drop-frame rate: seconds that are not round numbers


def _cue_score(cid: str, tm: TempoMap, end_s: float, parts, hits=(), preset="tension") -> CueScore:
    start = tm.start_s
    cue = Cue(cid, start, end_s, preset, 0.0, 0.0, ((start, 0.5),), tuple(h.hit for h in hits))
    return CueScore(cue, tm, "D minor", ((start, "Dm"),), tuple(parts), tuple(hits), tail_s=1.0)


def _score(cues, duration_s: float) -> Score:
    src = Source("x.mp4", FPS, duration_s, round(duration_s * 30000 / 1001), 320, 180, False)
    return Score(src, tuple(cues), seed=1)


def _rms_db(y: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(y, np.float64) ** 2) + 1e-20))


# --- CC11: a swell on a held note --------------------------------------------------------------

START, HOLD = 1.0, 4.0
RAMP = tuple(Control(START + k * 0.1, EXPRESSION, round(20 + 100 * k / 40)) for k in range(41))


def swell_score(controls=RAMP) -> Score:
    tm = TempoMap.constant(START, 120.0)
    organ = Part("pad", "keys", 16, False, (Note(START, START + HOLD, 60, 100),), controls)
    return _score([_cue_score("1M1", tm, START + HOLD, [organ])], START + HOLD + 3.0)


def test_controls_are_written_at_their_times_on_the_parts_channel():
    import pretty_midi

    score = swell_score()
    data = midi_bytes(score)
    chan = part_channels(score)[(0, 0)]
    _, events = midi_times(data)
    got = [(t, m.value) for t, m in events if m.type == "control_change" and m.control == EXPRESSION]
    assert all(m.channel == chan for _, m in events if m.type == "control_change")
    assert len(got) == len(RAMP)
    for (t, value), c in zip(got, RAMP):
        assert abs(t - c.t_s) < 1e-3 and value == c.value
    # At the note's tick the first CC11 comes before the note-on.
    kinds = [m.type for _, m in events if m.type in ("control_change", "note_on")]
    assert kinds[0] == "control_change"
    pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    (inst,) = pm.instruments
    ccs = [(cc.time, cc.value) for cc in inst.control_changes if cc.number == EXPRESSION]
    assert len(ccs) == len(RAMP)
    assert all(abs(t - c.t_s) < 1e-3 and v == c.value for (t, v), c in zip(ccs, RAMP))


def test_a_cc11_swell_is_heard_in_the_render():
    def first_and_last_second(score):
        clip = get_backend("soundfont").render(score, workers=1).groups["keys"][0]
        y = clip.samples
        a = s_to_sample(START) - clip.start_sample
        return _rms_db(y[:, a:a + SAMPLE_RATE]), _rms_db(y[:, a + 3 * SAMPLE_RATE:a + 4 * SAMPLE_RATE])

    first, last = first_and_last_second(swell_score())
    assert last - first >= 6.0
    flat_first, flat_last = first_and_last_second(swell_score(controls=()))
    assert abs(flat_last - flat_first) < 6.0          # without it the organ does not swell


# --- CC64: the sustain pedal -----------------------------------------------------------------------

NOTE_OFF_S, PEDAL_UP_S = 1.5, 3.5


def piano_score(pedal: bool) -> Score:
    tm = TempoMap.constant(START, 120.0)
    controls = (Control(1.2, SUSTAIN_PEDAL, 127), Control(PEDAL_UP_S, SUSTAIN_PEDAL, 0)) if pedal else ()
    piano = Part("piano", "keys", 0, False, (Note(START, NOTE_OFF_S, 60, 100),), controls)
    return _score([_cue_score("1M1", tm, 5.0, [piano])], 8.0)


def _window_db(clip, t0: float, t1: float) -> float:
    a, b = (s_to_sample(t) - clip.start_sample for t in (t0, t1))
    return _rms_db(clip.samples[:, a:b])


def test_the_sustain_pedal_holds_a_note_past_its_note_off_until_it_lifts():
    pedal = get_backend("soundfont").render(piano_score(True), workers=1).groups["keys"][0]
    dry = get_backend("soundfont").render(piano_score(False), workers=1).groups["keys"][0]
    assert _window_db(pedal, 1.0, 1.4) == pytest.approx(_window_db(dry, 1.0, 1.4), abs=0.1)  # same note
    held, dry_then = _window_db(pedal, 2.5, 3.4), _window_db(dry, 2.5, 3.4)
    assert held - dry_then >= 20.0                 # it still sounds after its note-off
    after = _window_db(pedal, PEDAL_UP_S + 0.6, PEDAL_UP_S + 1.2)
    assert held - after >= 10.0                    # and stops ringing when the pedal lifts
    # In the file: the pedal on the piano's channel at its seconds.
    _, events = midi_times(midi_bytes(piano_score(True)))
    got = [(round(t, 3), m.value) for t, m in events if m.type == "control_change" and m.control == SUSTAIN_PEDAL]
    assert got == [(1.2, 127), (PEDAL_UP_S, 0)]


# --- the next cue on the same channel ----------------------------------------------------------------

def two_pads(*, ring_s: float) -> Score:
    """1M1's pad fades out with CC11 and its last note rings ring_s past 1M2's start;
    1M2's pad (another program) has no controls of its own."""
    tm1 = TempoMap.constant(frame_to_s(30, FPS), 100.0)
    end1 = tm1.beat_to_s(8)
    fade = (Control(tm1.beat_to_s(0), EXPRESSION, 100), Control(tm1.beat_to_s(6), EXPRESSION, 40),
            Control(tm1.beat_to_s(4), SUSTAIN_PEDAL, 127))
    pad1 = Part("pad", "strings", 48, False, (Note(tm1.start_s, tm1.beat_to_s(4), 62, 80),
                                              Note(tm1.beat_to_s(6), end1 + ring_s, 50, 80)), fade)
    tm2 = TempoMap.constant(end1, 90.0, 3)
    pad2 = Part("pad", "strings", 49, False, (Note(end1, tm2.beat_to_s(6), 57, 70),))
    return _score([_cue_score("1M1", tm1, end1, [pad1]), _cue_score("1M2", tm2, tm2.beat_to_s(6), [pad2])],
                  tm2.beat_to_s(6) + 2.0)


def _cc_at(events, chan: int, number: int, t_s: float):
    """The value of controller `number` on `chan` in force at second t_s (None if never set)."""
    value = None
    for t, m in events:
        if m.type == "control_change" and m.channel == chan and m.control == number and t <= t_s + 1e-6:
            value = m.value
    return value


def test_a_closing_chord_ringing_into_the_next_cue_keeps_its_program():
    score = two_pads(ring_s=0.8)
    ch = part_channels(score)
    assert ch[(0, 0)] != ch[(1, 0)]                 # 1M2's pad moves to a free channel
    mid = build_midi(score)
    assert_programs_hold(score, mid)
    _, events = midi_times(midi_bytes(score))
    ends = sorted(t for t, m in events if m.type == "note_off" and m.note == 50)
    assert ends == [pytest.approx(score.cues[0].cue.end_s + 0.8, abs=1e-3)]     # rings in full


def test_the_next_cue_on_a_channel_starts_with_its_program_and_fresh_controllers():
    score = two_pads(ring_s=0.0)                    # the chord ends where 1M2 starts
    ch = part_channels(score)
    assert ch[(0, 0)] == ch[(1, 0)]                 # the channel is free: the pad keeps it
    chan = ch[(0, 0)]
    data = midi_bytes(score)
    assert_programs_hold(score, mido.MidiFile(file=io.BytesIO(data)))
    _, events = midi_times(data)
    start2 = score.cues[1].cue.start_s
    assert _cc_at(events, chan, EXPRESSION, start2 - 0.01) == 40
    assert _cc_at(events, chan, EXPRESSION, start2) == 127      # back to full before 1M2's first note
    assert _cc_at(events, chan, SUSTAIN_PEDAL, start2) == 0
    order = [m.type for t, m in events if abs(t - start2) < 1e-6 and getattr(m, "channel", None) == chan]
    assert order.index("program_change") < order.index("control_change") < order.index("note_on")


def test_controller_state_does_not_leak_from_one_clip_into_the_next():
    """1M1 leaves expression at 40 and the pedal down; 1M2 sounds the same after it as alone."""
    score = two_pads(ring_s=0.0)
    both = get_backend("soundfont").render(score, workers=1).groups["strings"]
    alone = get_backend("soundfont").render(replace(score, cues=score.cues[1:]), workers=1).groups["strings"]
    assert np.array_equal(both[1].samples, alone[0].samples)
    again = get_backend("soundfont").render(score, workers=1).groups["strings"]
    assert all(np.array_equal(a.samples, b.samples) for a, b in zip(both, again))


# --- the bar grid ---------------------------------------------------------------------------------

def grid_score() -> Score:
    """Cues whose ends are off their bar lines, with pickups, a sliver of a gap, touching and
    overlapping cues, gaps for filler, and hits at tempo changes; drop-frame seconds."""
    f = lambda n: frame_to_s(n, FPS)                                   # noqa: E731
    note = lambda tm, b, p=60: Note(tm.beat_to_s(b), tm.beat_to_s(b + 0.5), p, 90)  # noqa: E731
    cues = []
    # A: 1-beat pickup at 0.7 s, 4/4 at 100, a hit on beat 6 (tempo change), ends on beat 10.
    a0 = f(21)
    tm_a = TempoMap((TempoSegment(a0, -1.0, 100.0), TempoSegment(a0 + 7 * 0.6, 6.0, 96.0)), 4)
    h_a = Hit(tm_a.beat_to_s(6.0), 0, 0.9, "cut", True)
    end_a = tm_a.beat_to_s(10.0)
    cues.append(_cue_score("A", tm_a, end_a, [Part("p", "keys", 0, False,
                                                    tuple(note(tm_a, b) for b in range(-1, 10)))],
                           hits=(HitFit(h_a, 6.0, 0.0, False),)))
    # B: touches A, 3/4 at 90, ends on beat 7.5 (a half-beat last bar).
    tm_b = TempoMap.constant(end_a, 90.0, 3)
    end_b = tm_b.beat_to_s(7.5)
    cues.append(_cue_score("B", tm_b, end_b, [Part("p", "strings", 48, False,
                                                    tuple(note(tm_b, b, 64) for b in range(0, 7)))]))
    # C: 0.1 s after B (no room for filler), 2-beat pickup, 4/4 at 120 → 132 at beat 4.
    c0 = end_b + 0.1
    tm_c = TempoMap((TempoSegment(c0, -2.0, 120.0), TempoSegment(c0 + 3.0, 4.0, 132.0)), 4)
    h_c = Hit(tm_c.beat_to_s(4.0), 0, 0.9, "cut", True)
    end_c = tm_c.beat_to_s(13.0)
    cues.append(_cue_score("C", tm_c, end_c, [Part("p", "brass", 60, False,
                                                    tuple(note(tm_c, b, 67) for b in range(-2, 13)))],
                           hits=(HitFit(h_c, 4.0, 0.0, True),)))
    # D: starts 1.3 s before C ends (overlap), 4/4 at 77, ends on beat 13; then 3.7 s of gap.
    tm_d = TempoMap.constant(end_c - 1.3, 77.0, 4)
    end_d = tm_d.beat_to_s(13.0)
    cues.append(_cue_score("D", tm_d, end_d, [Part("p", "keys", 0, False,
                                                    tuple(note(tm_d, b, 55) for b in range(0, 13)))]))
    # E: 3/4 at 133, ends at a fraction of a beat (11.37) — not even a quarter of one.
    tm_e = TempoMap.constant(end_d + 3.7, 133.0, 3)
    end_e = tm_e.beat_to_s(11.37)
    cues.append(_cue_score("E", tm_e, end_e, [Part("p", "woodwinds", 73, False,
                                                    tuple(note(tm_e, b, 72) for b in range(0, 11)))]))
    return _score(cues, end_e + 5.0)


def test_every_meter_is_on_a_bar_line_and_every_cue_starts_on_one():
    score = grid_score()
    mid = build_midi(score)
    assert meters_off_bar_lines(mid) == []
    tmap = film_tempo_map(score)
    cues = score.cues
    for i, cs in enumerate(cues):
        tm = cs.tempo_map
        down = tmap.s_to_tick(tm.beat_to_s(0.0))
        assert on_bar_line(mid, down), cs.cue.id
        assert any(t == down and n == tm.beats_per_bar and d == 4 for t, n, d in meters(mid)), cs.cue.id
        assert on_bar_line(mid, tmap.s_to_tick(cs.cue.start_s)), cs.cue.id     # the pickup bar too
        # The cue's own bar lines, up to the next cue's start (less the bar it cuts short).
        cut = cues[i + 1].cue.start_s if i + 1 < len(cues) else cs.cue.end_s
        bar_s = 60 / max(seg.tempo_bpm for seg in tm.segments) * tm.beats_per_bar
        k = 1
        while tm.beat_to_s(k * tm.beats_per_bar) < min(cut - bar_s, cs.cue.end_s) - 1e-6:
            assert on_bar_line(mid, tmap.s_to_tick(tm.beat_to_s(k * tm.beats_per_bar))), (cs.cue.id, k)
            k += 1
    # Every cue's end that the next cue does not overlap is a bar line (its button on one).
    for i, cs in enumerate(cues):
        if i + 1 == len(cues) or cues[i + 1].cue.start_s >= cs.cue.end_s:
            assert on_bar_line(mid, tmap.s_to_tick(cs.cue.end_s)), cs.cue.id
    # The last bars: A's 2/4 (beats 8…10), B's 3/8 (beats 6…7.5), E's 9/16 (beats 9…11.37,
    # written 2¼ beats); the file opens with a meter; no meter finer than a sixteenth.
    ms = meters(mid)
    assert ms[0][0] == 0
    assert all(d in (4, 8, 16) for _, _, d in ms)
    assert (tmap.s_to_tick(cues[0].tempo_map.beat_to_s(8.0)), 2, 4) in ms
    assert (tmap.s_to_tick(cues[1].tempo_map.beat_to_s(6.0)), 3, 8) in ms
    assert (tmap.s_to_tick(cues[4].tempo_map.beat_to_s(9.0)), 9, 16) in ms


def test_the_grid_keeps_every_note_and_hit_at_its_second():
    import pretty_midi

    score = grid_score()
    data = midi_bytes(score)
    pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    got = sorted((round(n.start, 6), n.pitch) for inst in pm.instruments for n in inst.notes)
    want = sorted((n.start_s, n.pitch) for cs in score.cues for p in cs.parts for n in p.notes)
    assert len(got) == len(want)
    assert all(abs(a - b) < 1e-3 and p == q for (a, p), (b, q) in zip(got, want))
    _, events = midi_times(data)
    hits = [t for t, m in events if m.type == "marker" and m.text.startswith("HIT")]
    assert len(hits) == 2
    for cs in score.cues:
        for hf in cs.hit_fits:
            assert min(abs(t - hf.hit.t_s) for t in hits) < 1e-3
            beats = pm.get_beats()
            assert min(abs(b - hf.hit.t_s) for b in beats) < 1e-3      # on the file's beat grid
    # Inside a cue's own bars the file's tempo is the cue's.
    times, tempi = pm.get_tempo_changes()
    for cs in score.cues[:1] + score.cues[2:3]:
        for seg in cs.tempo_map.segments:
            k = int(np.argmin(np.abs(times - seg.start_s)))
            assert abs(times[k] - seg.start_s) < 1e-3 and abs(tempi[k] - seg.tempo_bpm) < 1e-3 * seg.tempo_bpm


def test_music21_reads_the_grid():
    import music21

    parsed = music21.converter.parse(io.BytesIO(midi_bytes(grid_score())).getvalue(), format="midi")
    sigs = list(parsed.recurse().getElementsByClass(music21.meter.TimeSignature))
    assert sigs and sum(1 for _ in parsed.recurse().notes) > 0


def test_the_grid_is_deterministic_and_the_file_has_one_meter_track():
    score = grid_score()
    assert midi_bytes(score) == midi_bytes(score)
    mid = build_midi(score)
    assert all(m.type != "time_signature" for track in mid.tracks[1:] for m in track)
    assert [m for _, m in _abs(mid.tracks[0]) if m.type == "time_signature"]
