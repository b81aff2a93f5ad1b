"""The theme: a short motif in scale degrees that recurs across the cues of a score.

A theme is generated from the seed (make_motif) or supplied by the user (theme_from_midi,
theme_from_audio). It is stored in scale degrees and beats, so each cue sets it in its own
key, mode, chords, register and instrument.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from scorer.errors import InputError
from scorer.music import DRUM_CHANNEL
from scorer.types import Motif, MotifNote

__all__ = ["Motif", "MotifNote", "make_motif", "theme_from_notes", "theme_from_midi",
           "theme_from_audio", "load_theme", "develop", "estimate_key", "phrase_bars"]


# --- a generated theme -----------------------------------------------------------------------------------

_CELLS = {
    2: (((2.0,), 2), ((1.0, 1.0), 3), ((1.5, 0.5), 2), ((0.5, 0.5, 1.0), 2), ((1.0, 0.5, 0.5), 1)),
    3: (((2.0, 1.0), 3), ((1.0, 1.0, 1.0), 2), ((1.5, 0.5, 1.0), 2), ((1.0, 2.0), 2), ((3.0,), 1)),
}


def _groups(beats_per_bar: int) -> list[int]:
    """A bar as groups of 2 and 3 beats (4 = 2+2, 3 = 3, 5 = 3+2, 7 = 3+2+2)."""
    if beats_per_bar % 2 == 0:
        return [2] * (beats_per_bar // 2)
    return [3] + [2] * ((beats_per_bar - 3) // 2)


def _cell(rng: np.random.Generator, size: int) -> tuple[float, ...]:
    cells = _CELLS[size]
    w = np.array([c[1] for c in cells], dtype=float)
    return cells[int(rng.choice(len(cells), p=w / w.sum()))][0]


def _walk(rng: np.random.Generator, start: int, n: int, *, lo: int = -3, hi: int = 9) -> list[int]:
    """n scale degrees from `start`: mostly steps, the odd leap, a leap answered by a step
    back (gap fill)."""
    out, prev_leap = [start], 0
    for _ in range(n - 1):
        if prev_leap:
            step = -int(np.sign(prev_leap))
        elif rng.random() < 0.18:
            step = int(rng.choice([-4, -3, 3, 4, 5]))
        else:
            step = int(rng.choice([-2, -1, 1, 2], p=[0.15, 0.35, 0.35, 0.15]))
        d = out[-1] + step
        if not lo <= d <= hi:
            d = out[-1] - step
        prev_leap = step if abs(step) >= 3 else 0
        out.append(d)
    return out


def make_motif(seed: int, beats_per_bar: int, name: str = "") -> Motif:
    """The theme for a score: the same seed and meter give the same theme in every cue
    (each cue sets it in its own key, mode and chords). name: another motif of the same
    score (e.g. "threat"), generated from the seed and its name."""
    from scorer import seeds

    rng = seeds.rng(seed, int(beats_per_bar), 0x7E3E, *([name] if name else []))
    groups = _groups(beats_per_bar)
    rhythm: list[tuple[float, float]] = []     # (onset, length) in beats over two bars
    t = 0.0
    for g in groups:                           # bar 1
        for length in _cell(rng, g):
            rhythm.append((t, length))
            t += length
    for g in groups[:-1]:                      # bar 2, ending on a long note
        for length in _cell(rng, g):
            rhythm.append((t, length))
            t += length
    rhythm.append((t, float(groups[-1])))
    # A rest on the first beat now and then: the theme enters after the bar line.
    if rng.random() < 0.3 and rhythm[0][1] <= 1.0:
        rhythm = rhythm[1:]
    n = len(rhythm)
    start = int(rng.choice([0, 2, 4], p=[0.3, 0.3, 0.4]))
    degrees = _walk(rng, start, n)
    # The statement ends open (third or fifth), the answer closes on the tonic.
    degrees[-1] = min((2, 4, 7, 9), key=lambda d: (abs(d - degrees[-2]), d))
    statement = tuple(MotifNote(o, l, d) for (o, l), d in zip(rhythm, degrees))
    shift = int(rng.choice([0, 1, -1, 2]))
    first_bar = [i for i, (o, _) in enumerate(rhythm) if o < beats_per_bar]
    ans = [d + shift for d in degrees[:len(first_bar)]]
    rest = len(rhythm) - len(ans)
    if rest:
        tail = _walk(rng, ans[-1], rest + 1)[1:]
        tail[-1] = min((0, 7), key=lambda d: abs(d - (tail[-2] if rest > 1 else ans[-1])))
        ans += tail
    answer = tuple(MotifNote(o, l, d) for (o, l), d in zip(rhythm, ans))
    return Motif(beats_per_bar, statement, answer, source="generated" if not name else f"generated:{name}")




# --- a theme the user supplies -------------------------------------------------------------------

MAX_THEME_BARS = 8
_GRID_BEATS = 0.25            # user themes are quantised to sixteenths
# Krumhansl–Kessler key profiles (probe-tone ratings), C major and C minor.
_KK_MAJOR = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_KK_MINOR = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)
_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)


def estimate_key(notes: Sequence[tuple[float, float, int]]) -> tuple[int, str]:
    """(tonic pitch class, "major" | "minor") of a melody.

    A short tune says little about its key, so the keys whose scale holds the most of it
    (by duration) come first; among those, the Krumhansl–Schmuckler key finder on
    duration-weighted pitch classes decides, then the key of the last note."""
    weights = np.zeros(12)
    for _, length, pitch in notes:
        weights[pitch % 12] += length
    best, best_key = None, None
    last_pc = notes[-1][2] % 12 if notes else 0
    for mode, profile, steps in (("major", _KK_MAJOR, _MAJOR_STEPS), ("minor", _KK_MINOR, _MINOR_STEPS)):
        for tonic in range(12):
            inside = round(float(sum(weights[(tonic + s) % 12] for s in steps)), 9)
            r = float(np.corrcoef(weights, np.roll(profile, tonic))[0, 1]) if weights.any() else 0.0
            key = (inside, round(r, 9), tonic == last_pc, mode == "major", -tonic)
            if best_key is None or key > best_key:
                best, best_key = (tonic, mode), key
    return best


def _degree(pitch: int, tonic_pc: int, steps: tuple[int, ...], ref: int) -> int:
    """Scale degree of `pitch` counted from the tonic at MIDI `ref` (7 per octave); a note
    outside the scale takes the nearer scale neighbour (the lower one on a tie)."""
    rel = pitch - ref
    octave, within = divmod(rel, 12)
    best = min(range(8), key=lambda k: (abs((steps + (12,))[k] - within), k))
    return 7 * octave + best


def theme_from_notes(notes: Sequence[tuple[float, float, int]], *, beats_per_bar: int,
                     key: tuple[int, str] | None = None, source: str = "user") -> Motif:
    """A theme from a melody given as (onset_beats, length_beats, MIDI pitch).

    Chords become their top note (the tune), overlaps are trimmed, times are quantised to
    sixteenths and the melody keeps its position in the bar (a pickup stays a pickup). At
    most MAX_THEME_BARS bars are kept: the first half is the statement, the rest the
    answer (a theme of one or two bars answers itself). Pitches become scale degrees of
    `key` (tonic pitch class, "major"/"minor"), estimated from the notes when not given;
    a chromatic note takes its nearer scale neighbour, since a theme is re-set in each
    cue's own mode.
    """
    if beats_per_bar < 1:
        raise InputError(f"theme {source}: beats_per_bar = {beats_per_bar} must be at least 1")
    q = lambda b: round(b / _GRID_BEATS) * _GRID_BEATS  # noqa: E731
    by_onset: dict[float, tuple[float, int]] = {}
    for onset, length, pitch in sorted(notes):
        if length <= 0 or not 0 <= pitch <= 127:
            continue
        o = q(onset)
        if o not in by_onset or pitch > by_onset[o][1]:      # the top line of a chord
            by_onset[o] = (max(_GRID_BEATS, q(onset + length) - o), pitch)
    line = sorted(by_onset.items())
    if len(line) < 2:
        raise InputError(f"theme {source}: needs a melody of at least two notes, found {len(line)}")
    first_bar = math.floor(line[0][0] / beats_per_bar) * beats_per_bar
    trimmed: list[tuple[float, float, int]] = []
    for i, (o, (length, pitch)) in enumerate(line):
        nxt = line[i + 1][0] if i + 1 < len(line) else math.inf
        o -= first_bar
        if o >= MAX_THEME_BARS * beats_per_bar:
            break
        trimmed.append((o, min(length, nxt - first_bar - o), pitch))
    tonic_pc, mode = key if key is not None else estimate_key(trimmed)
    steps = _MAJOR_STEPS if mode == "major" else _MINOR_STEPS
    # Degree 0 is the tonic at or just below the first note, like the generated themes.
    ref = trimmed[0][2] - (trimmed[0][2] - tonic_pc) % 12
    degrees = [_degree(p, tonic_pc, steps, ref) for _, _, p in trimmed]
    end_beats = max(o + length for o, length, _ in trimmed)
    n_bars = max(1, math.ceil(end_beats / beats_per_bar - 1e-9))
    split_bar = math.ceil(n_bars / 2) if n_bars > 2 else n_bars
    split = split_bar * beats_per_bar
    statement = tuple(MotifNote(o, min(length, split - o), d)
                      for (o, length, _), d in zip(trimmed, degrees) if o < split)
    answer = tuple(MotifNote(o - split, length, d)
                   for (o, length, _), d in zip(trimmed, degrees) if o >= split)
    return Motif(beats_per_bar, statement, answer or statement, source=source)


def theme_from_midi(path: str | os.PathLike) -> Motif:
    """The theme in a MIDI file: the busiest non-drum track's top line, in the file's own
    meter and key (its first time and key signatures; the key is estimated when absent)."""
    import mido

    name = str(path)
    try:
        mid = mido.MidiFile(name)
    except FileNotFoundError:
        raise InputError("no such MIDI file", path=name) from None
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as e:
        raise InputError(f"not a readable MIDI file ({e})", path=name) from None
    except Exception as e:  # noqa: BLE001 - mido's own errors (e.g. KeySignatureError) subclass Exception
        if type(e).__module__.startswith("mido"):
            raise InputError(f"not a readable MIDI file ({type(e).__name__}: {e})", path=name) from None
        raise
    if mid.type == 2:
        raise InputError("MIDI type 2 (independent sequences) is not supported; export type 0 or 1",
                         path=name)
    ppq = mid.ticks_per_beat
    if not ppq or ppq <= 0:
        raise InputError(f"MIDI division {ppq} is not a positive ticks-per-beat", path=name)
    beats_per_bar, key = 4, None
    tracks: dict[int, list[tuple[float, float, int]]] = {}
    for i, track in enumerate(mid.tracks):
        tick, sounding = 0, {}
        for msg in track:
            tick += msg.time
            if msg.type == "time_signature" and tick == 0:
                beats_per_bar = max(1, round(msg.numerator * 4 / msg.denominator))
            elif msg.type == "key_signature" and key is None:
                key = _key_from_signature(msg.key)
            elif msg.type in ("note_on", "note_off") and msg.channel != DRUM_CHANNEL:
                k = (msg.channel, msg.note)
                if msg.type == "note_on" and msg.velocity > 0:
                    sounding.setdefault(k, tick)
                elif k in sounding:
                    t0 = sounding.pop(k)
                    tracks.setdefault(i, []).append((t0 / ppq, (tick - t0) / ppq, msg.note))
    if not tracks:
        raise InputError("holds no pitched notes to take a theme from", path=name)
    busiest = max(tracks, key=lambda i: (len(tracks[i]), -i))
    return theme_from_notes(tracks[busiest], beats_per_bar=beats_per_bar, key=key,
                            source=Path(name).name)


def _key_from_signature(text: str) -> tuple[int, str] | None:
    from scorer.compose.harmony import NOTE_PCS

    minor = text.endswith("m")
    tonic = text[:-1] if minor else text
    return (NOTE_PCS[tonic], "minor" if minor else "major") if tonic in NOTE_PCS else None


def theme_from_audio(path: str | os.PathLike, *, beats_per_bar: int = 4) -> Motif:
    """The theme in a recording of a hummed, sung or played melody, transcribed by
    basic-pitch (an optional extra); times become beats at the tempo heard in it."""
    from scorer.compose.transcribe import transcribe_melody

    melody = transcribe_melody(path)
    beat_s = 60.0 / melody.tempo_bpm
    t0 = melody.notes[0][0]
    notes = [((s - t0) / beat_s, (e - s) / beat_s, p) for s, e, p in melody.notes]
    return theme_from_notes(notes, beats_per_bar=beats_per_bar, source=Path(str(path)).name)


AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aif", ".aiff")
MIDI_SUFFIXES = (".mid", ".midi", ".smf")


def check_theme_file(path: str | os.PathLike) -> None:
    """A theme file's kind, known from its name without reading it (settings.check)."""
    suffix = Path(str(path)).suffix.lower()
    if suffix not in MIDI_SUFFIXES + AUDIO_SUFFIXES:
        raise InputError(f"a theme is a MIDI file ({', '.join(MIDI_SUFFIXES)}) or a recording "
                         f"({', '.join(AUDIO_SUFFIXES)}); {suffix or 'no suffix'} is neither", path=str(path))


