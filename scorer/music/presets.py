"""Mood presets: one TOML file each in the repository's `presets/` folder, validated on load.
Part of the music vocabulary every stage may import (spot chooses presets, compose plays
them, render takes their effects and prompts).

A preset says how a mood sounds: its mood centre (to pick it for a cue), mode and tonics,
tempo range and meter, progressions and cadence, instruments per layer and rhythmic
figures per intensity band, and how its scored hits are played (`[stinger]` and the
stinger layers: a low hit, a stab, a riser). Every error names the file and the field.

Rhythm patterns cover one bar, one character per step (`rhythm.steps_per_beat` steps a
beat). Pitched patterns (bass, ostinato): "1" root, "3" third, "5" fifth, "7" seventh (the
octave where the chord has none), "8" octave, "-" hold, "." rest. Drum patterns:
"X" accent, "x" hit, "o" soft, "." rest.
"""
from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from scorer.errors import InputError, PresetError
# DRUM_NOTES and GROUPS are re-exported: this module defined them before scorer.music did.
from scorer.music import DRUM_NOTES, GROUPS, MODES, NOTE_PCS, parse_numeral  # noqa: F401

LAYER_ROLES = ("pad", "bass", "pulse", "melody", "hits")   # every preset has these
# The stinger's own instruments (compose/arrange.py): they play only at scored hits — a
# low hit under the kit's bass drum, a short full chord (the stab) and the riser that
# lands on a strong hit. A preset without one plays its stingers without that layer.
STINGER_ROLES = ("low_hit", "stab", "riser")
OPTIONAL_ROLES = ("ostinato", "counter") + STINGER_ROLES
BANDS = ("low", "mid", "high")
# Intensity (0…1) below LOW_MID is "low", below MID_HIGH "mid", else "high".
LOW_MID, MID_HIGH = 0.35, 0.7
PITCHED_STEPS = set("13578.-")
DRUM_STEPS = set("Xxo.")


# How a layer may be played: the idioms compose/idioms.py knows, by layer role, each with
# how busy it is (builds and climaxes move to the busiest one a preset allows). "figure"
# is the band's own one-bar pattern (rhythm.<band>).
FIGURE = "figure"
BASS_IDIOMS = {"figure": 1, "sustain": 0, "pedal": 0, "stepwise": 1, "two_feel": 1, "walking": 2, "drive": 3}
OSTINATO_IDIOMS = {"figure": 1, "sparse": 0, "bounce": 1, "comping": 1, "broken": 2, "triplet_arp": 2,
                   "pulse": 2, "spiccato": 3}
PAD_IDIOMS = {"figure": 1, "sustained": 0, "swell": 0, "suspension": 1, "cluster": 1, "stabs": 2, "pulsed": 3}
DRUM_IDIOMS = {"figure": 1, "stop_time": 1, "sparse": 0, "heartbeat": 1, "brush_swing": 2, "march": 2, "taiko": 3}
MELODY_IDIOMS = {"theme": 1, "rubato": 0}
COUNTER_IDIOMS = {"countermelody": 1}
IDIOMS = {"bass": BASS_IDIOMS, "ostinato": OSTINATO_IDIOMS, "pad": PAD_IDIOMS, "pulse": DRUM_IDIOMS,
          "melody": MELODY_IDIOMS, "counter": COUNTER_IDIOMS}


@dataclass(frozen=True)
class Layer:
    """One instrument role of a preset. Pitches are MIDI notes (drum keys for drums)."""
    name: str
    program: int          # General MIDI program 0…127 (ignored for drums)
    group: str            # stem group, one of GROUPS
    low: int
    high: int
    velocity: int         # base velocity 1…127 at intensity 0.8
    drums: bool = False


@dataclass(frozen=True)
class Band:
    """Rhythmic figures for one intensity band (low, mid or high)."""
    play: tuple[str, ...]                    # layers that play in this band
    chord_bars: int                          # bars per chord (harmonic rhythm)
    pad_beats: float                         # pad re-attack interval in beats; 0 = hold
    bass: str                                # one bar of pitched steps
    ostinato: str                            # one bar of pitched steps ("" = none)
    pulse: tuple[tuple[str, str], ...]       # (drum name, one bar of drum steps)


