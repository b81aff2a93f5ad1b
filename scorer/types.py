"""Frozen values passed between the stages.

Times are absolute seconds on the cut's timeline (0 = the cut's first frame), named `*_s`.
Collections are tuples. What is persisted has `to_dict()/from_dict()` and a schema tag.
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Protocol

import numpy as np

from scorer.errors import InputError
from scorer.schemas import tag, upgrade
from scorer.timebase import SAMPLE_RATE, beat_s, fps_str, parse_fps

# cues.json and the cue sheet a project keeps. Fields added since version 1 (transitions,
# the shots' looks, start_timecode) are read as optional, so every CueSheet.1 ever written
# still reads; a change a version-1 reader would misread takes version 2 and an upgrade
# (scorer/schemas.py).
CUESHEET = "CueSheet"
CUESHEET_VERSION = 1
CUESHEET_SCHEMA = tag(CUESHEET, CUESHEET_VERSION)
TRANSITIONS = ("start", "cut", "dissolve", "fade")
HIT_KINDS = ("cut", "onset", "flash", "motion", "marker", "end")


def _need(d: dict, key: str, where: str) -> Any:
    if not isinstance(d, dict):
        raise InputError(f"{where} must be an object, got {type(d).__name__}")
    if key not in d:
        raise InputError(f"{where} is missing field '{key}'")
    return d[key]


def _num(d: dict, key: str, where: str, lo: float | None = None, hi: float | None = None) -> float:
    v = _need(d, key, where)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise InputError(f"{where}.{key} must be a finite number, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise InputError(f"{where}.{key} = {v!r} is outside [{lo}, {hi}]")
    return float(v)


def _str(d: dict, key: str, where: str) -> str:
    v = _need(d, key, where)
    if not isinstance(v, str):
        raise InputError(f"{where}.{key} must be a string, got {type(v).__name__} ({v!r})")
    return v


def _start_timecode(d: dict, where: str) -> str:
    if "start_timecode" not in d:
        return "00:00:00:00"
    tc = _str(d, "start_timecode", where)
    from scorer.timebase import smpte_to_frame
    smpte_to_frame(tc, parse_fps(str(_need(d, "fps", where))))    # InputError when it is not one
    return tc


def _opt_num(d: dict, key: str, where: str, default: float, lo: float | None = None,
             hi: float | None = None) -> float:
    """An optional number: `default` when absent, else validated like _num."""
    return default if key not in d else _num(d, key, where, lo, hi)


def _opt_bool(d: dict, key: str, where: str, default: bool) -> bool:
    v = d.get(key, default)
    if not isinstance(v, bool):
        raise InputError(f"{where}.{key} must be true or false, got {v!r}")
    return v


def _opt_list(d: dict, key: str, where: str) -> list:
    v = d.get(key, [])
    if not isinstance(v, list):
        raise InputError(f"{where} field '{key}' must be a list, got {type(v).__name__}")
    return v


# --- the cut --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    """The picture being scored."""
    path: str
    fps: Fraction
    duration_s: float
    n_frames: int
    width: int = 0
    height: int = 0
    has_audio: bool = False
    start_timecode: str = "00:00:00:00"   # the timecode of the first frame (a MOV's tmcd track)

    @property
    def start_frame(self) -> int:
        """The first frame's number counted from 00:00:00:00 (for timecode stamps)."""
        from scorer.timebase import smpte_to_frame
        return smpte_to_frame(self.start_timecode, self.fps)

    def to_dict(self) -> dict:
        return {"path": self.path, "fps": fps_str(self.fps), "duration_s": self.duration_s,
                "n_frames": self.n_frames, "width": self.width, "height": self.height,
                "has_audio": self.has_audio, "start_timecode": self.start_timecode}

    @classmethod
    def from_dict(cls, d: dict) -> "Source":
        w = "source"
        return cls(path=_str(d, "path", w), fps=parse_fps(str(_need(d, "fps", w))),
                   duration_s=_num(d, "duration_s", w, 0), n_frames=int(_num(d, "n_frames", w, 0)),
                   width=int(_opt_num(d, "width", w, 0, 0, 1 << 20)),
                   height=int(_opt_num(d, "height", w, 0, 0, 1 << 20)),
                   has_audio=_opt_bool(d, "has_audio", w, False),
                   start_timecode=_start_timecode(d, w))