def load_theme(path: str | os.PathLike) -> Motif:
    """A user's theme from a MIDI file or a recording, chosen by the file name's suffix."""
    check_theme_file(path)
    if Path(str(path)).suffix.lower() in MIDI_SUFFIXES:
        return theme_from_midi(path)
    if not Path(str(path)).is_file():
        raise InputError("no such audio file", path=str(path))
    return theme_from_audio(path)


# --- development: the theme set for one cue -------------------------------------------------------

def _rebar(phrase: tuple[MotifNote, ...], old_bpb: int, new_bpb: int) -> tuple[MotifNote, ...]:
    """A phrase moved into another meter bar by bar: each bar's rhythm is scaled to fill
    the new bar (to the nearest half beat), so downbeats stay downbeats."""
    if old_bpb == new_bpb:
        return phrase
    f = new_bpb / old_bpb
    out: list[MotifNote] = []
    for n in phrase:
        bar, within = divmod(n.onset_beats, old_bpb)
        onset = bar * new_bpb + round(within * f * 2) / 2
        if out and onset <= out[-1].onset_beats:
            continue     # two onsets squeezed onto one: the first keeps it
        out.append(MotifNote(onset, max(0.5, round(n.length_beats * f * 2) / 2), n.degree))
    return tuple(MotifNote(a.onset_beats, min(a.length_beats, b.onset_beats - a.onset_beats), a.degree)
                 for a, b in zip(out, out[1:])) + tuple(out[-1:])


