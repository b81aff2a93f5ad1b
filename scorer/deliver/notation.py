"""Notation a composer opens in a score editor: the theme and a lead sheet, as MusicXML.

theme.musicxml: the theme (statement, then answer) in the key of the first cue.
leadsheet.musicxml: every cue in turn, each from a new bar with a rehearsal mark (its id
and preset), its key and time signature, a metronome mark at its start and at every
tempo change, the tune (the melody part) on the cue's beat grid with rests where it is
silent, and the chord symbols at their beats.

Written with music21; the encoding date music21 stamps in is removed, so the same score
gives the same bytes.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

from scorer.types import CueScore, Motif, Score

GRID = Fraction(1, 4)    # beats: the tune is written to sixteenths


def _pitch_of_degree(degree: int, *, tonic: str, mode: str, octave_base: int = 60) -> int:
    from scorer.music import MODES, NOTE_PCS

    steps = MODES[mode]
    octave, idx = divmod(degree, 7)
    tonic_midi = octave_base + NOTE_PCS[tonic]
    if tonic_midi > 66:          # keep the theme around middle C
        tonic_midi -= 12
    return tonic_midi + 12 * octave + steps[idx]


def _m21_symbol(symbol: str) -> str:
    """scorer's chord symbol in music21's spelling ("Bb" → "B-", "m(maj7)" → "mM7")."""
    m = re.match(r"^([A-G])([b#]?)(.*)$", symbol)
    root, acc, suffix = m.group(1), m.group(2), m.group(3)
    return root + {"b": "-", "#": "#", "": ""}[acc] + {"m(maj7)": "mM7"}.get(suffix, suffix)


def _key_signature(m21, key: str):
    from scorer.deliver.midi import key_signature

    name = key_signature(key)
    minor = name.endswith("m")
    tonic = (name[:-1] if minor else name).replace("b", "-")
    # The signature a MIDI file carries too: modes written in their parent major key.
    return m21.key.Key(tonic, "minor" if minor else "major")


def _note(m21, midi: int, key) -> "object":
    """A note of this MIDI pitch spelled as the key writes it: the key's own name for a
    pitch it holds (B♭ in F major) and for its leading tone (C♯ in D minor), otherwise a
    black key as a flat in a flat key and a
    sharp in the others; no accidental of its own, so that a sign shows only where the key
    signature or the bar asks for one (music21's makeNotation decides)."""
    note = m21.note.Note(midi)
    by_class = {q.pitchClass: q for q in key.pitches}
    leading = key.getLeadingTone()          # a minor key's raised seventh: C♯ in D minor, not D♭
    by_class.setdefault(leading.pitchClass, leading)
    if midi % 12 in by_class:
        pitch = m21.pitch.Pitch(by_class[midi % 12].name)
        pitch.octave = 4
        pitch.octave += (midi - pitch.midi) // 12
    else:
        pitch = note.pitch
        name = pitch.accidental.name if pitch.accidental is not None else "natural"
        if key.sharps < 0 and name == "sharp":
            pitch = pitch.getHigherEnharmonic()          # C♯ → D♭
        elif key.sharps >= 0 and name == "flat":
            pitch = pitch.getLowerEnharmonic()           # D♭ → C♯
    if pitch.accidental is not None and pitch.accidental.name == "natural":
        pitch.accidental = None
    note.pitch = pitch
    return note


def _clef(m21, pitches: list[int]):
    """The clef the tune reads best in: treble from about G3 up (a tune around middle C
    and above), the octave-down treble for a tenor range, bass below."""
    if not pitches:
        return m21.clef.TrebleClef()
    mid = sorted(pitches)[len(pitches) // 2]
    if mid >= 57:
        return m21.clef.TrebleClef()
    return m21.clef.Treble8vbClef() if mid >= 48 else m21.clef.BassClef()


def _instrument(m21, name: str):
    """A part's instrument, so score editors (MuseScore) know what plays it."""
    inst = m21.instrument.Piano()
    inst.partName = name
    inst.instrumentName = name
    return inst


def _exporter_bytes(m21, stream) -> bytes:
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    data = GeneralObjectExporter(stream).parse()
    text = data.decode("utf-8")
    text = re.sub(r"\s*<encoding-date>[^<]*</encoding-date>", "", text)
    # music21 names parts with random ids: number them in order instead.
    ids: dict[str, str] = {}
    text = re.sub(r'id="(P[0-9a-f]{32})"', lambda m: f'id="{ids.setdefault(m.group(1), f"P{len(ids) + 1}")}"', text)
    # … and its instruments too (an instrument's id is its part's, then I1, I2 …).
    inst: dict[str, str] = {}
    text = re.sub(r'id="(I[0-9a-f]{32})"', lambda m: f'id="{inst.setdefault(m.group(1), f"I{len(inst) + 1}")}"', text)
    return text.encode("utf-8")


def theme_musicxml(motif: Motif, *, tonic: str = "C", mode: str = "major",
                   title: str = "Theme", tempo_bpm: float | None = None) -> bytes:
    """The theme as MusicXML in a key: statement, then answer from the next bar line;
    tempo_bpm: its metronome mark (the first cue's tempo, where it is first heard)."""
    import music21 as m21

    bpb = motif.beats_per_bar
    part = m21.stream.Part(id="theme")
    part.partName = "Theme"
    part.insert(0, _instrument(m21, "Theme"))
    part.append(m21.meter.TimeSignature(f"{bpb}/4"))
    key = _key_signature(m21, f"{tonic} {mode.replace('_', ' ')}")
    part.insert(0, key)
    if tempo_bpm is not None:
        part.insert(0, m21.tempo.MetronomeMark(number=round(tempo_bpm)))
    pitches = [_pitch_of_degree(n.degree, tonic=tonic, mode=mode) for n in (*motif.statement, *motif.answer)]
    part.insert(0, _clef(m21, pitches))
    start = Fraction(0)
    for phrase in (motif.statement, motif.answer):
        end = Fraction(0)
        for n in phrase:
            note = _note(m21, _pitch_of_degree(n.degree, tonic=tonic, mode=mode), key)
            note.quarterLength = Fraction(n.length_beats).limit_denominator(16)
            onset = start + Fraction(n.onset_beats).limit_denominator(16)
            part.insert(float(onset), note)
            end = max(end, Fraction(n.onset_beats + n.length_beats).limit_denominator(16))
        start += math.ceil(end / bpb) * bpb
    part.makeRests(fillGaps=True, inPlace=True)
    score = m21.stream.Score(id="theme")
    score.insert(0, m21.metadata.Metadata(title=title, composer="scorer (temp)"))
    score.insert(0, part)
    return _exporter_bytes(m21, score.makeNotation())


def _cue_bars(cs: CueScore) -> int:
    """Whole bars from the first downbeat (beat 0) to the cue end."""
    end_beat = cs.tempo_map.s_to_beat(cs.cue.end_s)
    return max(1, math.ceil(end_beat / cs.tempo_map.beats_per_bar - 1e-6))


def pickup_beats(cs: CueScore) -> int:
    """Beats before the first downbeat (a pickup bar), 0 when the cue starts on one."""
    return max(0, round(-cs.tempo_map.segments[0].start_beat))


def _on_grid(beats: float) -> Fraction:
    return Fraction(round(beats / float(GRID))) * GRID


def melody_beats(cs: CueScore) -> list[tuple[Fraction, Fraction, int]]:
    """The cue's tune as (onset, length) in beats on the sixteenth grid, with its pitches:
    no overlaps, nothing shorter than a sixteenth, nothing past the cue's last bar."""
    melody = next((p for p in cs.parts if p.name == "melody"), None)
    if melody is None:
        return []
    limit = Fraction(_cue_bars(cs) * cs.tempo_map.beats_per_bar)
    notes = sorted(melody.notes, key=lambda n: (n.start_s, -n.pitch))
    out: list[tuple[Fraction, Fraction, int]] = []
    for i, n in enumerate(notes):
        on = _on_grid(cs.tempo_map.s_to_beat(n.start_s))
        off = _on_grid(cs.tempo_map.s_to_beat(n.end_s))
        if i + 1 < len(notes):
            off = min(off, _on_grid(cs.tempo_map.s_to_beat(notes[i + 1].start_s)))
        off = min(off, limit)
        if out and on < out[-1][0] + out[-1][1]:
            continue                      # a second note on the same sixteenth: the top one stays
        if off - on >= GRID and on >= -pickup_beats(cs):
            out.append((on, off - on, n.pitch))
    return out


def leadsheet_musicxml(score: Score, *, title: str = "Temp score — lead sheet") -> bytes:
    """Every cue's tune and chords, one after another, each from a new bar."""
    import music21 as m21

    part = m21.stream.Part(id="leadsheet")
    part.partName = "Tune"
    part.insert(0, _instrument(m21, "Tune"))
    part.insert(0, _clef(m21, [pitch for cs in score.cues for _, _, pitch in melody_beats(cs)]))
    offset = Fraction(0)
    for cs in score.cues:
        bpb = cs.tempo_map.beats_per_bar
        pickup = pickup_beats(cs)
        if pickup:        # a pickup bar of its own length, then the cue's meter
            part.insert(float(offset), m21.meter.TimeSignature(f"{pickup}/4"))
        part.insert(float(offset + pickup), m21.meter.TimeSignature(f"{bpb}/4"))
        key = _key_signature(m21, cs.key)
        part.insert(float(offset), key)
        mark = m21.expressions.RehearsalMark(f"{cs.cue.id} {cs.cue.preset}")
        part.insert(float(offset), mark)
        at = lambda beat: float(offset + pickup + beat)  # noqa: E731 - beat 0: the first downbeat
        for seg in cs.tempo_map.segments:
            beat = _on_grid(cs.tempo_map.s_to_beat(seg.start_s))
            part.insert(at(beat), m21.tempo.MetronomeMark(number=round(seg.tempo_bpm, 1)))
        for t_s, symbol in cs.chords:
            beat = _on_grid(cs.tempo_map.s_to_beat(t_s))
            if beat >= _cue_bars(cs) * bpb:
                continue                  # the button sounds at the cue end, past its last bar
            part.insert(at(beat), m21.harmony.ChordSymbol(_m21_symbol(symbol)))
        for on, length, pitch in melody_beats(cs):
            note = _note(m21, pitch, key)
            note.quarterLength = length      # a beat is a quarter note (meters are n/4)
            part.insert(at(on), note)
        offset += pickup + _cue_bars(cs) * bpb
    part.makeRests(fillGaps=True, inPlace=True)
    if offset > part.highestTime:       # a silent final stretch still fills its bars
        rest = m21.note.Rest()
        rest.quarterLength = float(offset - Fraction(part.highestTime).limit_denominator(64))
        part.insert(part.highestTime, rest)
    doc = m21.stream.Score(id="leadsheet")
    doc.insert(0, m21.metadata.Metadata(title=title, composer="scorer (temp)"))
    doc.insert(0, part)
    return _exporter_bytes(m21, doc.makeNotation())