@dataclass(frozen=True)
class StemFx:
    """The effects chain of one stem group (render/effects.py, in this order): high-pass, EQ
    (low shelf at 200 Hz, a presence bell at 3 kHz, high shelf at 8 kHz), compressor; then
    its send into the score's one hall (render/stage.py), post-EQ. Gains in dB; 0 dB EQ and
    ratio 1 leave the signal alone; send_db at its floor (−60) sends nothing."""
    highpass_hz: float = 35.0
    low_shelf_db: float = 0.0
    presence_db: float = 0.0
    high_shelf_db: float = 0.0
    comp_threshold_db: float = 0.0
    comp_ratio: float = 1.0
    send_db: float = -10.0


# The send each group gives the hall when a preset says nothing: strings and pads well
# into it (a section is heard through the room), percussion too (it sits at the back),
# woodwinds and brass a little less, the bass hardly (a hall's low end blurs the line);
# a high-pass below each instrument's range (rumble costs headroom and muddies dialogue).
DEFAULT_FX: dict[str, StemFx] = {
    "strings": StemFx(35.0, send_db=-7.0),
    "brass": StemFx(40.0, send_db=-9.0, comp_threshold_db=-18.0, comp_ratio=2.0),
    "woodwinds": StemFx(60.0, send_db=-7.0),
    "keys": StemFx(35.0, send_db=-10.0),
    "synths": StemFx(30.0, send_db=-6.0),
    "percussion": StemFx(28.0, send_db=-8.0, comp_threshold_db=-14.0, comp_ratio=3.0),
    "bass": StemFx(28.0, send_db=-20.0, comp_threshold_db=-16.0, comp_ratio=2.5),
    "ambience": StemFx(20.0, send_db=-60.0),
}
NO_SEND_DB = -60.0
_FX_RANGES = {"highpass_hz": (10.0, 1000.0), "low_shelf_db": (-18.0, 12.0), "presence_db": (-18.0, 12.0),
              "high_shelf_db": (-18.0, 12.0), "comp_threshold_db": (-60.0, 0.0), "comp_ratio": (1.0, 20.0),
              "send_db": (NO_SEND_DB, 6.0)}
# Keys of the per-stem reverbs the score had before it played in one hall.
_RETIRED_FX = ("room_size", "wet", "dry", "width")

# What a riser layer does is decided by its instrument: a reverse cymbal swells into the
# hit (a sampled swell: it is started so its peak lands on the hit), a drum that rolls
# rolls, an instrument that sustains crescendos (CC11), anything plucked or struck plays
# a glissando up into it.
REVERSE_CYMBAL = 119
REVERSE_KEY = 60            # the key the arranger plays it on (its sample's length is timed there)
ROLL_PROGRAMS = frozenset({47, 116, 117})   # timpani, taiko, melodic tom
SWELL_PROGRAMS = (frozenset(range(16, 24)) | frozenset(range(40, 45)) | frozenset(range(48, 80))
                  | frozenset(range(80, 96)))
RISER_REVERSE, RISER_ROLL, RISER_SWELL, RISER_GLISS = "reverse_cymbal", "roll", "swell", "glissando"
# The kit's own contribution to a riser: a suspended cymbal (rolled on the ride with
# mallets) or a snare roll, crescendo over the two beats into a strong hit.
KIT_ROLLS = ("none", "ride", "snare")


def riser_kind(program: int) -> str:
    """How a riser played on General MIDI `program` rises (see SWELL_PROGRAMS &c.)."""
    if program == REVERSE_CYMBAL:
        return RISER_REVERSE
    if program in ROLL_PROGRAMS:
        return RISER_ROLL
    if program in SWELL_PROGRAMS:
        return RISER_SWELL
    return RISER_GLISS


