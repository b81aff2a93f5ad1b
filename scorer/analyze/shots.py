"""Hard cuts (and flashes, which are not cuts) from per-frame difference curves.

Arrays in, frame indices out; nothing here opens a file. Dissolves and fades are a
separate detector still to come (`transition_in` already has room for them).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from scorer.timebase import frame_to_s
from scorer.types import Shot


@dataclass(frozen=True)
class CutParams:
    min_score: float = 0.18      # absolute difference a cut must reach (0…1); keep above
                                 # picture.LAG_WHEN_DIFF, or flashes go unrecognised
    ratio: float = 3.0           # …and how far it must stand out from its neighbourhood
    strong_score: float = 0.5    # a change this large (a cut inside fast action) …
    strong_ratio: float = 2.0    # … needs to stand out less
    window: int = 6              # neighbourhood half-width (frames) for the adaptive ratio
    min_shot_s: float = 0.4      # shots shorter than this are merged into a stronger cut
    flash_max_frames: int = 3    # a bright burst this short that returns to the old shot
    flash_return: float = 0.35   # "returns" = difference to the pre-flash frame below this × the cut's


@dataclass(frozen=True)
class Transitions:
    cuts: tuple[int, ...]        # frame numbers where a new shot starts
    flashes: tuple[int, ...]     # first frame of each flash (not a cut)
    score: np.ndarray            # per-frame adaptive cut score (ratio-scaled, for inspection)


def adaptive_score(diff: np.ndarray, window: int) -> np.ndarray:
    """diff[k] divided by the mean of its neighbours (k±window, excluding k±1): high where a
    frame change stands out; fast camera moves raise the neighbours too, so they score low."""
    n = len(diff)
    out = np.zeros(n, dtype=np.float32)
    for k in range(1, n):
        lo, hi = max(k - window, 1), min(k + window + 1, n)
        neighbours = np.concatenate([diff[lo:max(k - 1, lo)], diff[min(k + 2, hi):hi]])
        base = float(neighbours.mean()) if len(neighbours) else 0.0
        out[k] = diff[k] / (base + 0.02)
    return out


def detect(diff: np.ndarray, lags: dict[int, np.ndarray], *, fps: Fraction,
           params: CutParams = CutParams()) -> Transitions:
    """Cut frames from diff (frame k vs k−1) and lag differences (frame k vs k−lag).

    A flash — frames k…k+m−1 unlike k−1 but frame k+m like k−1 again, m ≤ flash_max_frames —
    is reported as a flash, not a cut.
    """
    diff = np.asarray(diff, dtype=np.float32)
    ratio = adaptive_score(diff, params.window)
    candidates = [k for k in range(1, len(diff))
                  if (diff[k] >= params.min_score and ratio[k] >= params.ratio)
                  or (diff[k] >= params.strong_score and ratio[k] >= params.strong_ratio)]
    cuts, flashes = [], []
    skip_until = -1
    for k in candidates:
        if k <= skip_until:
            continue
        flash_len = _flash_length(k, diff, lags, params)
        if flash_len:
            flashes.append(k)
            skip_until = k + flash_len  # the return to the shot is not a cut either
            continue
        cuts.append(k)
    cuts = _enforce_min_length(cuts, diff, int(np.ceil(params.min_shot_s * float(fps))))
    return Transitions(tuple(cuts), tuple(flashes), ratio)


def _flash_length(k: int, diff: np.ndarray, lags: dict[int, np.ndarray], params: CutParams) -> int:
    for m in range(1, params.flash_max_frames + 1):
        lag = m + 1
        j = k + m
        if lag not in lags or j >= len(lags[lag]):
            break
        if lags[lag][j] < params.flash_return * diff[k]:  # NaN (not measured) is never below
            return m
    return 0


def _enforce_min_length(cuts: list[int], diff: np.ndarray, min_frames: int) -> list[int]:
    """Where two cuts are closer than min_frames, keep the stronger."""
    kept: list[int] = []
    for k in cuts:
        if kept and k - kept[-1] < min_frames:
            if diff[k] > diff[kept[-1]]:
                kept[-1] = k
            continue
        kept.append(k)
    return kept


def shots_from_cuts(cuts: tuple[int, ...], *, n_frames: int, fps: Fraction,
                    motion: np.ndarray, brightness: np.ndarray) -> tuple[Shot, ...]:
    """Shots between cuts, frame-snapped, with their mean motion and brightness."""
    bounds = [0, *[c for c in cuts if 0 < c < n_frames], n_frames]
    shots = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:])):
        if b <= a:
            continue
        shots.append(Shot(start_s=frame_to_s(a, fps), end_s=frame_to_s(b, fps), start_frame=a,
                          transition_in="start" if i == 0 else "cut",
                          motion=round(float(motion[a + 1:b].mean()) if b - a > 1 else 0.0, 5),
                          brightness=round(float(brightness[a:b].mean()), 5)))
    return tuple(shots)
