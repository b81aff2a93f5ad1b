"""Harmony: keys, roman-numeral chords, a chord plan per cue, and voice-led voicings.

Roman numerals are read against the preset's MODE: the numeral picks the scale degree
of the mode (in C minor "VI" is A♭, "VII" is B♭), an optional "b"/"#" prefix alters that
root, and the case picks the third (upper = major, lower = minor), so "V" in minor is the
major dominant. Suffixes: "o"/"°" diminished, "ø" half-diminished (a seventh chord), "+"
augmented; then one of "7", "maj7", "6", "sus2", "sus4", "add9".
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scorer.types import TempoMap

if TYPE_CHECKING:  # presets imports this module; the type is only needed for hints
    from scorer.compose.presets import Preset

MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
}
# Semitones from the parent major scale's tonic up to the mode's tonic: decides the key
# signature, and so whether chord names are spelled with flats or sharps.
_MODE_OFFSET = {"major": 0, "ionian": 0, "dorian": 2, "phrygian": 4, "lydian": 5,
                "mixolydian": 7, "minor": 9, "aeolian": 9, "locrian": 11, "harmonic_minor": 9}

NOTE_PCS: dict[str, int] = {
    "C": 0, "B#": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4, "E#": 5,
    "F": 5, "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11,
    "Cb": 11,
}
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_FLAT_MAJOR_KEYS = {5, 10, 3, 8, 1, 6}  # F, B♭, E♭, A♭, D♭, G♭

_NUMERAL = re.compile(
    r"^(?P<acc>[b#])?(?P<num>VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
    r"(?P<qual>o|°|ø|\+)?(?P<ext>maj7|7|6|sus2|sus4|add9)?$")
_DEGREES = ("i", "ii", "iii", "iv", "v", "vi", "vii")


# --- theory primitives -------------------------------------------------------------------------

@dataclass(frozen=True)
class ChordSpec:
    """A chord in a key: root pitch class, its pitch classes (root first), and its name."""
    numeral: str
    root_pc: int
    pcs: tuple[int, ...]      # root, third (or suspension), fifth, then added tones
    symbol: str               # "Dm", "Bb", "A7", "F#m7b5"


def parse_numeral(text: str) -> tuple[int, int, bool, str, str]:
    """(degree 0…6, accidental −1/0/1, is_minor_case, quality, extension) of a numeral.

    Raises ValueError with the reason when `text` is not a numeral this module reads.
    """
    m = _NUMERAL.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a roman numeral chord like 'i', 'bVI', 'V7', "
                         "'iiø7', 'viio', 'IVmaj7', 'Isus4'")
    num, qual, ext = m["num"], (m["qual"] or "").replace("°", "o"), m["ext"] or ""
    minor_case = num.islower()
    if qual in ("o", "ø") and not minor_case:
        raise ValueError(f"{text!r}: diminished chords are written in lower case ('viio')")
    if qual == "+" and minor_case:
        raise ValueError(f"{text!r}: augmented chords are written in upper case ('III+')")
    if qual == "ø" and ext not in ("", "7"):
        raise ValueError(f"{text!r}: half-diminished is a seventh chord ('iiø7')")
    if qual in ("o", "+", "ø") and ext in ("sus2", "sus4"):
        raise ValueError(f"{text!r}: a suspended chord has no diminished/augmented third")
    acc = {"b": -1, "#": 1, None: 0}[m["acc"]]
    return _DEGREES.index(num.lower()), acc, minor_case, qual, ext


def chord_intervals(minor_case: bool, qual: str, ext: str) -> tuple[tuple[int, ...], str]:
    """Intervals above the root (root first) and the symbol suffix."""
    if qual == "o":
        triad, name = (0, 3, 6), "dim"
    elif qual == "ø":
        return (0, 3, 6, 10), "m7b5"
    elif qual == "+":
        triad, name = (0, 4, 8), "aug"
    elif minor_case:
        triad, name = (0, 3, 7), "m"
    else:
        triad, name = (0, 4, 7), ""
    if ext == "sus2":
        return (0, 2, 7), "sus2"
    if ext == "sus4":
        return (0, 5, 7), "sus4"
    if ext == "7":
        if qual == "o":
            return (0, 3, 6, 9), "dim7"
        return triad + (10,), name + "7"
    if ext == "maj7":
        return triad + (11,), ("m(maj7)" if name == "m" else name + "maj7")
    if ext == "6":
        return triad + (9,), name + "6"
    if ext == "add9":
        return triad + (2,), name + "add9"
    return triad, name


def uses_flats(tonic: str, mode: str) -> bool:
    """Whether the key is spelled with flats (from its key signature)."""
    if "b" in tonic[1:]:
        return True
    if "#" in tonic:
        return False
    parent = (NOTE_PCS[tonic] - _MODE_OFFSET[mode]) % 12
    return parent in _FLAT_MAJOR_KEYS


def pc_name(pc: int, *, flats: bool) -> str:
    return (_FLAT_NAMES if flats else _SHARP_NAMES)[pc % 12]


def key_name(tonic: str, mode: str) -> str:
    """"D minor", "Eb lydian", "C harmonic minor"."""
    return f"{tonic} {mode.replace('_', ' ')}"


def chord_in_key(numeral: str, *, tonic: str, mode: str) -> ChordSpec:
    """The chord a roman numeral names in a key."""
    degree, acc, minor_case, qual, ext = parse_numeral(numeral)
    tonic_pc = NOTE_PCS[tonic]
    root = (tonic_pc + MODES[mode][degree] + acc) % 12
    intervals, suffix = chord_intervals(minor_case, qual, ext)
    pcs = tuple((root + i) % 12 for i in intervals)
    return ChordSpec(numeral, root, pcs, spell_degree(tonic, degree, root) + suffix)


_LETTERS = "CDEFGAB"


def spell_degree(tonic: str, degree: int, pc: int) -> str:
    """The name of pitch class `pc` as scale degree `degree` (0…6) above `tonic`: the
    letter follows the degree, so ♭VII of C is B♭ (not A♯) and ♯IV of C is F♯. Falls
    back to the key's usual spelling where that would need a double accidental."""
    letter = _LETTERS[(_LETTERS.index(tonic[0]) + degree) % 7]
    alter = (pc - NOTE_PCS[letter] + 6) % 12 - 6
    if abs(alter) > 1:
        return pc_name(pc, flats=alter < 0)
    return letter + {-1: "b", 0: "", 1: "#"}[alter]