@dataclass(frozen=True)
class Stinger:
    """How the preset's mood plays a scored hit (the instruments are its stinger layers).

    cymbals: the kit's cymbals struck with the crash on a strong hit (a weak one gets the
    crash alone); room_s: how long everything but the riser rests before every hit, so it
    lands out of a held breath (the strongest hits rest longer; in a hall about half a
    second is what lets a hit stand 8–10 dB over what precedes it); kit_roll: the kit's
    own roll into very strong hits ("ride": a suspended-cymbal roll, "snare", or "none")."""
    cymbals: tuple[str, ...] = ("crash", "crash2")
    room_s: float = 0.5
    kit_roll: str = "none"


ROOM_S_RANGE = (0.15, 1.0)

# Procedural ambience beds (render/ambience.py) a preset may ask for.
AMBIENCE_BEDS = ("room", "wind", "rain", "drone", "city", "night", "sea")


@dataclass(frozen=True)
class Ambience:
    """The sound-design bed under a preset's cues: procedural beds on the offline
    backend, `prompt` for AudioGen. level_db: the bed's level (dBFS RMS) before mixing."""
    beds: tuple[str, ...] = ("room",)
    level_db: float = -36.0
    prompt: str = "quiet room tone, distant air conditioning"


@dataclass(frozen=True)
class Preset:
    """A validated mood preset."""
    name: str
    description: str
    prompt: str                              # text for neural backends
    valence: float                           # mood centre, −1…1
    arousal: float                           # mood centre, −1…1
    mode: str                                # one of scorer.music.MODES
    tonics: tuple[str, ...]                  # candidate keys' tonics, e.g. ("D", "E")
    progressions: tuple[tuple[str, ...], ...]  # roman numerals in the mode
    cadence: tuple[str, ...]                 # last bars; the final chord is the button
    min_bpm: float
    max_bpm: float
    beats_per_bar: int
    steps_per_beat: int
    layers: tuple[Layer, ...]
    low: Band
    mid: Band
    high: Band
    path: str = ""                           # the file it came from
    fx: tuple[tuple[str, StemFx], ...] = tuple(sorted(DEFAULT_FX.items()))  # stem group → chain
    ambience: Ambience = Ambience()
    # Other meters the tempo fit may choose for a cue (its figures are then fitted to the
    # bar: cut short, or continued from their start); beats_per_bar is the preset's own.
    alt_meters: tuple[int, ...] = ()
    # How each layer may be played (compose/idioms.py): layer → idiom names the seed picks
    # from; a layer not listed plays the band's own figure.
    idioms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # How a scored hit is played (its instruments: the stinger layers, STINGER_ROLES).
    stinger: Stinger = Stinger()

    def stem_fx(self, group: str) -> StemFx:
        """The effects chain of a stem group (the default room for a group not listed)."""
        return dict(self.fx).get(group, DEFAULT_FX.get(group, StemFx()))

    def layer(self, name: str) -> Layer | None:
        for layer in self.layers:
            if layer.name == name:
                return layer
        return None

    def band(self, intensity: float) -> Band:
        """The rhythmic band for an intensity 0…1."""
        return self.low if intensity < LOW_MID else self.mid if intensity < MID_HIGH else self.high


def default_directory() -> Path:
    """The shipped presets: package data `scorer/presets` (in a checkout a link to the
    repository's presets/ folder, in a built wheel a copy of it), so an installed scorer
    finds them wherever it was installed."""
    from importlib.resources import files
    return Path(str(files("scorer") / "presets"))


# --- validation ---------------------------------------------------------------------------------

