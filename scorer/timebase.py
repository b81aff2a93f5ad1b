"""Every time conversion in scorer lives here.

seconds ⇄ frames (exact Fraction rates) ⇄ samples ⇄ SMPTE timecode (incl. drop-frame).
Musical time (beats) lives in `scorer.types.TempoMap`, which uses only these helpers.

Scalars and arrays, as in librosa's time_to_samples / samples_to_time: a scalar in gives a
Python int or float out, an array-like in gives an int64 or float64 ndarray of its shape,
and both give the same answer (for indices below 2**53 / the rate's denominator).

Rounding, one rule: a time (or duration) becomes a sample, frame or tick index by
rounding to the nearest index, an exact tie going to the later one (half up: 2.5 → 3,
−2.5 → −2). Later, because a sound a frame late still reads as in sync and one a frame
early does not. Two questions are not "the nearest" and have their own functions:

- s_to_frame: the frame *showing* at t_s (floor) — timecode, cue sheets, the picture.
- frames_covering: how many whole frames cover a duration (ceil) — a minimum length.

Both forgive 1e-6 frame of float round-off (0.1 s × 30 fps is 3.0000000000000004 frames:
frame 3, covered by 3 frames). frame_to_s, sample_to_s and frames_in do not round.

Frame rates are exact: a Fraction or an int (parse_fps reads "23.976" or 29.97); a float
rate is refused, never guessed. Sample rates are ints (Hz).
"""
from __future__ import annotations

import math
import numbers
import re
from fractions import Fraction

import numpy as np

from scorer.errors import InputError

SAMPLE_RATE = 48_000
"""The project audio rate (Hz): every buffer between stages is at this rate."""

_COMMON_RATES = (
    Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
    Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60),
)

FRAME_TOLERANCE = 1e-6
"""Float round-off (in frames) that s_to_frame and frames_covering forgive."""


def parse_fps(value: str | int | float | Fraction) -> Fraction:
    """A frame rate as an exact Fraction: "24000/1001", "24", 25, Fraction(30000, 1001).

    Floats such as 23.976 or 29.97 are mapped to the NTSC rate they abbreviate; any other
    float must be (close to) an integer rate, else it is refused as ambiguous.
    """
    if isinstance(value, Fraction):
        fps = value
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):     # int, numpy ints
        fps = Fraction(int(value))
    elif isinstance(value, (float, np.floating)):
        fps = _rate_from_float(float(value))
    elif isinstance(value, str):
        text = value.strip()
        try:
            fps = Fraction(text) if "." not in text else _rate_from_float(float(text))
        except (ValueError, ZeroDivisionError):
            raise InputError(f"frame rate {value!r} is not a number or a fraction like 24000/1001")
    else:
        raise InputError(f"frame rate {value!r} has unsupported type {type(value).__name__}")
    if fps <= 0 or fps > 1000:
        raise InputError(f"frame rate {value!r} is out of range (0, 1000]")
    return fps


def _rate_from_float(value: float) -> Fraction:
    for rate in _COMMON_RATES:
        if abs(float(rate) - value) < 0.006:
            return rate
    if abs(value - round(value)) < 1e-6:
        return Fraction(round(value))
    raise InputError(f"frame rate {value!r} is ambiguous; give it exactly, e.g. 24000/1001")


def fps_str(fps: Fraction) -> str:
    """A rate as the fraction string stored in files: "24000/1001", "25/1"."""
    return f"{fps.numerator}/{fps.denominator}"


# --- the rounding rule ---------------------------------------------------------------------

def _is_array(x) -> bool:
    return np.ndim(x) > 0


def nearest_index(x):
    """x rounded to the nearest integer, an exact tie to the later one (the module's rule).

    For grids that are not samples or frames (MIDI ticks). Scalar → int, array → int64.
    """
    if _is_array(x):
        a = _finite(x)
        f = np.floor(a)
        return (f + (a - f >= 0.5)).astype(np.int64)
    _finite(x)
    f = math.floor(x)
    return f + 1 if x - f >= 0.5 else f       # x - f is exact: no 0.49999999999999994 + 0.5 = 1.0