def _suffix_table() -> dict[str, tuple[int, ...]]:
    table: dict[str, tuple[int, ...]] = {}
    for minor_case in (False, True):
        for qual in ("", "o", "ø", "+"):
            for ext in ("", "7", "maj7", "6", "sus2", "sus4", "add9"):
                intervals, suffix = chord_intervals(minor_case, qual, ext)
                table.setdefault(suffix, intervals)
    return table


_SUFFIX_INTERVALS = _suffix_table()
_SYMBOL = re.compile(r"^(?P<root>[A-G][b#]?)(?P<suffix>.*)$")


def symbol_pcs(symbol: str) -> tuple[int, ...]:
    """The pitch classes (root first) of a chord symbol this module writes ("Bbmaj7")."""
    m = _SYMBOL.match(symbol)
    if not m or m["root"] not in NOTE_PCS or m["suffix"] not in _SUFFIX_INTERVALS:
        raise ValueError(f"{symbol!r} is not a chord symbol scorer writes")
    root = NOTE_PCS[m["root"]]
    return tuple((root + i) % 12 for i in _SUFFIX_INTERVALS[m["suffix"]])


def scale_pcs(tonic: str, mode: str) -> tuple[int, ...]:
    return tuple((NOTE_PCS[tonic] + s) % 12 for s in MODES[mode])


def chord_scale(scale: tuple[int, ...], chord_pcs: tuple[int, ...]) -> tuple[int, ...]:
    """The mode's 7 pitch classes adjusted to a chord: a scale tone a semitone from a chord
    tone outside the scale gives way to it (B♭ becomes B over G major in C minor), so
    melodies do not rub against chromatic chord tones."""
    out = list(scale)
    for c in chord_pcs:
        if c in scale:
            continue
        for i, s in enumerate(out):
            if (s - c) % 12 in (1, 11):
                out[i] = c
                break
    return tuple(out)


# --- the chord plan ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Chord:
    """One chord of a cue: [start_beat, end_beat) in the cue's tempo map."""
    start_beat: float
    end_beat: float
    start_s: float
    end_s: float
    spec: ChordSpec
    at_hit: bool = False      # starts on an honoured hit: attack it
    is_button: bool = False   # the final chord at the cue end

    @property
    def symbol(self) -> str:
        return self.spec.symbol


@dataclass(frozen=True)
class Harmony:
    """Key and chords of one cue; the last chord is the button at the cue end."""
    tonic: str
    mode: str
    key: str
    scale: tuple[int, ...]
    chords: tuple[Chord, ...]


