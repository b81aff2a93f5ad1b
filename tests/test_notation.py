"""MusicXML of the theme and the lead sheet, re-read with music21: the notes, rests, chord
symbols, meters, keys and tempo marks are the score's, and the bytes are repeatable."""
from __future__ import annotations

from fractions import Fraction

import pytest

from test_compose import cue, hit, sheet, snap

from scorer.compose import compose
from scorer.compose.harmony import scale_pcs, symbol_pcs
from scorer.music.presets import load_presets
from scorer.deliver.notation import _cue_bars, leadsheet_musicxml, melody_beats, pickup_beats, theme_musicxml
from scorer.types import Motif, MotifNote, Span


@pytest.fixture(scope="module")
def score():
    presets = load_presets()
    c1 = cue(2.0, 30.0, [hit(9.4, 0.9), hit(21.0, 0.5)], preset="tension", cid="1M1")
    c2 = cue(30.0, 52.0, [hit(40.2, 0.8)], preset="melancholy", cid="1M2")     # 3/4
    c3 = cue(60.0, 85.0, [hit(66.1, 1.0), hit(80.0, 0.6)], preset="noir", cid="1M3")
    c4 = cue(86.0, 90.0, preset="ambient_drone", cid="1M4", intensity=((86.0, 0.1), (90.0, 0.1)))
    cs = sheet([c1, c2, c3, c4], (Span(snap(12.0), snap(15.5)),), duration_s=95.0)
    return compose(cs, seed=3, presets=presets)


def _parse(data: bytes, tmp_path, name):
    import music21
    path = tmp_path / name
    path.write_bytes(data)
    return music21.converter.parse(str(path))


def test_the_theme_is_written_in_its_key_and_meter(tmp_path):
    import music21
    motif = Motif(3, (MotifNote(0, 1, 0), MotifNote(1, 0.5, 1), MotifNote(1.5, 1.5, 2), MotifNote(3, 3, 4)),
                  (MotifNote(0, 2, 5), MotifNote(2, 1, 4), MotifNote(3, 3, 0)))
    data = theme_musicxml(motif, tonic="D", mode="minor")
    assert data == theme_musicxml(motif, tonic="D", mode="minor")
    parsed = _parse(data, tmp_path, "theme.musicxml")
    notes = list(parsed.recurse().notes)
    scale = scale_pcs("D", "minor")
    want = [scale[n.degree % 7] for n in motif.statement + motif.answer]
    assert [n.pitch.pitchClass for n in notes] == want
    assert [float(n.quarterLength) for n in notes] == [n.length_beats for n in motif.statement + motif.answer]
    # The answer starts on the bar after the statement's last bar.
    assert float(notes[len(motif.statement)].getOffsetInHierarchy(parsed)) == 6.0
    ts = list(parsed.recurse().getElementsByClass(music21.meter.TimeSignature))
    assert ts[0].numerator == 3 and ts[0].denominator == 4
    ks = list(parsed.recurse().getElementsByClass(music21.key.KeySignature))
    assert ks[0].sharps == -1                                 # D minor: one flat


