"""Director's notes: per-scene text ("tense, building to the reveal") that moves a cue's
mood and intensity, names a preset, or asks for no music.

A notes file has one note per line: `IN [OUT] text`, with IN/OUT as SMPTE timecode
(HH:MM:SS:FF) or seconds; OUT defaults to the next note's IN (or the end of the cut).
Lines starting with # are comments.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from scorer.errors import InputError
from scorer.timebase import frame_to_s, smpte_to_frame
from scorer.types import Cue

# word stem → (valence shift, arousal shift)
MOOD_WORDS = {
    "tense": (-0.3, 0.3), "tension": (-0.3, 0.3), "suspens": (-0.3, 0.3), "dread": (-0.5, 0.2),
    "scar": (-0.6, 0.4), "horror": (-0.7, 0.4), "eerie": (-0.5, 0.0), "creep": (-0.5, 0.1),
    "sad": (-0.5, -0.3), "melanchol": (-0.5, -0.4), "grief": (-0.6, -0.3), "loss": (-0.5, -0.3),
    "lonely": (-0.4, -0.4), "dark": (-0.4, 0.0), "myster": (-0.3, -0.1), "noir": (-0.4, -0.1),
    "happy": (0.5, 0.2), "joy": (0.6, 0.4), "hope": (0.4, 0.0), "warm": (0.5, -0.2),
    "tender": (0.4, -0.3), "love": (0.4, -0.1), "romant": (0.5, -0.2), "wonder": (0.5, 0.1),
    "magic": (0.5, 0.2), "funny": (0.5, 0.3), "comic": (0.5, 0.3), "playful": (0.5, 0.3),
    "calm": (0.1, -0.4), "peace": (0.2, -0.5), "quiet": (0.0, -0.3), "still": (0.0, -0.4),
    "action": (-0.1, 0.5), "chase": (-0.1, 0.6), "fight": (-0.3, 0.6), "urgent": (-0.2, 0.5),
    "epic": (0.3, 0.5), "triumph": (0.6, 0.5), "victor": (0.6, 0.5), "heroic": (0.5, 0.5),
}
RISING = ("build", "rising", "rises", "swell", "crescendo", "grow", "toward", "to the reveal")
FALLING = ("fade", "fading", "dying", "settl", "winding down", "release")
SILENCE = ("no music", "silence", "play it dry", "dry", "no score")


@dataclass(frozen=True)
class Note:
    start_s: float
    end_s: float | None
    text: str


def read_notes(path: str | os.PathLike, *, fps: Fraction) -> tuple[Note, ...]:
    p = Path(path)
    if not p.is_file():
        raise InputError("notes file not found", path=str(p))
    notes = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tokens = line.split(maxsplit=2)
        try:
            start = _time(tokens[0], fps)
        except InputError as exc:
            raise InputError(f"line {n}: {exc}", path=str(p))
        end, rest = None, " ".join(tokens[1:])
        if len(tokens) > 1 and _looks_like_time(tokens[1]):
            end = _time(tokens[1], fps)
            rest = tokens[2] if len(tokens) > 2 else ""
        if not rest:
            raise InputError(f"line {n}: a note needs text after its time", path=str(p))
        notes.append(Note(start, end, rest))
    notes.sort(key=lambda x: x.start_s)
    return tuple(Note(x.start_s, x.end_s if x.end_s is not None else
                      (notes[i + 1].start_s if i + 1 < len(notes) else None), x.text)
                 for i, x in enumerate(notes))


def _looks_like_time(token: str) -> bool:
    return bool(re.fullmatch(r"\d+(\.\d+)?|\d{1,2}:\d{2}:\d{2}[:;]\d{2}", token))


def _time(token: str, fps: Fraction) -> float:
    if re.fullmatch(r"\d+(\.\d+)?", token):
        return float(token)
    return frame_to_s(smpte_to_frame(token, fps), fps)


def apply_notes(cue: Cue, notes: tuple[Note, ...], *, presets: dict) -> Cue | None:
    """The cue moved by every note overlapping it; None where a note asks for no music."""
    for note in notes:
        end = note.end_s if note.end_s is not None else float("inf")
        if note.start_s >= cue.end_s or end <= cue.start_s:
            continue
        text = note.text.lower()
        if any(_has_phrase(text, w) for w in SILENCE):
            return None
        dv = sum(v for stem, (v, _) in MOOD_WORDS.items() if stem in text)
        da = sum(a for stem, (_, a) in MOOD_WORDS.items() if stem in text)
        valence = float(np.clip(cue.valence + dv, -1, 1))
        arousal = float(np.clip(cue.arousal + da, -1, 1))
        named = [name for name in presets if re.search(rf"\b{re.escape(name)}\b", text)]
        if named:
            preset = named[0]
        elif dv or da:
            from scorer.music.presets import choose_preset
            preset = choose_preset(valence, arousal, presets)
        else:
            preset = cue.preset
        intensity = cue.intensity
        if any(w in text for w in RISING):
            intensity = _ramp(intensity, up=True)
        elif any(w in text for w in FALLING):
            intensity = _ramp(intensity, up=False)
        cue = replace(cue, valence=round(valence, 4), arousal=round(arousal, 4), preset=preset,
                      intensity=intensity, note=(cue.note + " | " if cue.note else "") + note.text)
    return cue


def _has_phrase(text: str, phrase: str) -> bool:
    return re.search(rf"\b{re.escape(phrase)}\b", text) is not None


def _ramp(points: tuple[tuple[float, float], ...], *, up: bool) -> tuple[tuple[float, float], ...]:
    """Tilt the intensity curve so it builds (or falls) across the cue, keeping its detail."""
    if len(points) < 2:
        return points
    t0, t1 = points[0][0], points[-1][0]
    out = []
    for t, v in points:
        x = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
        tilt = (0.25 + 0.7 * x) if up else (0.95 - 0.7 * x)
        out.append((t, round(float(np.clip(0.35 * v + 0.65 * tilt, 0, 1)), 4)))
    return tuple(out)