class _Reader:
    """Reads fields of one preset file, raising PresetError naming the file, the line and
    the field."""

    def __init__(self, path: str, text: str = ""):
        self.path = path
        self.lines = _key_lines(text)

    def fail(self, message: str):
        # The line of the deepest field the message names ("layers.pad.low = 90 …").
        fields = re.findall(r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*|\[\d+\])*", message)
        line = next((self.lines[f] for f in sorted(fields, key=len, reverse=True) if f in self.lines), None)
        where = self.path if line is None else f"{self.path}, line {line}"
        raise PresetError(message, path=where)

    def table(self, d: dict, key: str, where: str = "") -> dict:
        v = self.get(d, key, where)
        if not isinstance(v, dict):
            self.fail(f"{where}{key} must be a table, got {type(v).__name__}")
        return v

    def get(self, d: dict, key: str, where: str = ""):
        if key not in d:
            self.fail(f"missing field '{where}{key}'")
        return d[key]

    def only(self, d: dict, allowed: tuple[str, ...] | set[str], where: str = ""):
        for k in d:
            if k not in allowed:
                self.fail(f"unknown field '{where}{k}' (expected one of {', '.join(sorted(allowed))})")

    def string(self, d: dict, key: str, where: str = "", *, choices=None, nonempty=True) -> str:
        v = self.get(d, key, where)
        if not isinstance(v, str):
            self.fail(f"{where}{key} must be a string, got {type(v).__name__} ({v!r})")
        if nonempty and not v.strip():
            self.fail(f"{where}{key} must not be empty")
        if choices is not None and v not in choices:
            self.fail(f"{where}{key} = {v!r} is not one of {', '.join(choices)}")
        return v

    def number(self, d: dict, key: str, where: str = "", *, lo: float, hi: float) -> float:
        v = self.get(d, key, where)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(f"{where}{key} must be a number, got {type(v).__name__} ({v!r})")
        if not lo <= v <= hi:
            self.fail(f"{where}{key} = {v!r} is outside {lo:g}..{hi:g}")
        return float(v)

    def integer(self, d: dict, key: str, where: str = "", *, lo: int, hi: int) -> int:
        v = self.get(d, key, where)
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail(f"{where}{key} must be an integer, got {type(v).__name__} ({v!r})")
        if not lo <= v <= hi:
            self.fail(f"{where}{key} = {v!r} is outside {lo}..{hi}")
        return v

    def boolean(self, d: dict, key: str, where: str = "") -> bool:
        v = self.get(d, key, where)
        if not isinstance(v, bool):
            self.fail(f"{where}{key} must be true or false, got {v!r}")
        return v

    def strings(self, d: dict, key: str, where: str = "", *, min_len: int = 1) -> tuple[str, ...]:
        v = self.get(d, key, where)
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.fail(f"{where}{key} must be a list of strings, got {v!r}")
        if len(v) < min_len:
            self.fail(f"{where}{key} needs at least {min_len} entr{'y' if min_len == 1 else 'ies'}")
        return tuple(v)

    def numeral(self, text: str, field: str) -> str:
        try:
            parse_numeral(text)
        except ValueError as exc:
            self.fail(f"{field}: {exc}")
        return text

    def pattern(self, text: str, field: str, *, alphabet: set[str], steps: int) -> str:
        bad = sorted(set(text) - alphabet)
        if bad:
            self.fail(f"{field} = {text!r} uses {''.join(bad)!r}; allowed: {''.join(sorted(alphabet))!r}")
        if text and len(text) != steps:
            self.fail(f"{field} = {text!r} has {len(text)} steps; one bar is {steps} "
                      "(beats_per_bar × steps_per_beat)")
        return text


def _key_lines(text: str) -> dict[str, int]:
    """Dotted field name → the line (1-based) it is set on, for error messages: tables
    ("[layers.pad]"), keys ("low = 43", "rhythm.mid.pulse.ride"), and the entries of
    arrays written one per line ("harmony.progressions[2]")."""
    out: dict[str, int] = {}
    table, array, index = "", None, 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if array is not None:
            if line.startswith("]"):
                array = None
                continue
            out.setdefault(f"{array}[{index}]", n)   # one entry per line, as presets are written
            index += 1
            continue
        m = re.match(r"^\[\s*([\w.\-\s]+?)\s*\]$", line)
        if m:
            table = re.sub(r"\s+", "", m.group(1))
            out.setdefault(table, n)
            continue
        m = re.match(r"^([\w.\-]+)\s*=\s*(.*)$", line)
        if m:
            key = f"{table}.{m.group(1)}" if table else m.group(1)
            out.setdefault(key, n)
            if m.group(2) == "[":
                array, index = key, 0
    return out