@dataclass(frozen=True)
class Shot:
    """A shot: [start_s, end_s). transition_in is how it begins: start | cut | dissolve | fade."""
    start_s: float
    end_s: float
    start_frame: int
    transition_in: str = "cut"
    motion: float = 0.0       # mean motion energy 0…1
    brightness: float = 0.0   # mean luma 0…1
    contrast: float = 0.0     # mean luma standard deviation 0…0.5
    saturation: float = 0.0   # mean saturation 0…1
    warmth: float = 0.0       # mean R − B balance −1…1
    pace_per_min: float = 0.0  # cutting rate around the shot (shots per minute, ±15 s)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def to_dict(self) -> dict:
        return {"start_s": self.start_s, "end_s": self.end_s, "start_frame": self.start_frame,
                "transition_in": self.transition_in, "motion": self.motion,
                "brightness": self.brightness, "contrast": self.contrast,
                "saturation": self.saturation, "warmth": self.warmth,
                "pace_per_min": self.pace_per_min}

    @classmethod
    def from_dict(cls, d: dict, where: str = "shot") -> "Shot":
        t = _str(d, "transition_in", where)
        if t not in TRANSITIONS:
            raise InputError(f"{where}.transition_in {t!r} is not one of {TRANSITIONS}")
        return cls(start_s=_num(d, "start_s", where, 0), end_s=_num(d, "end_s", where, 0),
                   start_frame=int(_num(d, "start_frame", where, 0)), transition_in=t,
                   **{k: _opt_num(d, k, where, 0.0) for k in ("motion", "brightness", "contrast",
                                                             "saturation", "warmth", "pace_per_min")})


@dataclass(frozen=True)
class Span:
    """A time span [start_s, end_s), e.g. a line of dialogue."""
    start_s: float
    end_s: float

    def to_dict(self) -> dict:
        return {"start_s": self.start_s, "end_s": self.end_s}

    @classmethod
    def from_dict(cls, d: dict, where: str = "span") -> "Span":
        s, e = _num(d, "start_s", where, 0), _num(d, "end_s", where, 0)
        if e < s:
            raise InputError(f"{where} ends ({e}) before it starts ({s})")
        return cls(s, e)


@dataclass(frozen=True)
class Transition:
    """A gradual transition between shots: [start_s, end_s), kind "dissolve" or "fade";
    the next shot starts inside it (Shot.transition_in says which kind)."""
    start_s: float
    end_s: float
    kind: str

    def to_dict(self) -> dict:
        return {"start_s": self.start_s, "end_s": self.end_s, "kind": self.kind}

    @classmethod
    def from_dict(cls, d: dict, where: str = "transition") -> "Transition":
        kind = _str(d, "kind", where)
        if kind not in ("dissolve", "fade"):
            raise InputError(f"{where}.kind {kind!r} is not dissolve or fade")
        s, e = _num(d, "start_s", where, 0), _num(d, "end_s", where, 0)
        if e < s:
            raise InputError(f"{where} ends ({e}) before it starts ({s})")
        return cls(s, e, kind)


@dataclass(frozen=True)
class Hit:
    """A sync point the music may land on. t_s is frame-snapped: t_s == frame / fps."""
    t_s: float
    frame: int
    strength: float           # 0…1, higher = more important
    kind: str                 # one of HIT_KINDS
    scored: bool = False      # True where the music accents it

    def to_dict(self) -> dict:
        return {"t_s": self.t_s, "frame": self.frame, "strength": self.strength,
                "kind": self.kind, "scored": self.scored}

    @classmethod
    def from_dict(cls, d: dict, where: str = "hit") -> "Hit":
        kind = _str(d, "kind", where)
        if kind not in HIT_KINDS:
            raise InputError(f"{where}.kind {kind!r} is not one of {HIT_KINDS}")
        return cls(t_s=_num(d, "t_s", where, 0), frame=int(_num(d, "frame", where, 0)),
                   strength=_num(d, "strength", where, 0, 1), kind=kind,
                   scored=_opt_bool(d, "scored", where, False))


