"""music: the theory vocabulary reads like a table (numerals, spelling, keys, symbols,
signatures), and scorer.music (theory and presets) is the one foundation every stage may
import: it imports no stage, and analyze, spot, render, mix and deliver never reach into
compose/."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from scorer.music import (DRUM_NOTES, GROUPS, MODE_OFFSET, MODES, NOTE_PCS, chord_in_key, chord_intervals,
                          chord_scale, fifths_apart, key_name, parse_key, parse_numeral, pc_name, scale_pcs,
                          signature_fifths, spell_degree, symbol_pcs, tonic_numeral, uses_flats)

ROOT = Path(__file__).resolve().parent.parent
MUSIC = ROOT / "scorer" / "music" / "__init__.py"
PRESETS = ROOT / "scorer" / "music" / "presets.py"


# --- chords in keys ----------------------------------------------------------------------------

@pytest.mark.parametrize("numeral,tonic,mode,symbol,pcs", [
    ("bVII", "C", "major", "Bb", (10, 2, 5)),
    ("bVI", "C", "major", "Ab", (8, 0, 3)),
    ("#IV", "C", "major", "F#", (6, 10, 1)),
    ("VII", "C", "minor", "Bb", (10, 2, 5)),
    ("V7", "A", "minor", "E7", (4, 8, 11, 2)),
    ("V7", "A", "harmonic_minor", "E7", (4, 8, 11, 2)),
    ("III+", "A", "harmonic_minor", "Caug", (0, 4, 8)),
    ("viio7", "A", "harmonic_minor", "G#dim7", (8, 11, 2, 5)),
    ("i", "D", "dorian", "Dm", (2, 5, 9)),
    ("IV", "D", "dorian", "G", (7, 11, 2)),
    ("VII", "G", "mixolydian", "F", (5, 9, 0)),     # the mode's own ♭7
    ("ivmaj7", "E", "minor", "Am(maj7)", (9, 0, 4, 8)),
    ("Isus4", "G", "major", "Gsus4", (7, 0, 2)),
    ("vi6", "C", "major", "Am6", (9, 0, 4, 6)),
    ("Iadd9", "Bb", "major", "Bbadd9", (10, 2, 5, 0)),
])
def test_chord_in_key(numeral, tonic, mode, symbol, pcs):
    spec = chord_in_key(numeral, tonic=tonic, mode=mode)
    assert (spec.symbol, spec.pcs, spec.root_pc, spec.numeral) == (symbol, pcs, pcs[0], numeral)


@pytest.mark.parametrize("text,parsed", [
    ("i", (0, 0, True, "", "")),
    ("bVI", (5, -1, False, "", "")),
    ("#iv", (3, 1, True, "", "")),
    ("vii°7", (6, 0, True, "o", "7")),
    ("iiø7", (1, 0, True, "ø", "7")),
    ("III+", (2, 0, False, "+", "")),
    ("IVmaj7", (3, 0, False, "", "maj7")),
])
def test_parse_numeral(text, parsed):
    assert parse_numeral(text) == parsed


@pytest.mark.parametrize("bad", ["IIo", "iii+", "iiø6", "viiosus4", "bbVII", "VII9"])
def test_parse_numeral_refuses_with_a_reason(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        parse_numeral(bad)


@pytest.mark.parametrize("tonic,degree,pc,name", [
    ("C", 6, 10, "Bb"),      # ♭VII of C is B♭, not A♯
    ("E", 6, 2, "D"),
    ("Db", 6, 11, "Cb"),     # the letter follows the degree, even onto C♭
    ("C", 3, 6, "F#"),       # ♯IV of C is F♯, not G♭
    ("F#", 2, 10, "A#"),
    ("C", 0, 2, "D"),        # a double accidental falls back to the usual name
])
def test_spell_degree(tonic, degree, pc, name):
    assert spell_degree(tonic, degree, pc) == name


def test_flat_seven_is_spelled_with_its_own_letter_in_every_major_key():
    for tonic in ("C", "G", "D", "A", "E", "B", "F", "Bb", "Eb", "Ab", "Db", "Gb"):
        symbol = chord_in_key("bVII", tonic=tonic, mode="major").symbol
        letters = "CDEFGAB"
        assert symbol[0] == letters[(letters.index(tonic[0]) + 6) % 7], (tonic, symbol)


# --- chord symbols -----------------------------------------------------------------------------

SUFFIXES = {
    "": (0, 4, 7), "m": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
    "7": (0, 4, 7, 10), "m7": (0, 3, 7, 10), "dim7": (0, 3, 6, 9), "m7b5": (0, 3, 6, 10),
    "aug7": (0, 4, 8, 10), "maj7": (0, 4, 7, 11), "m(maj7)": (0, 3, 7, 11),
    "dimmaj7": (0, 3, 6, 11), "augmaj7": (0, 4, 8, 11), "6": (0, 4, 7, 9), "m6": (0, 3, 7, 9),
    "dim6": (0, 3, 6, 9), "aug6": (0, 4, 8, 9), "add9": (0, 4, 7, 2), "madd9": (0, 3, 7, 2),
    "dimadd9": (0, 3, 6, 2), "augadd9": (0, 4, 8, 2), "sus2": (0, 2, 7), "sus4": (0, 5, 7),
}


def test_the_suffix_table_is_every_suffix_a_numeral_can_write():
    written = set()
    for minor_case in (False, True):
        for qual in ("", "o", "ø", "+"):
            for ext in ("", "7", "maj7", "6", "sus2", "sus4", "add9"):
                written.add(chord_intervals(minor_case, qual, ext)[1])
    assert written == set(SUFFIXES)


@pytest.mark.parametrize("suffix", sorted(SUFFIXES))
@pytest.mark.parametrize("root", ["C", "Eb", "F#", "Bb"])
def test_symbol_pcs_of_every_suffix(root, suffix):
    assert symbol_pcs(root + suffix) == tuple((NOTE_PCS[root] + i) % 12 for i in SUFFIXES[suffix])


def test_symbol_pcs_reads_back_every_chord_in_key():
    for mode in MODES:
        for numeral in ("i", "bII", "ii", "III", "iv", "V7", "bVI", "VImaj7", "viio", "iiø7", "Isus2"):
            spec = chord_in_key(numeral, tonic="Eb", mode=mode)
            assert symbol_pcs(spec.symbol) == spec.pcs, (mode, numeral)


@pytest.mark.parametrize("bad", ["H", "Cm9", "cm", "C#b", "", "Bbmin"])
def test_symbol_pcs_refuses_what_scorer_does_not_write(bad):
    with pytest.raises(ValueError):
        symbol_pcs(bad)


# --- keys and spelling -------------------------------------------------------------------------

def test_parse_key_round_trips_key_name():
    for tonic in NOTE_PCS:
        for mode in MODES:
            assert parse_key(key_name(tonic, mode)) == (tonic, mode)
    assert key_name("C", "harmonic_minor") == "C harmonic minor"


@pytest.mark.parametrize("bad", ["H minor", "C", "C blues", "c minor", "D  minor", ""])
def test_parse_key_refuses_what_is_not_a_key(bad):
    with pytest.raises(ValueError):
        parse_key(bad)


@pytest.mark.parametrize("pc,sharp,flat", [(0, "C", "C"), (1, "C#", "Db"), (10, "A#", "Bb"),
                                           (11, "B", "B"), (13, "C#", "Db"), (-2, "A#", "Bb")])
def test_pc_name(pc, sharp, flat):
    assert (pc_name(pc, flats=False), pc_name(pc, flats=True)) == (sharp, flat)


@pytest.mark.parametrize("tonic,mode,flats", [
    ("C", "major", False), ("F", "major", True), ("D", "minor", True), ("E", "minor", False),
    ("G", "dorian", True), ("A", "dorian", False), ("Bb", "lydian", True), ("F#", "minor", False),
    ("C", "harmonic_minor", True),
])
def test_uses_flats(tonic, mode, flats):
    assert uses_flats(tonic, mode) is flats


def test_scales():
    assert scale_pcs("C", "minor") == (0, 2, 3, 5, 7, 8, 10)
    assert scale_pcs("A", "harmonic_minor") == (9, 11, 0, 2, 4, 5, 8)
    assert set(MODE_OFFSET) == set(MODES)
    assert all(len(s) == 7 and s[0] == 0 for s in MODES.values())
    assert chord_scale(scale_pcs("C", "minor"), (0, 3, 7)) == scale_pcs("C", "minor")


@pytest.mark.xfail(strict=True, reason="chord_scale replaces the first scale tone a semitone from the "
                   "chromatic chord tone in scale order (C, not B♭, gives way to B over G in C minor)")
def test_chord_scale_gives_way_to_a_chromatic_chord_tone():
    # As its docstring says: over G major in C minor, B♭ gives way to the chord's B.
    assert chord_scale(scale_pcs("C", "minor"), (7, 11, 2)) == (0, 2, 3, 5, 7, 8, 11)


@pytest.mark.parametrize("mode,numeral", [
    ("major", "I"), ("lydian", "I"), ("mixolydian", "I"), ("minor", "i"), ("dorian", "i"),
    ("phrygian", "i"), ("locrian", "i"), ("harmonic_minor", "i"),
])
def test_tonic_numeral(mode, numeral):
    assert tonic_numeral(mode) == numeral


# --- key signatures ----------------------------------------------------------------------------

@pytest.mark.parametrize("tonic,mode,fifths", [
    ("C", "major", 0), ("A", "minor", 0), ("D", "dorian", 0), ("E", "phrygian", 0),
    ("G", "major", 1), ("B", "major", 5), ("F", "major", -1), ("C", "minor", -3),
    ("Gb", "major", -6), ("C", "harmonic_minor", -3), ("G", "mixolydian", 0),
])
def test_signature_fifths(tonic, mode, fifths):
    assert signature_fifths(tonic, mode) == fifths


@pytest.mark.parametrize("a,b,steps", [
    (("C", "major"), ("C", "major"), 0),
    (("C", "major"), ("A", "minor"), 0),
    (("C", "major"), ("G", "major"), 1),
    (("D", "minor"), ("C", "major"), 1),
    (("C", "minor"), ("C", "major"), 3),
    (("E", "major"), ("Db", "major"), 3),      # round the circle, not across it
    (("C", "major"), ("F#", "major"), 6),
])
def test_fifths_apart(a, b, steps):
    assert fifths_apart(a, b) == fifths_apart(b, a) == steps


# --- General MIDI ------------------------------------------------------------------------------

def test_general_midi_tables():
    assert (DRUM_NOTES["kick"], DRUM_NOTES["snare"], DRUM_NOTES["hat"], DRUM_NOTES["crash"]) == (36, 38, 42, 49)
    assert all(35 <= k <= 81 for k in DRUM_NOTES.values())    # the GM percussion key range
    assert len(set(GROUPS)) == len(GROUPS) and "percussion" in GROUPS


def test_compose_re_exports_the_same_objects():
    from scorer.compose import harmony
    import scorer.music as music
    assert harmony.chord_in_key is music.chord_in_key and harmony.MODES is music.MODES


# --- layering ----------------------------------------------------------------------------------

def _imports(path: Path) -> list[tuple[str, tuple[str, ...], int]]:
    """(module, names imported from it, line) for every import in a file, lazy ones too."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, (), node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.append((node.module, tuple(a.name for a in node.names), node.lineno))
    return out


def test_music_imports_no_other_scorer_module():
    for path, allowed in ((MUSIC, {"scorer.errors"}), (PRESETS, {"scorer.errors", "scorer.music"})):
        scorer_imports = {m for m, _, _ in _imports(path) if m == "scorer" or m.startswith("scorer.")}
        assert scorer_imports <= allowed, path


def test_no_earlier_or_later_stage_reaches_into_compose():
    files = [p for d in ("render", "spot", "deliver", "mix", "analyze", "music", "io")
             for p in (ROOT / "scorer" / d).rglob("*.py")]
    assert len(files) > 20
    bad = [f"{path.relative_to(ROOT)}:{line} imports {module}"
           for path in files for module, _, line in _imports(path)
           if module == "scorer.compose" or module.startswith("scorer.compose.")]
    assert not bad, "\n".join(bad)