def _read_layer(r: _Reader, name: str, d: dict) -> Layer:
    w = f"layers.{name}."
    if not isinstance(d, dict):
        r.fail(f"layers.{name} must be a table")
    r.only(d, ("program", "group", "low", "high", "velocity", "drums"), w)
    drums = r.boolean(d, "drums", w) if "drums" in d else False
    layer = Layer(name=name, program=r.integer(d, "program", w, lo=0, hi=127),
                  group=r.string(d, "group", w, choices=GROUPS),
                  low=r.integer(d, "low", w, lo=0, hi=127), high=r.integer(d, "high", w, lo=0, hi=127),
                  velocity=r.integer(d, "velocity", w, lo=1, hi=127), drums=drums)
    if (name == "pulse") != drums:
        r.fail(f"{w}drums must be {'true' if name == 'pulse' else 'false'}: the pulse layer, "
               "and only it, plays the General MIDI drum kit")
    if layer.high < layer.low:
        r.fail(f"{w}high = {layer.high} is below low = {layer.low}")
    # Every pitch class must fit so any chord root can be played in range.
    if not drums and layer.high - layer.low < 12:
        r.fail(f"{w}low..high = {layer.low}..{layer.high} spans less than an octave")
    return layer


def _read_band(r: _Reader, name: str, d: dict, *, steps: int, layers: dict[str, Layer]) -> Band:
    w = f"rhythm.{name}."
    r.only(d, ("play", "chord_bars", "pad_beats", "bass", "ostinato", "pulse"), w)
    play = r.strings(d, "play", w, min_len=0)
    for p in play:
        if p not in layers or p == "hits" or p in STINGER_ROLES:
            r.fail(f"{w}play names {p!r}, which is not a playable layer of this preset "
                   f"({', '.join(sorted(set(layers) - {'hits', *STINGER_ROLES}))}; the hits and stinger "
                   "layers play at the hits)")
    ostinato = ""
    if "ostinato" in d:
        ostinato = r.string(d, "ostinato", w, nonempty=False)
        r.pattern(ostinato, f"{w}ostinato", alphabet=PITCHED_STEPS, steps=steps)
    if "ostinato" in play and not ostinato:
        r.fail(f"{w}play includes 'ostinato' but {w}ostinato has no pattern")
    if ostinato and "ostinato" not in layers:
        r.fail(f"{w}ostinato is set but there is no [layers.ostinato]")
    pulse_d = r.table(d, "pulse", w) if "pulse" in d else {}
    pulse = []
    drum_layer = layers["pulse"]
    for drum, pat in sorted(pulse_d.items()):
        if drum not in DRUM_NOTES:
            r.fail(f"{w}pulse.{drum} is not a drum name ({', '.join(sorted(DRUM_NOTES))})")
        if not drum_layer.low <= DRUM_NOTES[drum] <= drum_layer.high:
            r.fail(f"{w}pulse.{drum} (key {DRUM_NOTES[drum]}) is outside layers.pulse "
                   f"low..high = {drum_layer.low}..{drum_layer.high}")
        if not isinstance(pat, str):
            r.fail(f"{w}pulse.{drum} must be a string pattern, got {pat!r}")
        pulse.append((drum, r.pattern(pat, f"{w}pulse.{drum}", alphabet=DRUM_STEPS, steps=steps)))
    bass = r.string(d, "bass", w, nonempty=False)
    r.pattern(bass, f"{w}bass", alphabet=PITCHED_STEPS, steps=steps)
    if "bass" in play and not bass.strip("."):
        r.fail(f"{w}play includes 'bass' but {w}bass = {bass!r} has no notes")
    return Band(play=play, chord_bars=r.integer(d, "chord_bars", w, lo=1, hi=8),
                pad_beats=r.number(d, "pad_beats", w, lo=0, hi=32), bass=bass,
                ostinato=ostinato, pulse=tuple(pulse))