@dataclass(frozen=True)
class ReviewNote:
    """A review comment someone pinned to a frame of the cut and the cue that holds it
    (the studio's notes; project.db keeps them). timecode: the picture's own, as the cue
    sheet prints it; text: plain text, never markup."""
    id: int
    cue_id: str
    t_s: float
    timecode: str
    author: str
    text: str
    created_at: str
    reply_to: int | None = None        # the note this one answers (a thread hangs off its first note)
    kind: str = "note"                 # "note", or "changes": a request for changes to the cue
    resolved_by: str | None = None     # who marked the thread done (None: open)
    resolved_at: str | None = None

    @property
    def open(self) -> bool:
        return self.resolved_by is None

    def to_dict(self) -> dict:
        return {"id": self.id, "cue": self.cue_id, "t_s": self.t_s, "timecode": self.timecode,
                "author": self.author, "text": self.text, "created_at": self.created_at,
                "reply_to": self.reply_to, "kind": self.kind, "resolved_by": self.resolved_by,
                "resolved_at": self.resolved_at}


@dataclass(frozen=True)
class Analysis:
    """What analyze() measured. Per-frame curves are float32 arrays indexed by frame number.

    frame_times_s: PTS time of each decoded frame (s).
    motion: mean absolute luma change to the previous frame, 0…1.
    brightness: mean luma 0…1.  warmth: (R−B) balance −1…1.  saturation 0…1.
    cut_score: per-frame transition score used by the cut detector (for inspection).
    loudness_t_s / loudness_db: production-audio short-term loudness curve (dBFS, RMS).
    onsets: audio transients as (t_s, strength 0…1), strongest first not implied.
    """
    source: Source
    shots: tuple[Shot, ...]
    dialogue: tuple[Span, ...]
    frame_times_s: np.ndarray
    motion: np.ndarray
    brightness: np.ndarray
    warmth: np.ndarray
    saturation: np.ndarray
    cut_score: np.ndarray
    loudness_t_s: np.ndarray
    loudness_db: np.ndarray
    onsets: tuple[tuple[float, float], ...]
    flashes: tuple[int, ...] = ()   # first frames of flashes (lightning, muzzle flash): hit candidates
    markers: tuple[tuple[int, str], ...] = ()   # (frame, name) from the editor's timeline: hits
    contrast: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # luma std per frame
    transitions: tuple["Transition", ...] = ()   # gradual transitions (fades, dissolves) as spans
    timings_s: dict = field(default_factory=dict)


# --- the spotting ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cue:
    """A music cue: [start_s, end_s) on the cut, with mood, intensity curve and hits."""
    id: str                                   # "1M1"
    start_s: float
    end_s: float
    preset: str
    valence: float                            # −1 (dark) … 1 (bright)
    arousal: float                            # −1 (calm) … 1 (agitated)
    intensity: tuple[tuple[float, float], ...]  # (t_s, 0…1), t_s absolute, ascending
    hits: tuple[Hit, ...] = ()
    note: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def intensity_at(self, t_s: float) -> float:
        """Intensity 0…1 at t_s, linearly interpolated (held at the ends)."""
        if not self.intensity:
            return 0.5
        ts = [p[0] for p in self.intensity]
        vs = [p[1] for p in self.intensity]
        return float(np.interp(t_s, ts, vs))

    def to_dict(self) -> dict:
        return {"id": self.id, "start_s": self.start_s, "end_s": self.end_s,
                "preset": self.preset, "valence": self.valence, "arousal": self.arousal,
                "intensity": [[t, v] for t, v in self.intensity],
                "hits": [h.to_dict() for h in self.hits], "note": self.note}

    @classmethod
    def from_dict(cls, d: dict, where: str = "cue") -> "Cue":
        cid = _str(d, "id", where)
        w = f"cue {cid}"
        start, end = _num(d, "start_s", w, 0), _num(d, "end_s", w, 0)
        if end <= start:
            raise InputError(f"{w} ends ({end}) at or before it starts ({start})")
        raw = _need(d, "intensity", w)
        if not isinstance(raw, list):
            raise InputError(f"{w}.intensity must be a list of [t_s, value] pairs")
        intensity = []
        for i, p in enumerate(raw):
            if (not isinstance(p, (list, tuple)) or len(p) != 2
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p)):
                raise InputError(f"{w}.intensity[{i}] must be a [t_s, value] pair of numbers")
            if not 0 <= p[1] <= 1:
                raise InputError(f"{w}.intensity[{i}] value {p[1]} is outside [0, 1]")
            intensity.append((float(p[0]), float(p[1])))
        hits = _need(d, "hits", w)
        if not isinstance(hits, list):
            raise InputError(f"{w}.hits must be a list")
        return cls(id=cid, start_s=start, end_s=end, preset=_str(d, "preset", w),
                   valence=_num(d, "valence", w, -1, 1), arousal=_num(d, "arousal", w, -1, 1),
                   intensity=tuple(intensity),
                   hits=tuple(Hit.from_dict(h, f"{w}.hits[{i}]") for i, h in enumerate(hits)),
                   note=_str(d, "note", w) if "note" in d else "")