def _floor(x):
    return np.floor(_finite(x)).astype(np.int64) if _is_array(x) else math.floor(_finite(x))


def _ceil(x):
    return np.ceil(_finite(x)).astype(np.int64) if _is_array(x) else math.ceil(_finite(x))


def _finite(x):
    """x itself (a float64 array if it is one), refused if it holds inf or NaN: no index is
    the nearest to those."""
    if _is_array(x):
        a = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError("cannot turn a non-finite time into an index")
        return a
    if not math.isfinite(x):
        raise ValueError(f"cannot turn {x!r} into an index")
    return x


def _float(x):
    return np.asarray(x, dtype=np.float64) if _is_array(x) else x


def _ratio(fps) -> tuple[int, int]:
    """(numerator, denominator) of an exact frame rate."""
    if isinstance(fps, (float, np.floating)):
        raise TypeError(f"frame rate {fps!r} is a float; give a Fraction (parse_fps reads 23.976 as 24000/1001)")
    return fps.numerator, fps.denominator


# --- seconds ⇄ frames ---------------------------------------------------------------------

def frame_to_s(frame, fps: Fraction):
    """Start time (s) of frame number `frame` (0 = the cut's first frame); a fractional frame
    gives the time that far into the cut. Exact to the float: frame · den / num."""
    num, den = _ratio(fps)
    if _is_array(frame):
        return np.asarray(frame) * den / num
    return float(frame * den / num)


def s_to_frame(t_s, fps: Fraction):
    """The frame showing at time t_s (floor, forgiving FRAME_TOLERANCE of round-off)."""
    num, den = _ratio(fps)
    return _floor(_float(t_s) * num / den + FRAME_TOLERANCE)


def nearest_frame(t_s, fps: Fraction):
    """The frame whose start is nearest to t_s (a tie: the later frame)."""
    num, den = _ratio(fps)
    return nearest_index(_float(t_s) * num / den)


def snap_to_frame(t_s, fps: Fraction):
    """t_s moved to the start of its nearest frame."""
    return frame_to_s(nearest_frame(t_s, fps), fps)


def frames_in(duration_s, fps: Fraction):
    """duration_s measured in frames, unrounded (an error of 0.4 frames, a length)."""
    num, den = _ratio(fps)
    out = _float(duration_s) * num / den
    return out if _is_array(out) else float(out)


def frames_covering(duration_s, fps: Fraction):
    """How many whole frames cover duration_s (ceil, forgiving FRAME_TOLERANCE of round-off)."""
    num, den = _ratio(fps)
    return _ceil(_float(duration_s) * num / den - FRAME_TOLERANCE)


# --- seconds ⇄ samples --------------------------------------------------------------------

def s_to_sample(t_s, sample_rate: int = SAMPLE_RATE):
    """Index of the sample nearest to t_s (a tie: the later sample)."""
    return nearest_index(_float(t_s) * sample_rate)


def sample_to_s(sample, sample_rate: int = SAMPLE_RATE):
    """Time (s) of sample index `sample` (or a length in samples as seconds)."""
    if _is_array(sample):
        return np.asarray(sample) / sample_rate
    return float(sample / sample_rate)


def n_samples(duration_s, sample_rate: int = SAMPLE_RATE):
    """Number of samples covering duration_s (the nearest whole number, as s_to_sample)."""
    return nearest_index(_float(duration_s) * sample_rate)


# --- SMPTE timecode -------------------------------------------------------------------------

def nominal_fps(fps: Fraction) -> int:
    """Timecode counting base: 24 for 23.976, 30 for 29.97, 60 for 59.94."""
    return round(fps)