def parse_preset(data: dict, *, path: str, text: str = "") -> Preset:
    """A Preset from the parsed TOML of the file at `path` (named in errors); `text`, the
    file's content, lets errors name the line."""
    r = _Reader(path, text)
    r.only(data, ("name", "description", "prompt", "mood", "harmony", "tempo", "layers", "rhythm",
                  "fx", "ambience", "idioms", "stinger"))
    name = r.string(data, "name")
    stem = Path(path).stem
    if name != stem:
        r.fail(f"name = {name!r} differs from the file name {stem!r}")
    mood = r.table(data, "mood")
    r.only(mood, ("valence", "arousal"), "mood.")
    harmony = r.table(data, "harmony")
    r.only(harmony, ("mode", "tonics", "progressions", "cadence"), "harmony.")
    mode = r.string(harmony, "mode", "harmony.", choices=tuple(MODES))
    tonics = r.strings(harmony, "tonics", "harmony.")
    for t in tonics:
        if t not in NOTE_PCS:
            r.fail(f"harmony.tonics has {t!r}, not a note name like 'D', 'Eb', 'F#'")
    progs_raw = r.get(harmony, "progressions", "harmony.")
    if not isinstance(progs_raw, list) or not progs_raw:
        r.fail("harmony.progressions must be a non-empty list of lists of roman numerals")
    progressions = []
    for i, prog in enumerate(progs_raw):
        field = f"harmony.progressions[{i}]"
        if not isinstance(prog, list) or not prog or not all(isinstance(x, str) for x in prog):
            r.fail(f"{field} must be a non-empty list of roman numerals, got {prog!r}")
        progressions.append(tuple(r.numeral(n, field) for n in prog))
    cadence = r.strings(harmony, "cadence", "harmony.", min_len=2)
    for n in cadence:
        r.numeral(n, "harmony.cadence")

    tempo = r.table(data, "tempo")
    r.only(tempo, ("min_bpm", "max_bpm", "beats_per_bar", "alt_meters"), "tempo.")
    min_bpm = r.number(tempo, "min_bpm", "tempo.", lo=30, hi=240)
    max_bpm = r.number(tempo, "max_bpm", "tempo.", lo=30, hi=240)
    if max_bpm < min_bpm + 4:
        r.fail(f"tempo.max_bpm = {max_bpm:g} must be at least 4 above tempo.min_bpm = {min_bpm:g}")
    bpb = r.integer(tempo, "beats_per_bar", "tempo.", lo=2, hi=7)
    alt_meters: tuple[int, ...] = ()
    if "alt_meters" in tempo:
        raw = r.get(tempo, "alt_meters", "tempo.")
        if (not isinstance(raw, list) or not all(isinstance(m, int) and not isinstance(m, bool) for m in raw)
                or not all(2 <= m <= 7 for m in raw) or bpb in raw or len(set(raw)) != len(raw)):
            r.fail(f"tempo.alt_meters = {raw!r} must list other beats-per-bar values, each 2..7, "
                   f"without the preset's own {bpb}")
        alt_meters = tuple(raw)

    layers_d = r.table(data, "layers")
    r.only(layers_d, LAYER_ROLES + OPTIONAL_ROLES, "layers.")
    for role in LAYER_ROLES:
        if role not in layers_d:
            r.fail(f"missing field 'layers.{role}'")
    layers = {n: _read_layer(r, n, d) for n, d in layers_d.items()}
    riser = layers.get("riser")
    if riser is not None and riser.program == REVERSE_CYMBAL and not riser.low <= REVERSE_KEY <= riser.high:
        r.fail(f"layers.riser.low..high = {riser.low}..{riser.high} leaves out key {REVERSE_KEY}, which the "
               f"reverse cymbal (program {REVERSE_CYMBAL}) is played on")

    rhythm = r.table(data, "rhythm")
    r.only(rhythm, ("steps_per_beat",) + BANDS, "rhythm.")
    spb = r.integer(rhythm, "steps_per_beat", "rhythm.", lo=1, hi=6)
    bands = {b: _read_band(r, b, r.table(rhythm, b, "rhythm."), steps=bpb * spb, layers=layers)
             for b in BANDS}
    fx = dict(DEFAULT_FX)
    if "fx" in data:
        fx_d = r.table(data, "fx")
        r.only(fx_d, GROUPS + ("ambience",), "fx.")
        for group, d in fx_d.items():
            w = f"fx.{group}."
            if not isinstance(d, dict):
                r.fail(f"fx.{group} must be a table")
            retired = sorted(set(d) & set(_RETIRED_FX))
            if retired:
                r.fail(f"{w}{retired[0]} is gone: every stem now plays in the score's one hall; "
                       f"set {w}send_db (dB into the hall, {NO_SEND_DB:g} for none) instead")
            r.only(d, tuple(_FX_RANGES), w)
            base = DEFAULT_FX.get(group, StemFx())
            fx[group] = StemFx(**{k: r.number(d, k, w, lo=lo, hi=hi) if k in d else getattr(base, k)
                                  for k, (lo, hi) in _FX_RANGES.items()})
    ambience = Ambience()
    if "ambience" in data:
        a = r.table(data, "ambience")
        r.only(a, ("beds", "level_db", "prompt"), "ambience.")
        beds = r.strings(a, "beds", "ambience.")
        for b in beds:
            if b not in AMBIENCE_BEDS:
                r.fail(f"ambience.beds has {b!r}; beds are {', '.join(AMBIENCE_BEDS)}")
        ambience = Ambience(beds=beds, level_db=r.number(a, "level_db", "ambience.", lo=-60, hi=-12),
                            prompt=r.string(a, "prompt", "ambience."))
    idioms: dict[str, tuple[str, ...]] = {}
    if "idioms" in data:
        idioms_d = r.table(data, "idioms")
        r.only(idioms_d, tuple(IDIOMS), "idioms.")
        for role, names in idioms_d.items():
            if role not in layers:
                r.fail(f"idioms.{role} is set but there is no [layers.{role}]")
            listed = r.strings(idioms_d, role, "idioms.")
            for n in listed:
                if n not in IDIOMS[role]:
                    r.fail(f"idioms.{role} has {n!r}; {role} idioms are {', '.join(sorted(IDIOMS[role]))}")
            idioms[role] = listed
    stinger = _read_stinger(r, data["stinger"], layers) if "stinger" in data else Stinger()
    return Preset(
        stinger=stinger,
        idioms=tuple(sorted(idioms.items())),
        fx=tuple(sorted(fx.items())), ambience=ambience,
        name=name, description=r.string(data, "description"), prompt=r.string(data, "prompt"),
        valence=r.number(mood, "valence", "mood.", lo=-1, hi=1),
        arousal=r.number(mood, "arousal", "mood.", lo=-1, hi=1),
        mode=mode, tonics=tonics, progressions=tuple(progressions), cadence=cadence,
        min_bpm=min_bpm, max_bpm=max_bpm, beats_per_bar=bpb, steps_per_beat=spb, alt_meters=alt_meters,
        layers=tuple(layers[n] for n in LAYER_ROLES + OPTIONAL_ROLES if n in layers),
        low=bands["low"], mid=bands["mid"], high=bands["high"], path=path)


