"""Rendering and MIDI export on a hand-built score with known note and hit times."""
import io
from fractions import Fraction

import mido
import numpy as np
import pytest

from scorer.deliver.hits import measured_onset_s
from scorer.deliver.midi import PPQ, midi_bytes
from scorer.render import get_backend
from scorer.errors import BackendUnavailable
from scorer.timebase import frame_to_s, s_to_sample
from scorer.types import (Cue, CueScore, Hit, HitFit, Note, Part, Score, Source, TempoMap,
                          TempoSegment)

FPS = Fraction(24000, 1001)


def hand_score() -> Score:
    # Two cues with a gap; the first has a tempo change so the hit at frame 100 is on beat 8.
    h1 = Hit(frame_to_s(100, FPS), 100, 0.9, "cut", True)
    start1 = frame_to_s(24, FPS)
    seg2_tempo = 90.0
    beat8_s = h1.t_s
    tempo1 = 8 * 60 / (beat8_s - start1)
    tm1 = TempoMap((TempoSegment(start1, 0, tempo1), TempoSegment(beat8_s, 8, seg2_tempo)))
    end1 = tm1.beat_to_s(16)
    cue1 = Cue("1M1", start1, end1, "tension", -0.2, 0.3, ((start1, 0.3), (end1, 0.6)), (h1,))
    notes = tuple(Note(tm1.beat_to_s(b), tm1.beat_to_s(b + 0.5), 48 + b % 12, 100) for b in range(16))
    hits_part = (Note(h1.t_s, h1.t_s + 0.4, 49, 120),)
    cs1 = CueScore(cue1, tm1, "D minor", ((start1, "Dm"),),
                   (Part("pulse", "keys", 0, False, notes), Part("hits", "percussion", 0, True, hits_part)),
                   (HitFit(h1, 8.0, 0.0, True),), tail_s=1.0)
    start2 = frame_to_s(400, FPS)
    tm2 = TempoMap.constant(start2, 100.0, 3)
    cue2 = Cue("1M2", start2, tm2.beat_to_s(9), "wonder", 0.5, -0.2, ((start2, 0.5),), ())
    cs2 = CueScore(cue2, tm2, "F major", ((start2, "F"),),
                   (Part("pad", "strings", 48, False, (Note(start2, cue2.end_s, 65, 80),)),), (), 1.0)
    src = Source("x.mp4", FPS, frame_to_s(600, FPS), 600, 320, 180, False)
    return Score(src, (cs1, cs2), seed=3)


def midi_times(data: bytes):
    """(seconds, message) for every message, computed with mido's own tempo arithmetic."""
    mid = mido.MidiFile(file=io.BytesIO(data))
    tempo_events = []
    tick = 0
    for msg in mid.tracks[0]:
        tick += msg.time
        if msg.type == "set_tempo":
            tempo_events.append((tick, msg.tempo))

    def tick_to_s(t):
        s, last_tick, tempo = 0.0, 0, 500000
        for et, etempo in tempo_events:
            if et > t:
                break
            s += mido.tick2second(et - last_tick, PPQ, tempo)
            last_tick, tempo = et, etempo
        return s + mido.tick2second(t - last_tick, PPQ, tempo)

    out = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            out.append((tick_to_s(tick), msg))
    return mid, out


def test_midi_markers_and_notes_land_within_1ms():
    score = hand_score()
    data = midi_bytes(score)
    mid, events = midi_times(data)
    assert mid.type == 1 and len(mid.tracks) == 1 + 3  # conductor + keys, percussion, strings
    markers = {m.text.split()[0] + " " + m.text.split()[1]: t for t, m in events if m.type == "marker"}
    h1 = score.cues[0].cue.hits[0]
    assert markers["HIT 1M1"] == pytest.approx(h1.t_s, abs=1e-3)
    assert markers["1M1 tension"] == pytest.approx(score.cues[0].cue.start_s, abs=1e-3)
    assert markers["1M2 wonder"] == pytest.approx(score.cues[1].cue.start_s, abs=1e-3)
    note_ons = sorted(t for t, m in events if m.type == "note_on")
    expected = sorted(n.start_s for cs in score.cues for p in cs.parts for n in p.notes)
    assert np.max(np.abs(np.array(note_ons) - np.array(expected))) < 1e-3
    # Meters on bar lines only: a 2/4 filler bar before 1M1, its 4/4, filler (4/4 and a
    # 2/4 remainder) to 1M2's 3/4, filler after; each cue's meter at its first downbeat.
    from test_midi_readback import meters_off_bar_lines

    sigs = [(t, m.numerator, m.denominator) for t, m in events if m.type == "time_signature"]
    assert [(n, d) for _, n, d in sigs] == [(2, 4), (4, 4), (2, 4), (3, 4), (4, 4), (2, 4)]
    for cs in score.cues:
        assert any(abs(t - cs.tempo_map.beat_to_s(0)) < 1e-3 and n == cs.tempo_map.beats_per_bar
                   for t, n, _ in sigs)
    assert meters_off_bar_lines(mid) == []