def develop(theme: Motif, *, beats_per_bar: int, arousal: float) -> Motif:
    """The theme as one cue states it: in the cue's meter, and in augmentation (every
    length doubled) when the cue is calm (arousal ≤ −0.35), so the same tune reads as a
    lament or a lullaby. Mode, register and instrument are the cue's: the arrangement
    sets the degrees in the cue's key and chords, on the preset's melody instrument."""
    statement = _rebar(theme.statement, theme.beats_per_bar, beats_per_bar)
    answer = _rebar(theme.answer, theme.beats_per_bar, beats_per_bar)
    if arousal <= -0.35:
        aug = lambda ph: tuple(MotifNote(2 * n.onset_beats, 2 * n.length_beats, n.degree) for n in ph)  # noqa: E731
        statement, answer = aug(statement), aug(answer)
    return Motif(beats_per_bar, statement, answer, source=theme.source)


def phrase_bars(phrase: tuple[MotifNote, ...], beats_per_bar: int) -> int:
    """Whole bars a phrase spans."""
    end = max((n.onset_beats + n.length_beats for n in phrase), default=0.0)
    return max(1, math.ceil(end / beats_per_bar - 1e-9))


# --- treatments: the theme developed inside a cue ---------------------------------------------------

def sequenced(phrase: tuple[MotifNote, ...], steps: int) -> tuple[MotifNote, ...]:
    """The phrase a number of scale steps higher (or lower): a sequence."""
    return tuple(MotifNote(n.onset_beats, n.length_beats, n.degree + steps) for n in phrase)