def _read_stinger(r: _Reader, d, layers: dict[str, Layer]) -> Stinger:
    if not isinstance(d, dict):
        r.fail("stinger must be a table")
    r.only(d, ("cymbals", "room_s", "kit_roll"), "stinger.")
    base = Stinger()
    cymbals = r.strings(d, "cymbals", "stinger.") if "cymbals" in d else base.cymbals
    kit = layers["pulse"]
    for name in cymbals:
        if name not in DRUM_NOTES:
            r.fail(f"stinger.cymbals has {name!r}, not a drum name ({', '.join(sorted(DRUM_NOTES))})")
        if not kit.low <= DRUM_NOTES[name] <= kit.high:
            r.fail(f"stinger.cymbals has {name!r} (key {DRUM_NOTES[name]}), outside layers.pulse "
                   f"low..high = {kit.low}..{kit.high}")
    room_s = r.number(d, "room_s", "stinger.", lo=ROOM_S_RANGE[0], hi=ROOM_S_RANGE[1]) if "room_s" in d \
        else base.room_s
    kit_roll = r.string(d, "kit_roll", "stinger.", choices=KIT_ROLLS) if "kit_roll" in d else base.kit_roll
    if kit_roll != "none" and not kit.low <= DRUM_NOTES[kit_roll] <= kit.high:
        r.fail(f"stinger.kit_roll = {kit_roll!r} (key {DRUM_NOTES[kit_roll]}) is outside layers.pulse "
               f"low..high = {kit.low}..{kit.high}")
    return Stinger(cymbals=cymbals, room_s=room_s, kit_roll=kit_roll)