def test_midi_bytes_are_deterministic():
    assert midi_bytes(hand_score()) == midi_bytes(hand_score())


def test_rendered_attacks_land_on_note_times():
    score = hand_score()
    stems = get_backend("soundfont").render(score)
    assert set(stems.groups) == {"keys", "percussion", "strings"}
    clip = stems.groups["percussion"][0]
    h1 = score.cues[0].cue.hits[0]
    onset = measured_onset_s(clip.samples, h1.t_s, start_sample=clip.start_sample)
    assert onset is not None and 0 <= onset - h1.t_s < 0.010
    # Every note of the keys part starts within 10 ms of its time (librosa, independent).
    import librosa
    keys = stems.groups["keys"][0]
    pad = 4800  # onset detection needs some signal before the first attack
    y = np.concatenate([np.zeros(pad, np.float32), keys.samples.mean(axis=0)])
    found = librosa.onset.onset_detect(y=y, sr=48000, hop_length=64, backtrack=True, units="time")
    found = found + (keys.start_sample - pad) / 48000
    for note in score.cues[0].parts[0].notes:
        assert np.min(np.abs(found - note.start_s)) < 0.010, note


def test_clips_are_placed_at_cue_start_samples():
    score = hand_score()
    stems = get_backend("soundfont").render(score)
    for clip in stems.groups["strings"]:
        assert clip.start_sample == s_to_sample(score.cues[1].cue.start_s)
        assert clip.samples.dtype == np.float32 and clip.samples.shape[0] == 2


def test_unknown_backend_lists_available():
    with pytest.raises(BackendUnavailable, match="soundfont"):
        get_backend("theremin")


# --- streaming to disk, workers, presets, the user's SoundFont -------------------------------

def _clips(stems):
    return {(g, c.label): c for g, clips in stems.groups.items() for c in clips}


def test_clips_are_parked_in_the_store_and_gone_with_it(tmp_path):
    from scorer.io.clipstore import ClipStore, RawAudio

    store = ClipStore(tmp_path)
    stems = get_backend("soundfont").render(hand_score(), store=store, workers=1)
    clip = stems.groups["strings"][0]
    assert isinstance(clip.audio, RawAudio) and clip.audio.path.startswith(str(store.path))
    assert clip.window(clip.start_sample, 1000).shape == (2, 1000)
    store.close()
    assert not list(tmp_path.iterdir())
    with pytest.raises(OSError):
        clip.window(clip.start_sample, 1000)


def test_cues_render_the_same_alone_in_any_order_and_on_any_number_of_workers(tmp_path):
    """The synth is cleaned between clips: a cue's audio does not depend on what was
    rendered before it, so worker processes give the same samples as one process."""
    from dataclasses import replace

    score = hand_score()
    one = _clips(get_backend("soundfont").render(score, workers=1))
    two = _clips(get_backend("soundfont").render(score, workers=2))
    alone = _clips(get_backend("soundfont").render(replace(score, cues=score.cues[1:]), workers=1))
    backwards = _clips(get_backend("soundfont").render(replace(score, cues=score.cues[::-1]), workers=1))
    assert one.keys() == two.keys() == backwards.keys()
    for key in one:
        assert np.array_equal(one[key].samples, two[key].samples), key
        assert np.array_equal(one[key].samples, backwards[key].samples), key
    for key in alone:
        assert np.array_equal(one[key].samples, alone[key].samples), key
    # Renders in one process share its synth (loaded once); a freshly loaded one sounds the same.
    from scorer.render import soundfont

    held = soundfont._synths.held
    assert held is not None and soundfont._cached_synth(soundfont.find_soundfont(None)) is held[1]
    soundfont._synths.held = None
    fresh = _clips(get_backend("soundfont").render(replace(score, cues=score.cues[::-1]), workers=1))
    assert soundfont._synths.held[1] is not held[1]
    for key in one:
        assert np.array_equal(fresh[key].samples, backwards[key].samples), key