def inverted(phrase: tuple[MotifNote, ...]) -> tuple[MotifNote, ...]:
    """The phrase upside down around its first note: every rise becomes a fall."""
    if not phrase:
        return phrase
    d0 = phrase[0].degree
    return tuple(MotifNote(n.onset_beats, n.length_beats, 2 * d0 - n.degree) for n in phrase)


def augmented(phrase: tuple[MotifNote, ...], factor: float = 2.0) -> tuple[MotifNote, ...]:
    """Every onset and length times `factor` (2: augmentation, 0.5: diminution)."""
    return tuple(MotifNote(n.onset_beats * factor, n.length_beats * factor, n.degree) for n in phrase)


def head(phrase: tuple[MotifNote, ...], beats_per_bar: int) -> tuple[MotifNote, ...]:
    """The phrase's first bar (at least two notes): the cell a composer fragments."""
    cell = tuple(n for n in phrase if n.onset_beats < beats_per_bar - 1e-9)
    if len(cell) < 2:
        cell = phrase[:2]
    end = cell[-1].onset_beats + cell[-1].length_beats
    if end > beats_per_bar:
        last = cell[-1]
        cell = cell[:-1] + (MotifNote(last.onset_beats, max(0.5, beats_per_bar - last.onset_beats), last.degree),)
    return cell