def load_preset_file(path: str | Path) -> Preset:
    """Read and validate one preset TOML file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PresetError(f"cannot read preset ({exc.strerror or exc})", path=str(path))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PresetError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(path))
    return parse_preset_text(text, path=str(path))


def parse_preset_text(text: str, *, path: str) -> Preset:
    """One preset from its TOML text (a file's, or the copy a project keeps); `path` names
    it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message carries "(at line L, column C)".
        raise PresetError(f"TOML syntax error: {exc}", path=path)
    return parse_preset(data, path=path, text=text)


def load_presets(directory: str | Path | None = None) -> dict[str, Preset]:
    """Every `*.toml` preset in `directory` (default: the shipped presets, default_directory()), by name."""
    folder = Path(directory) if directory is not None else default_directory()
    if not folder.is_dir():
        where = "" if directory is not None else " (the shipped presets, package data scorer/presets)"
        raise PresetError(f"preset folder not found{where}", path=str(folder))
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise PresetError("no *.toml presets in this folder", path=str(folder))
    presets: dict[str, Preset] = {}
    for f in files:
        p = load_preset_file(f)
        presets[p.name] = p
    return presets


def in_meter(preset: Preset, beats_per_bar: int) -> Preset:
    """The preset playing in another meter: every one-bar figure cut to the new bar, or
    continued from its start to fill it."""
    if beats_per_bar == preset.beats_per_bar:
        return preset
    steps = beats_per_bar * preset.steps_per_beat

    def fit(pattern: str) -> str:
        if not pattern:
            return pattern
        return (pattern * (steps // len(pattern) + 1))[:steps]

    def band(b: Band) -> Band:
        return Band(play=b.play, chord_bars=b.chord_bars, pad_beats=b.pad_beats, bass=fit(b.bass),
                    ostinato=fit(b.ostinato), pulse=tuple((d, fit(p)) for d, p in b.pulse))

    from dataclasses import replace
    return replace(preset, beats_per_bar=beats_per_bar, low=band(preset.low), mid=band(preset.mid),
                   high=band(preset.high))


def presets_with(preset: str | os.PathLike | None) -> tuple[dict[str, Preset], str | None]:
    """The shipped presets plus, when `preset` is a file (a path, or a name ending in
    .toml), that user preset — validated, errors naming its line. Returns the presets and
    the name to use for every cue (None: each cue's own)."""
    presets = load_presets()
    if preset is None:
        return presets, None
    text = str(preset)
    if text.endswith(".toml") or os.sep in text or Path(text).is_file():
        user = load_preset_file(text)
        return {**presets, user.name: user}, user.name
    return presets, text


def choose_preset(valence: float, arousal: float, presets: dict[str, Preset]) -> str:
    """The name of the preset whose mood centre is nearest (valence, arousal); ties go to
    the alphabetically first name."""
    for label, v in (("valence", valence), ("arousal", arousal)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not -1 <= v <= 1:
            raise InputError(f"{label} = {v!r} must be a number in −1..1")
    if not presets:
        raise PresetError("no presets to choose from")
    return min(sorted(presets),
               key=lambda n: (presets[n].valence - valence) ** 2 + (presets[n].arousal - arousal) ** 2)