def is_drop_frame_rate(fps: Fraction) -> bool:
    """Drop-frame timecode exists for 29.97 and 59.94 only."""
    return fps.denominator == 1001 and nominal_fps(fps) in (30, 60)


def frame_to_smpte(frame: int, fps: Fraction, *, drop_frame: bool | None = None,
                   start_frame: int = 0) -> str:
    """SMPTE "HH:MM:SS:FF" (";FF" for drop-frame) for a frame number.

    drop_frame defaults to True for 29.97/59.94. start_frame offsets the programme start
    (e.g. the frame count of 01:00:00:00).
    """
    if drop_frame is None:
        drop_frame = is_drop_frame_rate(fps)
    if drop_frame and not is_drop_frame_rate(fps):
        raise InputError(f"drop-frame timecode needs 29.97 or 59.94 fps, not {fps_str(fps)}")
    base = nominal_fps(fps)
    n = frame + start_frame
    if n < 0:
        raise InputError(f"frame {n} is before timecode 00:00:00:00")
    if drop_frame:
        drop = 2 * base // 30  # 2 frame numbers at 29.97, 4 at 59.94
        per_10min = base * 600 - drop * 9
        per_min = base * 60 - drop
        tens, rem = divmod(n, per_10min)
        n += drop * 9 * tens
        if rem >= drop:
            n += drop * ((rem - drop) // per_min)
    ff = n % base
    total_s = n // base
    sep = ";" if drop_frame else ":"
    return f"{total_s // 3600 % 24:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}{sep}{ff:02d}"


_SMPTE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


def smpte_to_frame(tc: str, fps: Fraction, *, drop_frame: bool | None = None,
                   start_frame: int = 0) -> int:
    """Frame number of an SMPTE string; inverse of frame_to_smpte."""
    m = _SMPTE.match(tc.strip())
    if not m:
        raise InputError(f"timecode {tc!r} is not HH:MM:SS:FF")
    hh, mm, ss, sep, ff = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    if drop_frame is None:
        drop_frame = sep in ";," or is_drop_frame_rate(fps)
    base = nominal_fps(fps)
    if hh > 23 or mm > 59 or ss > 59 or ff >= base:
        raise InputError(f"timecode {tc!r} has a field out of range for {fps_str(fps)} fps")
    n = ((hh * 60 + mm) * 60 + ss) * base + ff
    if drop_frame:
        if not is_drop_frame_rate(fps):
            raise InputError(f"drop-frame timecode {tc!r} needs 29.97 or 59.94 fps")
        drop = 2 * base // 30
        if ss == 0 and ff < drop and mm % 10 != 0:
            raise InputError(f"timecode {tc!r} does not exist in drop-frame counting")
        total_min = hh * 60 + mm
        n -= drop * (total_min - total_min // 10)
    return n - start_frame


def picture_frame(text: str, fps: Fraction, *, start_frame: int = 0) -> int:
    """The frame (counted from the cut's first, 0) that someone typed: a timecode, read as
    the picture's own when the cut starts at `start_frame` (01:00:10:00 on a cut starting
    at 01:00:00:00) and as counted from the first frame when it is earlier than that
    (00:00:10:00); or seconds ("12.5", the frame showing then)."""
    text = (text or "").strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return s_to_frame(float(text), fps)
    frame = smpte_to_frame(text, fps)
    return frame - start_frame if start_frame and frame >= start_frame else frame


def s_to_smpte(t_s: float, fps: Fraction, **kwargs) -> str:
    """SMPTE of the frame showing at t_s."""
    return frame_to_smpte(s_to_frame(t_s, fps), fps, **kwargs)


# --- tempo --------------------------------------------------------------------------------

def beat_s(tempo_bpm):
    """Duration of one beat (s) at tempo_bpm (scalar or array)."""
    return 60.0 / _float(tempo_bpm)


def tempo_bpm_for(beats, duration_s):
    """The tempo (BPM) at which `beats` beats last duration_s (scalar or array)."""
    return _float(beats) * 60.0 / duration_s