@dataclass(frozen=True)
class CueSheet:
    """The spotting result: the cut, its shots and dialogue, and the music cues."""
    source: Source
    shots: tuple[Shot, ...]
    dialogue: tuple[Span, ...]
    cues: tuple[Cue, ...]
    schema: str = CUESHEET_SCHEMA
    transitions: tuple[Transition, ...] = ()

    def to_dict(self) -> dict:
        return {"schema": self.schema, "source": self.source.to_dict(),
                "shots": [s.to_dict() for s in self.shots],
                "transitions": [t.to_dict() for t in self.transitions],
                "dialogue": [s.to_dict() for s in self.dialogue],
                "cues": [c.to_dict() for c in self.cues]}

    @classmethod
    def from_dict(cls, d: dict) -> "CueSheet":
        d = upgrade(d, CUESHEET, CUESHEET_VERSION, where="cue sheet")
        source = Source.from_dict(_need(d, "source", "cue sheet"))
        for key in ("shots", "dialogue", "cues"):
            if not isinstance(_need(d, key, "cue sheet"), list):
                raise InputError(f"cue sheet field '{key}' must be a list")
        cues = tuple(Cue.from_dict(c, f"cues[{i}]") for i, c in enumerate(d["cues"]))
        ids = [c.id for c in cues]
        if len(set(ids)) != len(ids):
            raise InputError(f"cue ids must be unique, got {ids}")
        for c in cues:
            if c.end_s > source.duration_s + 1e-6:
                raise InputError(f"cue {c.id} ends at {c.end_s:.3f} s, after the cut "
                                 f"({source.duration_s:.3f} s)")
        return cls(source=source,
                   shots=tuple(Shot.from_dict(s, f"shots[{i}]") for i, s in enumerate(d["shots"])),
                   dialogue=tuple(Span.from_dict(s, f"dialogue[{i}]")
                                  for i, s in enumerate(d["dialogue"])),
                   cues=cues,
                   transitions=tuple(Transition.from_dict(t, f"transitions[{i}]")
                                     for i, t in enumerate(_opt_list(d, "transitions", "cue sheet"))))

    def replace_cue(self, cue: Cue) -> "CueSheet":
        return replace(self, cues=tuple(cue if c.id == cue.id else c for c in self.cues))


# --- musical time -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TempoSegment:
    """From start_s (= beat start_beat) on, the tempo is tempo_bpm."""
    start_s: float
    start_beat: float
    tempo_bpm: float

    def to_dict(self) -> dict:
        return {"start_s": self.start_s, "start_beat": self.start_beat, "tempo_bpm": self.tempo_bpm}

    @classmethod
    def from_dict(cls, d: dict, where: str = "tempo segment") -> "TempoSegment":
        tempo_bpm = _num(d, "tempo_bpm", where)
        if tempo_bpm <= 0:
            raise InputError(f"{where}.tempo_bpm must be above 0, got {tempo_bpm!r}")
        # A pickup puts the first segment before beat 0 (negative start_beat).
        return cls(start_s=_num(d, "start_s", where), start_beat=_num(d, "start_beat", where),
                   tempo_bpm=tempo_bpm)


