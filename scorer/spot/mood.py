"""Mood from picture and sound: valence (dark…bright) and arousal (calm…agitated), −1…1."""
from __future__ import annotations

import numpy as np

from scorer.types import Analysis


def _window_mean(t: np.ndarray, v: np.ndarray, start_s: float, end_s: float, default: float) -> float:
    if len(t) == 0:
        return default
    m = (t >= start_s) & (t < end_s)
    return float(v[m].mean()) if m.any() else float(np.interp(start_s, t, v))


def cut_rate_per_min(shot_starts_s: np.ndarray, start_s: float, end_s: float) -> float:
    """Pacing: shots per minute in [start_s, end_s), counting the shot in progress at
    start_s, so a single 1.5 s shot reads as fast cutting and a 10 s one as slow."""
    n = int(((shot_starts_s > start_s + 1e-6) & (shot_starts_s < end_s)).sum()) + 1
    return 60.0 * n / max(end_s - start_s, 1.0)


def features(analysis: Analysis, start_s: float, end_s: float) -> dict[str, float]:
    """Mean picture/sound features of a stretch of the cut."""
    a = analysis
    starts = np.array([s.start_s for s in a.shots])
    return {
        "motion": _window_mean(a.frame_times_s, a.motion, start_s, end_s, 0.0),
        "brightness": _window_mean(a.frame_times_s, a.brightness, start_s, end_s, 0.5),
        "warmth": _window_mean(a.frame_times_s, a.warmth, start_s, end_s, 0.0),
        "saturation": _window_mean(a.frame_times_s, a.saturation, start_s, end_s, 0.3),
        "loudness_db": _window_mean(a.loudness_t_s, a.loudness_db, start_s, end_s, -120.0),
        "loudness_rel": _relative_loudness(a, start_s, end_s),
        "cut_rate_per_min": cut_rate_per_min(starts, start_s, end_s),
    }


def _relative_loudness(a: Analysis, start_s: float, end_s: float) -> float:
    """Loudness of a stretch within the cut's own range, 0 (its quiet passages) … 1 (its
    loud ones): production sound arrives at any level, so absolute dBFS says little."""
    db = a.loudness_db
    if len(db) == 0:
        return 0.0
    sample = db[:: max(1, len(db) // 2000)]
    lo, hi = np.percentile(sample, [10, 95])
    if hi - lo < 3.0:
        return 0.0
    # Power mean: a few loud impacts make a stretch loud, as they do for a listener.
    m = (a.loudness_t_s >= start_s) & (a.loudness_t_s < end_s)
    level = 10 * np.log10(np.mean(10 ** (db[m] / 10))) if m.any() else float(np.interp(start_s, a.loudness_t_s, db))
    return float(np.clip((level - lo) / (hi - lo), 0, 1))


def arousal_of(f: dict[str, float]) -> float:
    """Agitation from motion, cutting rate and loudness, −1…1."""
    # Scales: motion 0.08 is a busy hand-held shot at analysis resolution; 30 cuts/min is
    # action cutting. Pace weighs most: editors cut faster as scenes get more agitated.
    motion = np.clip(f["motion"] / 0.08, 0, 1)
    pace = np.clip(f["cut_rate_per_min"] / 30.0, 0, 1)
    return float(np.clip(2 * (0.40 * motion + 0.45 * pace + 0.15 * f["loudness_rel"]) - 1, -1, 1))


def valence_of(f: dict[str, float]) -> float:
    """Brightness of mood from light, colour warmth and saturation, −1…1."""
    light = np.clip((f["brightness"] - 0.15) / 0.6, 0, 1)
    warm = np.clip(0.5 + f["warmth"], 0, 1)
    sat = np.clip(f["saturation"] / 0.5, 0, 1)
    return float(np.clip(2 * (0.55 * light + 0.30 * warm + 0.15 * sat) - 1, -1, 1))


def intensity_curve(analysis: Analysis, start_s: float, end_s: float, *,
                    step_s: float = 1.0) -> tuple[tuple[float, float], ...]:
    """(t_s, 0…1) points from start_s to end_s: local motion, pace and loudness."""
    n = max(int(np.ceil((end_s - start_s) / step_s)), 1)
    times = np.linspace(start_s, end_s, n + 1)
    vals = []
    for t in times:
        lo, hi = max(t - 2.0, start_s), min(t + 2.0, end_s)
        if hi - lo < 0.5:
            lo, hi = max(start_s, t - 1.0), min(end_s, t + 1.0)
        vals.append((arousal_of(features(analysis, lo, hi)) + 1) / 2)
    # Smooth so the music swells rather than jumps.
    smooth = np.convolve(np.pad(vals, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    return tuple((round(float(t), 6), round(float(np.clip(v, 0, 1)), 4)) for t, v in zip(times, smooth))
