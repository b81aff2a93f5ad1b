"""The music vocabulary: modes, note names and spelling, keys, roman-numeral chords, chord
symbols, key signatures, and the General MIDI names scorer uses (drum keys, stem groups).

Pure theory and tables, no planning: every stage (analyze, spot, compose, render, mix,
deliver, the UI) may import it; it imports nothing else from scorer.

Roman numerals are read against a MODE: the numeral picks the scale degree of the mode
(in C minor "VI" is A♭, "VII" is B♭), an optional "b"/"#" prefix alters that root, and the
case picks the third (upper = major, lower = minor), so "V" in minor is the major
dominant. Suffixes: "o"/"°" diminished, "ø" half-diminished (a seventh chord), "+"
augmented; then one of "7", "maj7", "6", "sus2", "sus4", "add9".
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# --- scales, note names and keys ---------------------------------------------------------------

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
MODE_OFFSET: dict[str, int] = {
    "major": 0, "ionian": 0, "dorian": 2, "phrygian": 4, "lydian": 5, "mixolydian": 7,
    "minor": 9, "aeolian": 9, "locrian": 11, "harmonic_minor": 9,
}

NOTE_PCS: dict[str, int] = {
    "C": 0, "B#": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4, "E#": 5,
    "F": 5, "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11,
    "Cb": 11,
}
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_FLAT_MAJOR_KEYS = {5, 10, 3, 8, 1, 6}  # F, B♭, E♭, A♭, D♭, G♭


def uses_flats(tonic: str, mode: str) -> bool:
    """Whether the key is spelled with flats (from its key signature)."""
    if "b" in tonic[1:]:
        return True
    if "#" in tonic:
        return False
    parent = (NOTE_PCS[tonic] - MODE_OFFSET[mode]) % 12
    return parent in _FLAT_MAJOR_KEYS


def pc_name(pc: int, *, flats: bool) -> str:
    """The name of pitch class `pc` (0…11, wrapped) with sharps or flats: 10 → "A#" / "Bb"."""
    return (_FLAT_NAMES if flats else _SHARP_NAMES)[pc % 12]


def key_name(tonic: str, mode: str) -> str:
    """"D minor", "Eb lydian", "C harmonic minor"."""
    return f"{tonic} {mode.replace('_', ' ')}"


def parse_key(key: str) -> tuple[str, str]:
    """"D minor" → ("D", "minor"); "C harmonic minor" → ("C", "harmonic_minor")."""
    tonic, _, mode = key.partition(" ")
    mode = mode.replace(" ", "_")
    if tonic not in NOTE_PCS or mode not in MODES:
        raise ValueError(f"not a key: {key!r}")
    return tonic, mode


# --- roman-numeral chords and chord symbols ----------------------------------------------------

_NUMERAL = re.compile(
    r"^(?P<acc>[b#])?(?P<num>VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)"
    r"(?P<qual>o|°|ø|\+)?(?P<ext>maj7|7|6|sus2|sus4|add9)?$")
_DEGREES = ("i", "ii", "iii", "iv", "v", "vi", "vii")


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


def chord_in_key(numeral: str, *, tonic: str, mode: str) -> ChordSpec:
    """The chord a roman numeral names in a key."""
    degree, acc, minor_case, qual, ext = parse_numeral(numeral)
    tonic_pc = NOTE_PCS[tonic]
    root = (tonic_pc + MODES[mode][degree] + acc) % 12
    intervals, suffix = chord_intervals(minor_case, qual, ext)
    pcs = tuple((root + i) % 12 for i in intervals)
    return ChordSpec(numeral, root, pcs, spell_degree(tonic, degree, root) + suffix)


def tonic_numeral(mode: str) -> str:
    """The tonic triad's numeral in a mode: "i" where the mode's third is minor."""
    return "i" if MODES[mode][2] == 3 else "I"


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
    """The key's 7 pitch classes, tonic first."""
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


# --- key signatures ---------------------------------------------------------------------------

def signature_fifths(tonic: str, mode: str) -> int:
    """The key signature as fifths from C (−6…5: flats negative)."""
    parent = (NOTE_PCS[tonic] - MODE_OFFSET[mode]) % 12
    f = (parent * 7) % 12
    return f - 12 if f > 5 else f


def fifths_apart(a: tuple[str, str], b: tuple[str, str]) -> int:
    """How many steps round the circle of fifths two keys' signatures lie apart (0…6)."""
    d = abs(signature_fifths(*a) - signature_fifths(*b)) % 12
    return min(d, 12 - d)



# --- General MIDI ------------------------------------------------------------------------------

# General MIDI percussion key map (channel 10) for the names used in drum patterns.
DRUM_NOTES: dict[str, int] = {
    "kick": 36, "kick2": 35, "rim": 37, "snare": 38, "clap": 39, "tom_floor": 41,
    "hat": 42, "tom_low": 43, "hat_pedal": 44, "tom_mid": 45, "hat_open": 46,
    "tom_high": 48, "crash": 49, "ride": 51, "china": 52, "ride_bell": 53, "tambourine": 54,
    "splash": 55, "cowbell": 56, "crash2": 57, "cabasa": 69, "shaker": 70, "claves": 75,
    "woodblock": 76, "woodblock_low": 77, "triangle_mute": 80, "triangle": 81,
}
# The stem groups a part renders to (one stem file each in the mix and the export).
GROUPS = ("strings", "brass", "woodwinds", "keys", "percussion", "bass", "synths")
# General MIDI's percussion channel, channel 10, counted from 0 as MIDI bytes count it.
DRUM_CHANNEL = 9