def choose_tonic(preset: "Preset", rng: np.random.Generator, *, after: tuple[str, str] | None = None) -> str:
    """One of the preset's candidate tonics, drawn with the cue's generator.

    after: the (tonic, mode) of the cue this one grows out of: then only the candidates
    whose key signature is nearest on the circle of fifths are drawn from, so connected
    cues move to a closely related key (or stay in it).
    """
    cands = list(preset.tonics)
    if after is not None:
        dist = {t: fifths_apart(after, (t, preset.mode)) for t in cands}
        cands = [t for t in cands if dist[t] == min(dist.values())]
    return str(cands[int(rng.integers(len(cands)))])


def _signature_fifths(tonic: str, mode: str) -> int:
    """The key signature as fifths from C (−6…5: flats negative)."""
    parent = (NOTE_PCS[tonic] - _MODE_OFFSET[mode]) % 12
    f = (parent * 7) % 12
    return f - 12 if f > 5 else f


def fifths_apart(a: tuple[str, str], b: tuple[str, str]) -> int:
    """How many steps round the circle of fifths two keys' signatures lie apart (0…6)."""
    d = abs(_signature_fifths(*a) - _signature_fifths(*b)) % 12
    return min(d, 12 - d)


def tonic_numeral(mode: str) -> str:
    """The tonic triad's numeral in a mode: "i" where the mode's third is minor."""
    return "i" if MODES[mode][2] == 3 else "I"


def parse_key(key: str) -> tuple[str, str]:
    """"D minor" → ("D", "minor"); "C harmonic minor" → ("C", "harmonic_minor")."""
    tonic, _, mode = key.partition(" ")
    mode = mode.replace(" ", "_")
    if tonic not in NOTE_PCS or mode not in MODES:
        raise ValueError(f"not a key: {key!r}")
    return tonic, mode


def _body_boundaries(*, end_body: float, bpb: int, chord_bars_at, hit_beats: list[float],
                     start_beat: float = 0.0) -> list[tuple[float, bool]]:
    """Chord starts before the cadence: the cue start (a pickup's chord when the cue starts
    before its first downbeat), bar lines at the band's harmonic rhythm, plus hits.

    A bar-line change right after a hit (within the following bar) or just before one
    (less than a beat) is dropped: the hit's chord should be heard, not replaced at once.
    """
    bars, bar = [], 0
    while bar * bpb < end_body - 1e-9:
        bars.append(float(bar * bpb))
        bar += chord_bars_at(bar)
    hits = [h for h in hit_beats if start_beat - 1e-9 <= h < end_body - 1e-9]
    keep = [b for b in bars
            if not any(0 < b - h < bpb or 0 < h - b < 1 for h in hits) and b not in hits]
    if start_beat not in keep and start_beat not in hits:
        keep.insert(0, start_beat)
    out = [(b, False) for b in keep] + [(h, True) for h in hits]
    return sorted(out)