def test_the_lead_sheet_holds_every_cue_tune_and_chords(score, tmp_path):
    import music21
    data = leadsheet_musicxml(score)
    assert data == leadsheet_musicxml(score)
    parsed = _parse(data, tmp_path, "leadsheet.musicxml")
    flat = parsed.flatten()
    notes = [(Fraction(n.offset).limit_denominator(64), n.pitch.midi) for n in flat.notes
             if not isinstance(n, music21.harmony.ChordSymbol)]
    symbols = [(Fraction(c.offset).limit_denominator(64), c) for c in flat.getElementsByClass(music21.harmony.ChordSymbol)]
    marks = [(Fraction(m.offset).limit_denominator(64), m.content) for m in flat.getElementsByClass(music21.expressions.RehearsalMark)]
    tempos = [(Fraction(t.offset).limit_denominator(64), t.number) for t in flat.getElementsByClass(music21.tempo.MetronomeMark)]
    offset = Fraction(0)
    want_notes = []
    for cs in score.cues:
        bpb = cs.tempo_map.beats_per_bar
        down = offset + pickup_beats(cs)            # the cue's first downbeat
        assert (offset, f"{cs.cue.id} {cs.cue.preset}") in marks
        assert any(o == offset and abs(n - round(cs.tempo_map.segments[0].tempo_bpm, 1)) < 1e-6 for o, n in tempos)
        want_notes += [(down + on, pitch) for on, _, pitch in melody_beats(cs)]
        for t_s, symbol in cs.chords[:-1]:
            beat = Fraction(round(cs.tempo_map.s_to_beat(t_s) * 4), 4)
            got = [c for o, c in symbols if o == down + beat]
            assert got, (cs.cue.id, symbol, beat)
            assert {p.pitchClass for p in got[0].pitches} == set(symbol_pcs(symbol)), (symbol, got[0].figure)
        offset += pickup_beats(cs) + _cue_bars(cs) * bpb
    assert notes == want_notes
    assert any(cs.parts and melody_beats(cs) for cs in score.cues)
    # Every cue's meter is written where it starts (4/4, then 3/4, …).
    ts = [(Fraction(t.offset).limit_denominator(64), t.numerator) for t in flat.getElementsByClass(music21.meter.TimeSignature)]
    assert (Fraction(0), 4) in ts and any(n == 3 for _, n in ts)


def test_the_tune_on_the_grid_never_overlaps(score):
    for cs in score.cues:
        tune = melody_beats(cs)
        for (a, la, _), (b, _, _) in zip(tune, tune[1:]):
            assert la >= Fraction(1, 4) and a + la <= b


def test_the_notation_reads_as_a_composer_writes_it(score, tmp_path):
    """A tune around middle C and above in the treble clef; signs only where the key does
    not already say it (a diatonic theme has none, a minor key's leading tone is a sharp);
    each part names its instrument (MuseScore asks for one); the theme carries a tempo."""
    import re

    import music21

    motif = Motif(4, (MotifNote(0, 1, 0), MotifNote(1, 1, 2), MotifNote(2, 1, 4), MotifNote(3, 1, 6)),
                  (MotifNote(0, 2, 5), MotifNote(2, 2, 3)))
    theme = theme_musicxml(motif, tonic="F", mode="major", tempo_bpm=92.4).decode()
    assert "<accidental>" not in theme                              # every note is in F major
    assert "<score-instrument" in theme and "<sign>G</sign>" in theme
    assert re.search(r"<per-minute>92</per-minute>", theme)
    lead = leadsheet_musicxml(score).decode()
    assert "<score-instrument" in lead
    pitches = [p for cs in score.cues for _, _, p in melody_beats(cs)]
    if sorted(pitches)[len(pitches) // 2] >= 57:
        assert re.findall(r"<sign>(\w)</sign>", lead)[0] == "G"
    parsed = _parse(lead.encode(), tmp_path, "lead.musicxml")
    assert [n.pitch.midi for n in parsed.recurse().notes if hasattr(n, "pitch")] == pitches
    # No redundant natural: a natural is shown only on a step the key signature alters, one
    # a note before it in the bar altered, or (a courtesy) one the key before a change did.
    key_steps, before = set(), set()
    for measure in parsed.recurse().getElementsByClass(music21.stream.Measure):
        if measure.keySignature is not None:
            before, key_steps = key_steps, {p.step for p in measure.keySignature.alteredPitches}
        altered = set()
        for n in measure.notes:
            if not hasattr(n, "pitch"):
                continue
            acc = n.pitch.accidental
            if acc is not None and acc.displayStatus and acc.name == "natural":
                assert n.pitch.step in key_steps | altered | before, (measure.number, n.pitch)
            if acc is not None and acc.name != "natural":
                altered.add(n.pitch.step)
    from scorer.deliver.notation import _key_signature, _note
    d_minor = _key_signature(music21, "D minor")
    assert _note(music21, 61, d_minor).pitch.name == "C#" and _note(music21, 70, d_minor).pitch.name == "B-"
