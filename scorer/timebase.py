"""Every time conversion in scorer lives here.

seconds ⇄ frames (exact Fraction rates) ⇄ samples ⇄ SMPTE timecode (incl. drop-frame).
Musical time (beats) lives in `scorer.types.TempoMap`, which uses only these helpers.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

from scorer.errors import InputError

SAMPLE_RATE = 48_000
"""The project audio rate (Hz): every buffer between stages is at this rate."""

_COMMON_RATES = (
    Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
    Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60),
)


def parse_fps(value: str | int | float | Fraction) -> Fraction:
    """A frame rate as an exact Fraction: "24000/1001", "24", 25, Fraction(30000, 1001).

    Floats such as 23.976 or 29.97 are mapped to the NTSC rate they abbreviate; any other
    float must be (close to) an integer rate, else it is refused as ambiguous.
    """
    if isinstance(value, Fraction):
        fps = value
    elif isinstance(value, int):
        fps = Fraction(value)
    elif isinstance(value, float):
        fps = _rate_from_float(value)
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


# --- seconds ⇄ frames ---------------------------------------------------------------------

def frame_to_s(frame: int, fps: Fraction) -> float:
    """Start time (s) of frame number `frame` (0 = the cut's first frame)."""
    return float(Fraction(frame) / fps)


def s_to_frame(t_s: float, fps: Fraction) -> int:
    """The frame showing at time t_s (floor, with a tolerance for float round-off)."""
    return math.floor(t_s * fps.numerator / fps.denominator + 1e-6)


def nearest_frame(t_s: float, fps: Fraction) -> int:
    """The frame whose start is nearest to t_s."""
    return round(t_s * fps.numerator / fps.denominator)


def snap_to_frame(t_s: float, fps: Fraction) -> float:
    """t_s moved to the start of its nearest frame."""
    return frame_to_s(nearest_frame(t_s, fps), fps)


# --- seconds ⇄ samples --------------------------------------------------------------------

def s_to_sample(t_s: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Index of the sample nearest to t_s."""
    return round(t_s * sample_rate)


def sample_to_s(sample: int, sample_rate: int = SAMPLE_RATE) -> float:
    return sample / sample_rate


def n_samples(duration_s: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Number of samples covering duration_s (rounded to the nearest sample)."""
    return round(duration_s * sample_rate)


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


def s_to_smpte(t_s: float, fps: Fraction, **kwargs) -> str:
    """SMPTE of the frame showing at t_s."""
    return frame_to_smpte(s_to_frame(t_s, fps), fps, **kwargs)


# --- tempo --------------------------------------------------------------------------------

def beat_s(tempo_bpm: float) -> float:
    """Duration of one beat (s) at tempo_bpm."""
    return 60.0 / tempo_bpm