def fragmented(phrase: tuple[MotifNote, ...], beats_per_bar: int, *, steps: int, times: int = 2) -> tuple[MotifNote, ...]:
    """The phrase's head stated `times` times, each a sequence `steps` scale steps on from
    the last, one bar apart: fragmentation, the usual engine of a build."""
    cell = head(phrase, beats_per_bar)
    out: list[MotifNote] = []
    for k in range(times):
        out += [MotifNote(n.onset_beats + k * beats_per_bar, n.length_beats, n.degree + k * steps) for n in cell]
    return tuple(out)


TREATMENTS = ("statement", "answer", "sequence_up", "sequence_down", "inversion", "fragments_up",
              "fragments_down", "augmentation", "diminution")
# What a development section draws from (the statement, answer and augmentation have
# their own places in the form).
DEVELOPMENT_TREATMENTS = tuple(t for t in TREATMENTS if t not in ("statement", "answer", "augmentation"))


def treated(theme: Motif, treatment: str) -> tuple[MotifNote, ...]:
    """A phrase of the theme in one of TREATMENTS."""
    bpb = theme.beats_per_bar
    s, a = theme.statement, theme.answer
    if treatment == "statement":
        return s
    if treatment == "answer":
        return a
    if treatment == "sequence_up":
        return sequenced(s, 1)
    if treatment == "sequence_down":
        return sequenced(a, -1)
    if treatment == "inversion":
        return inverted(s)
    if treatment == "fragments_up":
        return fragmented(s, bpb, steps=1, times=3 if phrase_bars(s, bpb) <= 2 else 2)
    if treatment == "fragments_down":
        return fragmented(a, bpb, steps=-1, times=2)
    if treatment == "augmentation":
        return augmented(s, 2.0)
    if treatment == "diminution":
        dim = augmented(s, 0.5)
        end = max(n.onset_beats + n.length_beats for n in dim)
        span = max(bpb, math.ceil(end / bpb - 1e-9) * bpb)
        return dim + tuple(MotifNote(n.onset_beats + span, n.length_beats, n.degree + 1) for n in dim)
    raise ValueError(f"no treatment {treatment!r}; treatments: {', '.join(TREATMENTS)}")