@dataclass(frozen=True)
class TempoMap:
    """Piecewise-constant tempo: beats ⇄ absolute seconds. Beat 0 is at segments[0].start_s.

    beats_per_bar is the meter numerator (the beat is a quarter note).
    """
    segments: tuple[TempoSegment, ...]
    beats_per_bar: int = 4

    def __post_init__(self):
        if not self.segments:
            raise ValueError("TempoMap needs at least one segment")
        for a, b in zip(self.segments, self.segments[1:]):
            if b.start_s <= a.start_s or b.start_beat <= a.start_beat:
                raise ValueError("TempoMap segments must ascend in time and beats")

    @classmethod
    def constant(cls, start_s: float, tempo_bpm: float, beats_per_bar: int = 4) -> "TempoMap":
        return cls((TempoSegment(start_s, 0.0, tempo_bpm),), beats_per_bar)

    @classmethod
    def from_tempi(cls, tempi, beats_per_bar: int = 4) -> "TempoMap":
        """The map of (start_s, tempo_bpm) pairs in time order, beat 0 at the first: each
        segment starts on the beat the one before reaches there (as s_to_beat counts)."""
        segments: list[TempoSegment] = []
        for start_s, tempo_bpm in tempi:
            beat = 0.0
            if segments:
                prev = segments[-1]
                beat = prev.start_beat + (start_s - prev.start_s) / beat_s(prev.tempo_bpm)
            segments.append(TempoSegment(start_s, beat, tempo_bpm))
        return cls(tuple(segments), beats_per_bar)

    @property
    def start_s(self) -> float:
        return self.segments[0].start_s

    def _seg_for_beat(self, beat: float) -> TempoSegment:
        i = bisect.bisect_right([s.start_beat for s in self.segments], beat) - 1
        return self.segments[max(i, 0)]

    def _seg_for_s(self, t_s: float) -> TempoSegment:
        i = bisect.bisect_right([s.start_s for s in self.segments], t_s) - 1
        return self.segments[max(i, 0)]

    def beat_to_s(self, beat: float) -> float:
        seg = self._seg_for_beat(beat)
        return seg.start_s + (beat - seg.start_beat) * beat_s(seg.tempo_bpm)

    def s_to_beat(self, t_s: float) -> float:
        seg = self._seg_for_s(t_s)
        return seg.start_beat + (t_s - seg.start_s) / beat_s(seg.tempo_bpm)

    def bar_to_s(self, bar: int) -> float:
        return self.beat_to_s(bar * self.beats_per_bar)

    def tempo_at_s(self, t_s: float) -> float:
        return self._seg_for_s(t_s).tempo_bpm

    def to_dict(self) -> dict:
        return {"beats_per_bar": self.beats_per_bar, "segments": [s.to_dict() for s in self.segments]}

    @classmethod
    def from_dict(cls, d: dict, where: str = "tempo map") -> "TempoMap":
        """The inverse of to_dict (a take.json's or report.json's "tempo_map")."""
        bpb = _need(d, "beats_per_bar", where)
        if isinstance(bpb, bool) or not isinstance(bpb, int) or bpb < 1:
            raise InputError(f"{where}.beats_per_bar must be a whole number ≥ 1, got {bpb!r}")
        raw = _need(d, "segments", where)
        if not isinstance(raw, list) or not raw:
            raise InputError(f"{where}.segments must be a non-empty list")
        segments = tuple(TempoSegment.from_dict(s, f"{where}.segments[{i}]") for i, s in enumerate(raw))
        try:
            return cls(segments, bpb)
        except ValueError as exc:          # the segments' order: a file's mistake, said as one
            raise InputError(f"{where}: {exc}") from None


