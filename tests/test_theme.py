"""Themes: a generated or user-supplied theme recurs, recognisably, in every cue, developed
for the cue's meter and mood; every note sits in the cue's key or the chord sounding."""
from __future__ import annotations

import numpy as np
import pytest

from test_compose import cue, hit, sheet

from scorer.compose import compose
from scorer.compose.harmony import parse_key, scale_pcs, symbol_pcs
from scorer.music.presets import load_presets
from scorer.compose.theme import (develop, estimate_key, load_theme, make_motif, theme_from_midi,
                                  theme_from_notes)
from scorer.errors import InputError
from scorer.types import Motif, MotifNote

# Ode to Joy in D major: four bars of 4/4, the last "F#. E E".
ODE_PITCHES = (66, 66, 67, 69, 69, 67, 66, 64, 62, 62, 64, 66, 66, 64, 64)
ODE_LENGTHS = (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.5, 0.5, 2)
ODE_DEGREES = (2, 2, 3, 4, 4, 3, 2, 1, 0, 0, 1, 2, 2, 1, 1)


@pytest.fixture(scope="module")
def presets():
    return load_presets()


def write_midi(path, *, pitches=ODE_PITCHES, lengths=ODE_LENGTHS, key="D", numerator=4, ppq=480,
               offset_beats=0.0, harmony_below=True, drums=True):
    """A type-1 file: conductor (meter, key), the tune with a lower harmony note under
    every other note, and a busier drum track that must not be taken for the tune."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=ppq)
    conductor = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=numerator, denominator=4)])
    if key:
        conductor.append(mido.MetaMessage("key_signature", key=key))
    mid.tracks.append(conductor)
    events, t = [], offset_beats
    for i, (p, length) in enumerate(zip(pitches, lengths)):
        on, off = round(t * ppq), round((t + length) * ppq)
        events += [(on, 1, mido.Message("note_on", note=p, velocity=90)),
                   (off, 0, mido.Message("note_off", note=p))]
        if harmony_below and i % 2 == 0:
            events += [(on, 1, mido.Message("note_on", channel=1, note=p - 9, velocity=60)),
                       (off, 0, mido.Message("note_off", channel=1, note=p - 9))]
        t += length
    mid.tracks.append(_track(events))
    if drums:
        mid.tracks.append(_track([(round(k * ppq / 4), j, mido.Message("note_on" if j else "note_off",
                                                                        channel=9, note=42, velocity=80 * j))
                                  for k in range(64) for j in (1, 0)]))
    mid.save(str(path))
    return path


def _track(events):
    import mido

    track, last = mido.MidiTrack(), 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - last))
        last = tick
    return track


def test_a_midi_theme_is_read_as_scale_degrees_in_its_key_and_meter(tmp_path):
    motif = theme_from_midi(write_midi(tmp_path / "ode.mid"))
    assert motif.beats_per_bar == 4 and motif.source == "ode.mid"
    notes = motif.statement + motif.answer
    assert tuple(n.degree for n in notes) == ODE_DEGREES
    assert tuple(n.length_beats for n in notes) == ODE_LENGTHS
    # Statement: bars 1–2; answer: bars 3–4, each counted from its own first bar line.
    assert [n.onset_beats for n in motif.statement] == [float(k) for k in range(8)]
    assert [n.onset_beats for n in motif.answer] == [0, 1, 2, 3, 4, 5.5, 6]


def test_a_pickup_stays_a_pickup_and_the_key_is_found_without_a_signature(tmp_path):
    motif = theme_from_midi(write_midi(tmp_path / "pickup.mid", key=None, offset_beats=2.0, numerator=3))
    assert motif.beats_per_bar == 3
    assert motif.statement[0].onset_beats == 2.0            # the first note is beat 3 of bar 1
    assert motif.statement[1].onset_beats == 3.0
    assert tuple(n.degree for n in motif.statement + motif.answer)[:4] == ODE_DEGREES[:4]
    assert estimate_key([(0, length, p) for p, length in zip(ODE_PITCHES, ODE_LENGTHS)]) == (2, "major")


def test_theme_from_notes_quantises_and_trims_overlaps():
    motif = theme_from_notes([(0.02, 1.5, 60), (1.0, 1.0, 64), (0.98, 0.5, 62), (2.1, 0.9, 67)],
                             beats_per_bar=4, key=(0, "major"))
    assert [(n.onset_beats, n.length_beats, n.degree) for n in motif.statement] == \
        [(0.0, 1.0, 0), (1.0, 1.0, 2), (2.0, 1.0, 4)]    # the top note of the pair at beat 1
    with pytest.raises(InputError, match="at least two notes"):
        theme_from_notes([(0, 1, 60)], beats_per_bar=4)


# Malformed MIDI themes: tests/reliability/test_bad_files.py (a corpus of hex fixtures).


def test_load_theme_refuses_other_files_and_missing_ones(tmp_path):
    with pytest.raises(InputError, match="neither"):
        load_theme(tmp_path / "theme.txt")
    with pytest.raises(InputError, match="no such"):
        load_theme(tmp_path / "missing.mid")
    with pytest.raises(InputError, match="no such"):
        load_theme(tmp_path / "missing.wav")


def test_development_rebars_for_the_meter_and_augments_when_calm():
    theme = Motif(4, (MotifNote(0, 1, 0), MotifNote(1, 1, 2), MotifNote(2, 2, 4), MotifNote(4, 4, 7)),
                  (MotifNote(0, 2, 4), MotifNote(2, 2, 2), MotifNote(4, 4, 0)))
    same = develop(theme, beats_per_bar=4, arousal=0.3)
    assert same.statement == theme.statement and same.answer == theme.answer
    waltz = develop(theme, beats_per_bar=3, arousal=0.3)
    assert [n.degree for n in waltz.statement] == [0, 2, 4, 7]
    assert waltz.statement[-1].onset_beats == 3.0              # the second bar's downbeat stays one
    assert all(a.onset_beats + a.length_beats <= b.onset_beats
               for a, b in zip(waltz.statement, waltz.statement[1:]))
    calm = develop(theme, beats_per_bar=4, arousal=-0.6)
    assert [n.onset_beats for n in calm.statement] == [0, 2, 4, 8]
    assert [n.length_beats for n in calm.statement] == [2, 2, 4, 8]


# --- the theme in the score ------------------------------------------------------------------------

def _contour(seq):
    return [int(np.sign(b - a)) for a, b in zip(seq, seq[1:])]


def _best_statement(cue_score, phrase, bpb):
    """The best match of a phrase in the cue's melody: (contour similarity, rhythm similarity)
    over every window of the melody as long as the phrase."""
    melody = next(p for p in cue_score.parts if p.name == "melody").notes
    want_c = _contour([n.degree for n in phrase])
    want_r = np.diff([n.onset_beats for n in phrase])
    beats = [cue_score.tempo_map.s_to_beat(n.start_s) for n in melody]
    best = (0.0, 0.0)
    k = len(phrase)
    for i in range(len(melody) - k + 1):
        c = _contour([n.pitch for n in melody[i:i + k]])
        contour_sim = sum(a == b for a, b in zip(c, want_c)) / len(want_c)
        # Humanised timing moves attacks a few ms (under 0.05 beat at any preset tempo).
        rhythm_sim = float(np.mean(np.abs(np.diff(beats[i:i + k]) - want_r) < 0.05))
        best = max(best, (contour_sim, rhythm_sim), key=sum)
    return best


def _film(presets, names, *, connected_every=2, arousal=None):
    cues, t = [], 0.0
    for i, name in enumerate(names):
        t += 0.0 if i % connected_every else 3.0
        c = cue(t, t + 30.0, [hit(t + 7.3, 0.9), hit(t + 19.1, 0.5)], preset=name, cid=f"{i + 1}M1")
        if arousal is not None:
            from dataclasses import replace
            c = replace(c, arousal=arousal[i])
        cues.append(c)
        t += 30.0
    return sheet(cues, duration_s=t + 5.0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_theme_recurs_recognisably_in_every_cue(presets, seed):
    names = sorted(presets)
    arousal = [(-0.6 if n in ("melancholy", "ambient_drone") else 0.4) for n in names]
    score = compose(_film(presets, names, arousal=arousal), seed=seed, presets=presets)
    assert score.theme == make_motif(seed, 4)      # most of this film is in 4/4
    for cs in score.cues:
        bpb = cs.tempo_map.beats_per_bar       # the meter the tempo fit chose
        phrase = develop(score.theme, beats_per_bar=bpb, arousal=cs.cue.arousal).statement
        contour_sim, rhythm_sim = _best_statement(cs, phrase, bpb)
        assert contour_sim >= 0.7 and rhythm_sim >= 0.99, (cs.cue.preset, contour_sim, rhythm_sim)


def test_a_user_theme_is_the_scores_theme(presets, tmp_path):
    theme = theme_from_midi(write_midi(tmp_path / "ode.mid"))
    score = compose(_film(presets, ["romance", "tension", "noir"]), seed=4, presets=presets, theme=theme)
    assert score.theme == theme
    for cs in score.cues:
        phrase = develop(theme, beats_per_bar=cs.tempo_map.beats_per_bar,
                         arousal=cs.cue.arousal).statement
        contour_sim, rhythm_sim = _best_statement(cs, phrase, 4)
        assert contour_sim >= 0.7 and rhythm_sim >= 0.99, (cs.cue.preset, contour_sim)


@pytest.mark.parametrize("seed", [1, 5])
def test_every_note_is_in_the_key_or_the_chord_sounding(presets, seed):
    score = compose(_film(presets, sorted(presets)), seed=seed, presets=presets)
    for cs in score.cues:
        tonic, mode = parse_key(cs.key)
        scale = set(scale_pcs(tonic, mode))
        for part in cs.parts:
            if part.is_drums:
                continue
            for k, n in enumerate(part.notes):
                # Allowed outside the key: a tone of the chord sounding, or of the chord a
                # note leads into (a timpani roll anticipates the hit's root), or a
                # chromatic approach: a semitone from the part's next note, which it leads to.
                at = [sym for t, sym in cs.chords if t <= n.start_s + 1e-6][-1]
                beat_s = 60.0 / cs.tempo_map.tempo_at_s(n.end_s)
                into = [sym for t, sym in cs.chords if t < n.end_s + beat_s][-1]
                nxt = [m for m in part.notes[k + 1:] if m.start_s >= n.end_s - 0.02][:1]
                approach = bool(nxt) and abs(nxt[0].pitch - n.pitch) == 1 and nxt[0].start_s - n.end_s < 0.05
                assert approach or n.pitch % 12 in scale | set(symbol_pcs(at)) | set(symbol_pcs(into)), \
                    (cs.cue.id, cs.key, part.name, n, at, into)