def plan_chords(*, preset: "Preset", tonic: str, tempo_map: TempoMap, end_beat: float,
                hit_beats: tuple[float, ...], chord_bars_at, rng: np.random.Generator,
                into: tuple[str, str] | None = None, open_on_tonic: bool = False) -> Harmony:
    """Chords for one cue: the preset's progressions on bar lines (and on honoured hits),
    a cadence over the last bars and the final chord as the button at end_beat.

    chord_bars_at(bar) -> bars per chord at that bar (from the intensity band).
    into: the (tonic, mode) of the cue that follows without a gap, when it is in another
    key: the cadence then modulates — its dominant is the new key's V7 and the button is
    the new key's tonic chord, which is where the next cue begins.
    open_on_tonic: start on the tonic chord (a cue entered from a modulating cadence).
    """
    mode, bpb = preset.mode, preset.beats_per_bar
    new_key = ">"   # a numeral with this prefix is read in the key modulated to
    modulating = into is not None and (NOTE_PCS[into[0]], into[1]) != (NOTE_PCS[tonic], mode)

    def spec(n: str) -> ChordSpec:
        if n.startswith(new_key):
            return chord_in_key(n[1:], tonic=into[0], mode=into[1])
        return chord_in_key(n, tonic=tonic, mode=mode)

    cadence = list(preset.cadence)
    if modulating:
        cadence = cadence[:-2] + [new_key + "V7", new_key + tonic_numeral(into[1])]
    # Cadence: its chords before the last take the final bar lines before the end, one
    # bar each, as many as fit after the first bar; the last chord is the button.
    last_bar_line = (np.ceil(end_beat / bpb - 1e-9) - 1) * bpb
    pre = cadence[:-1]
    cad_starts: list[float] = []
    for k in range(len(pre)):
        b = last_bar_line - k * bpb
        if b < bpb - 1e-9:  # keep the first bar for the cue's own opening chord
            break
        cad_starts.insert(0, float(b))
    pre = pre[len(pre) - len(cad_starts):]
    end_body = cad_starts[0] if cad_starts else end_beat

    starts = _body_boundaries(end_body=end_body, bpb=bpb, chord_bars_at=chord_bars_at,
                              hit_beats=list(hit_beats), start_beat=tempo_map.segments[0].start_beat)
    # Progressions: one drawn, played twice, then another; a hit always moves harmony on.
    progs = preset.progressions
    order: list[str] = []
    cur = int(rng.integers(len(progs)))
    numerals: list[str] = []
    for _, at_hit in starts:
        if not order:
            order = list(progs[cur]) * 2
            nxt = int(rng.integers(len(progs)))
            cur = nxt if len(progs) == 1 or nxt != cur else (nxt + 1) % len(progs)
        n = order.pop(0)
        if open_on_tonic and not numerals:
            n = tonic_numeral(mode)
        # On a hit the harmony must move: skip ahead past repeats of the sounding chord.
        tries = 0
        while at_hit and numerals and spec(n).pcs == spec(numerals[-1]).pcs and tries < 16:
            if not order:
                order = list(progs[cur])
            n, tries = order.pop(0), tries + 1
        numerals.append(n)
    items = [(b, n, h) for (b, h), n in zip(starts, numerals)]
    for b, n in zip(cad_starts, pre):
        items.append((b, n, False))
    # Hits inside the cadence re-attack the cadence chord sounding there.
    for h in hit_beats:
        if cad_starts and cad_starts[0] <= h < end_beat - 1e-9 and h not in cad_starts:
            sounding = [n for b, n, _ in items if b <= h][-1]
            items.append((h, sounding, True))
        elif h in cad_starts:
            items = [(b, n, True if b == h else f) for b, n, f in items]
    items.sort(key=lambda x: x[0])
    # The same chord again on a plain bar line is a held chord, not a change.
    merged = []
    for it in items:
        if merged and not it[2] and spec(it[1]).pcs == spec(merged[-1][1]).pcs:
            continue
        merged.append(it)
    items = merged
    chords = []
    for i, (b, n, h) in enumerate(items):
        e = items[i + 1][0] if i + 1 < len(items) else end_beat
        chords.append(Chord(b, e, tempo_map.beat_to_s(b), tempo_map.beat_to_s(e), spec(n), at_hit=h))
    end_s = tempo_map.beat_to_s(end_beat)
    chords.append(Chord(end_beat, end_beat + bpb, end_s, tempo_map.beat_to_s(end_beat + bpb),
                        spec(cadence[-1]), is_button=True))
    return Harmony(tonic, mode, key_name(tonic, mode), scale_pcs(tonic, mode), tuple(chords))


# --- voicing -----------------------------------------------------------------------------------

def voice_chord(pcs: tuple[int, ...], *, low: int, high: int, n_voices: int,
                prev: tuple[int, ...] | None, centre: float, max_top: int | None = None) -> tuple[int, ...]:
    """A voicing of `pcs` in [low, high] with n_voices notes, ascending.

    Minimal motion from `prev` (voice leading), near `centre` (register), every chord tone
    but the fifth present, no doubled third, no muddy close intervals low down, adjacent
    voices within an octave. max_top: keep the top voice at or below it where any voicing
    can (e.g. below the speech band under dialogue).
    """
    root, third = pcs[0], pcs[1]
    fifth = pcs[2] if len(pcs) > 2 else None
    required = {root, third} | set(pcs[3:])
    cands = [p for p in range(low, high + 1) if p % 12 in pcs]
    n = min(n_voices, len(cands))
    best, best_key = None, None
    for combo in itertools.combinations(cands, n):
        got = [p % 12 for p in combo]
        if not required <= set(got) and len(required) <= n:
            continue
        if any(b - a > 12 for a, b in zip(combo[1:], combo[2:])) or combo[-1] - combo[0] > 24:
            continue
        cost = 0.0
        if got.count(third) > 1:
            cost += 3.0
        if fifth is not None and fifth not in got:
            cost += 1.0
        if combo[0] < 52 and len(combo) > 1 and combo[1] - combo[0] < 5:
            cost += 4.0   # thirds and seconds below E3 turn to mud
        if max_top is not None and combo[-1] > max_top:
            cost += 50.0 + (combo[-1] - max_top)
        cost += 0.3 * abs(sum(combo) / n - centre)
        if prev:
            if len(prev) == n:
                cost += sum(abs(a - b) for a, b in zip(combo, prev))
            else:
                cost += sum(min(abs(a - b) for b in prev) for a in combo)
        key = (cost, combo)
        if best_key is None or key < best_key:
            best, best_key = combo, key
    if best is None:
        raise ValueError(f"no voicing of pitch classes {pcs} in MIDI {low}..{high}")
    return tuple(best)