# --- the score -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Note:
    """A note on the cut's timeline: [start_s, end_s), MIDI pitch, velocity 1…127."""
    start_s: float
    end_s: float
    pitch: int
    velocity: int


@dataclass(frozen=True)
class Control:
    """A MIDI controller change on the cut's timeline: at t_s, controller `number` takes
    `value` 0…127 (1 mod wheel — dynamics in most orchestral libraries, 11 expression,
    64 sustain pedal: ≥ 64 down)."""
    t_s: float
    number: int
    value: int


MOD_WHEEL, EXPRESSION, SUSTAIN_PEDAL = 1, 11, 64


@dataclass(frozen=True)
class Part:
    """One instrument of one cue. group is the stem it renders to (e.g. "strings").
    controls: its controller changes (dynamics curves, pedal) in time order."""
    name: str              # e.g. "pad", "bass", "pulse", "melody", "hits"
    group: str             # stem group: strings, brass, woodwinds, keys, percussion, bass, synths
    program: int           # General MIDI program 0…127 (ignored for drums)
    is_drums: bool
    notes: tuple[Note, ...]
    controls: tuple[Control, ...] = ()


@dataclass(frozen=True)
class HitFit:
    """How a hit sits in a cue's tempo map."""
    hit: Hit
    beat: float            # beat index (cue-local) the hit falls on
    error_s: float         # beat time − hit time (0 for scored hits)
    on_downbeat: bool


@dataclass(frozen=True)
class TempoAlternative:
    """One candidate base tempo, as a cue-tempo calculator lists them.

    score 0…1: 1 = every scored hit honoured, strong ones on downbeats, the end on a bar
    line, with no tempo change. Errors are those of the constant base tempo (before the
    tempo changes that make honoured hits exact), over the cue's scored hits.
    """
    tempo_bpm: float
    beats_per_bar: int
    score: float
    n_honoured: int
    n_requested: int
    mean_error_frames: float
    max_error_frames: float
    mean_error_ms: float
    max_error_ms: float
    pickup_beats: int = 0      # beats before the first downbeat (0: the cue starts on one)


@dataclass(frozen=True)
class MotifNote:
    """A note of the theme: onset and length in beats from the phrase start, scale degree
    (0 = tonic, 7 = the octave above; may be negative)."""
    onset_beats: float
    length_beats: float
    degree: int


@dataclass(frozen=True)
class Motif:
    """The theme: a statement and an answer (each one or more bars, onsets from the
    phrase's first bar line) in one meter."""
    beats_per_bar: int
    statement: tuple[MotifNote, ...]
    answer: tuple[MotifNote, ...]
    source: str = "generated"   # where it came from: "generated", or the user's file name


@dataclass(frozen=True)
class CueScore:
    """The composed music of one cue."""
    cue: Cue               # the cue, with hits[*].scored as honoured by the tempo map
    tempo_map: TempoMap
    key: str               # e.g. "D minor"
    chords: tuple[tuple[float, str], ...]   # (t_s, chord symbol)
    parts: tuple[Part, ...]
    hit_fits: tuple[HitFit, ...]
    tail_s: float = 2.0    # how long after end_s the last notes may ring
    # The tempo calculator's view: the best base tempos (the chosen one first) and the
    # scored hits the map could not honour, each with the reason in words.
    alternatives: tuple[TempoAlternative, ...] = ()
    unhonoured: tuple[tuple[Hit, str], ...] = ()
    # The composer's plan, for people to read: the cue's sections (kind, start_s) and the
    # idiom each layer plays (layer, idiom; builds and climaxes may take the busiest).
    sections: tuple[tuple[str, float], ...] = ()
    idioms: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Score:
    """The temp score of a whole cut: cue scores in time order."""
    source: Source
    cues: tuple[CueScore, ...]
    seed: int
    theme: Motif | None = None   # the theme every cue develops (unless it is given another)
    # Other named motifs (a character theme, a threat motif), and which cue develops which.
    motifs: tuple[tuple[str, Motif], ...] = ()
    cue_motifs: tuple[tuple[str, str], ...] = ()   # (cue id, motif name)