def test_each_cue_goes_through_its_own_presets_effects():
    from dataclasses import replace

    from scorer.music.presets import load_presets

    presets = load_presets()
    score = hand_score()             # 1M2 (strings) uses "wonder"

    def tail_energy(fx_changes, group="strings"):
        wonder = presets["wonder"]
        fx = dict(wonder.fx)
        fx["strings"] = replace(wonder.stem_fx("strings"), **fx_changes)
        changed = {**presets, "wonder": replace(wonder, fx=tuple(sorted(fx.items())))}
        stems = get_backend("soundfont").render(score, presets=changed, workers=1)
        clip = next(c for c in stems.groups[group] if c.label == score.cues[1].cue.id)
        end = s_to_sample(score.cues[1].cue.end_s) - clip.start_sample
        y = clip.samples
        return float(np.mean(y[:, end + 4800:] ** 2)), y

    # The strings' send sets how much of the hall rings on after their notes end.
    dry, _ = tail_energy({"send_db": -60.0})
    wet, _ = tail_energy({"send_db": -4.0})
    assert wet > 3 * dry

    def top(y):
        spec = np.abs(np.fft.rfft(y[0])) ** 2
        f = np.fft.rfftfreq(y.shape[1], 1 / 48000)
        return spec[f > 8000].sum() / spec[(f > 200) & (f < 4000)].sum()

    _, flat = tail_energy({"high_shelf_db": 0.0})
    _, cut = tail_energy({"high_shelf_db": -12.0})
    assert top(cut) < 0.3 * top(flat)


def test_a_users_own_soundfont_is_used(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    from pathlib import Path

    from scorer.errors import InputError

    theirs = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    if not theirs.is_file():
        pytest.skip("pretty_midi ships no TimGM6mb.sf2 here")
    score = hand_score()
    stems = get_backend("soundfont").render(score, soundfont=theirs, workers=1)
    assert stems.info["soundfont"] == str(theirs)
    ours = get_backend("soundfont").render(score, workers=1)
    a, b = stems.groups["strings"][0].samples, ours.groups["strings"][0].samples
    assert np.abs(a).max() > 1e-3 and not np.array_equal(a, b)       # it sounds, and differently
    with pytest.raises(InputError, match="not found"):
        get_backend("soundfont").render(score, soundfont=tmp_path / "missing.sf2")
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\0\0\0\0sfbk not really")
    with pytest.raises(InputError):
        get_backend("soundfont").render(score, soundfont=bad, workers=1)


def test_bad_render_options_are_refused():
    from scorer.errors import InputError

    with pytest.raises(InputError, match="workers"):
        get_backend("soundfont").render(hand_score(), workers=0)
    with pytest.raises(InputError, match="unknown options"):
        get_backend("soundfont").render(hand_score(), reverb=True)


@pytest.mark.parametrize("fps, start_tc, want", [
    (Fraction(24000, 1001), "01:00:00:00", (24, 1, 0, 0, 0)),
    (Fraction(25), "10:00:00:00", (25, 10, 0, 0, 0)),
    (Fraction(30000, 1001), "00:59:58;00", (29.97, 0, 59, 58, 0)),
    (Fraction(60000, 1001), "01:00:00;10", (29.97, 1, 0, 0, 5)),
])
def test_score_mid_says_where_picture_starts_and_marks_every_hit_in_its_timecode(fps, start_tc, want):
    """An SMPTE offset event at tick 0 carries the picture's start timecode; markers print
    the picture's own timecode, as the cue sheet does; unscored hits are marked too."""
    from dataclasses import replace

    from scorer.timebase import s_to_smpte, smpte_to_frame

    score = hand_score()
    start = smpte_to_frame(start_tc, fps)
    score = replace(score, source=replace(score.source, fps=fps, start_timecode=start_tc))
    mid = mido.MidiFile(file=io.BytesIO(midi_bytes(score)))
    conductor = list(mid.tracks[0])
    (offset,) = [m for m in conductor if m.type == "smpte_offset"]
    assert sum(m.time for m in conductor[:conductor.index(offset) + 1]) == 0
    assert (offset.frame_rate, offset.hours, offset.minutes, offset.seconds, offset.frames) == want
    texts = [m.text for m in conductor if m.type == "marker"]
    for cs in score.cues:
        assert f"{cs.cue.id} {cs.cue.preset} {s_to_smpte(cs.cue.start_s, fps, start_frame=start)}" in texts
        for h in cs.cue.hits:
            label = "HIT" if h.scored else "hit (not scored)"
            assert f"{label} {cs.cue.id} {h.kind} {s_to_smpte(h.t_s, fps, start_frame=start)}" in texts