# --- audio ------------------------------------------------------------------------------------

class AudioSource(Protocol):
    """Audio read on demand in windows (e.g. io.clipstore.RawAudio, a file on disk)."""
    channels: int
    n_samples: int

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Samples [lo, hi), 0 ≤ lo ≤ hi ≤ n_samples, as (channels, hi − lo) float32."""
        ...


class ClipGain(Protocol):
    """A gain over timeline samples applied as a clip is read (the mix's tail fades and
    ducking), so a shaped clip is never held whole."""

    def gain(self, start_sample: int, n: int) -> np.ndarray | None:
        """Linear gain (n,) float32 for timeline samples [start_sample, start_sample + n);
        None where it is 1 throughout."""
        ...


@dataclass(frozen=True)
class Clip:
    """Audio placed on the timeline, first sample at start_sample (the cut's first frame
    is sample 0), at sample_rate.

    audio: a (channels, n) float32 array, or an AudioSource read window by window (a
    rendered clip parked on disk). gain: applied as the clip is read (None: as rendered).
    Read with window() or add_to(); `samples` reads the whole clip at once.
    """
    start_sample: int
    audio: "np.ndarray | AudioSource"
    sample_rate: int = SAMPLE_RATE
    label: str = ""          # what it is, e.g. the cue id "1M1"
    gain: "ClipGain | None" = None

    def __post_init__(self):
        if isinstance(self.audio, np.ndarray) and self.audio.ndim != 2:
            raise ValueError(f"clip audio must be (channels, n), got shape {self.audio.shape}")

    @property
    def n_samples(self) -> int:
        a = self.audio
        return a.shape[1] if isinstance(a, np.ndarray) else a.n_samples

    @property
    def channels(self) -> int:
        a = self.audio
        return a.shape[0] if isinstance(a, np.ndarray) else a.channels

    @property
    def end_sample(self) -> int:
        return self.start_sample + self.n_samples

    def add_to(self, out: np.ndarray, start_sample: int) -> None:
        """Add this clip (gain applied) into `out`, a (channels, n) float32 buffer whose
        first sample is timeline sample start_sample; only the overlap is read."""
        lo = max(start_sample, self.start_sample)
        hi = min(start_sample + out.shape[1], self.end_sample)
        if lo >= hi:
            return
        a, b = lo - self.start_sample, hi - self.start_sample
        part = self.audio[:, a:b] if isinstance(self.audio, np.ndarray) else self.audio.read(a, b)
        if part.shape[0] != out.shape[0]:
            if part.shape[0] != 1:
                raise ValueError(f"a {part.shape[0]}-channel clip cannot be laid into {out.shape[0]} channels")
            part = np.broadcast_to(part, (out.shape[0], part.shape[1]))   # mono to every channel
        g = None if self.gain is None else self.gain.gain(lo, hi - lo)
        dest = out[:, lo - start_sample:hi - start_sample]
        if g is None:
            dest += part
        else:
            dest += part * g

    def window(self, start_sample: int, n: int, *, channels: int | None = None) -> np.ndarray:
        """(channels, n) float32 over timeline samples [start_sample, start_sample + n),
        zeros where the clip does not sound."""
        out = np.zeros((self.channels if channels is None else channels, n), np.float32)
        self.add_to(out, start_sample)
        return out

    @property
    def samples(self) -> np.ndarray:
        """The whole clip as (channels, n) float32, gain applied (read at once: for short
        clips and tests; stream long ones with window())."""
        return self.window(self.start_sample, self.n_samples)


@dataclass(frozen=True)
class Stems:
    """Rendered audio per stem group: group name → clips (one or more per cue).

    Stems are sparse: they are laid onto the full-length timeline by mix/deliver, block by
    block. A backend parks its clips on disk (io.clipstore) and they are read in windows,
    so memory follows the block being processed, not the film's length.
    """
    groups: dict  # str -> tuple[Clip, ...]
    duration_s: float
    sample_rate: int = SAMPLE_RATE
    backend: str = ""
    info: dict = field(default_factory=dict)
