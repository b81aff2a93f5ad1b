"""Per-frame picture features from small RGB frames (arrays in, numbers out; no files).

Frames arrive already scaled down by FFmpeg to analysis size (about 128 px wide), as
uint8 arrays shaped (height, width, 3).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HIST_BINS = 4           # per channel: a 4×4×4 joint colour histogram (64 bins)
LAGS = (2, 3, 4)        # frames back compared for flash detection
LAG_WHEN_DIFF = 0.1     # below any cut threshold in shots.CutParams


def luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma 0…1, (h, w) float32."""
    f = rgb.astype(np.float32) * (1 / 255)
    return f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114


def colour_hist(rgb: np.ndarray) -> np.ndarray:
    """Joint coarse RGB histogram, normalised to sum 1 (64,) float32."""
    q = (rgb >> 6).astype(np.int32)  # 256 / 4 = 64 levels per bin
    idx = (q[..., 0] * HIST_BINS + q[..., 1]) * HIST_BINS + q[..., 2]
    h = np.bincount(idx.ravel(), minlength=HIST_BINS ** 3).astype(np.float32)
    return h / h.sum()


@dataclass(frozen=True)
class Signature:
    """What a frame is compared by: luma, colour histogram, and the contrast-normalised
    layout (block-averaged luma, zero mean, unit variance)."""
    y: np.ndarray
    hist: np.ndarray
    layout: np.ndarray


def signature(rgb: np.ndarray, y: np.ndarray | None = None) -> Signature:
    y = luma(rgb) if y is None else y
    h, w = y.shape
    b = y[:h - h % 4, :w - w % 4].reshape(h // 4, 4, w // 4, 4).mean(axis=(1, 3))
    return Signature(y, colour_hist(rgb), (b - b.mean()) / (b.std() + 1e-3))


def frame_diff(a: Signature, b: Signature) -> float:
    """How different two frames look, 0…1, from three views that fail differently:
    colour-histogram distance (a cut between shots of equal brightness but other colours),
    mean luma change, and layout decorrelation (a cut between two dark or two similar-
    palette shots, which the first two barely see; block-averaged, so motion within a shot
    decorrelates it less)."""
    hist = 0.5 * float(np.abs(a.hist - b.hist).sum())
    pix = min(1.0, float(np.abs(a.y - b.y).mean()) / 0.25)
    decorrelation = 1.0 - max(float((a.layout * b.layout).mean()), 0.0)
    return 0.35 * hist + 0.25 * pix + 0.4 * decorrelation


@dataclass
class FrameFeatures:
    """Accumulates per-frame features over a stream of small frames (a streaming processor:
    it keeps only the last few frames)."""
    brightness: list = field(default_factory=list)
    motion: list = field(default_factory=list)
    warmth: list = field(default_factory=list)
    saturation: list = field(default_factory=list)
    diff: list = field(default_factory=list)          # frame k vs k−1
    lag_diff: dict = field(default_factory=lambda: {lag: [] for lag in LAGS})
    _recent: list = field(default_factory=list)       # Signatures of the last max(LAGS) frames

    def add(self, rgb: np.ndarray) -> None:
        f = rgb.astype(np.float32) * (1 / 255)
        y = f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114
        sig = signature(rgb, y)
        mx, mn = f.max(axis=2), f.min(axis=2)
        self.brightness.append(float(y.mean()))
        self.warmth.append(float((f[..., 0] - f[..., 2]).mean()))
        self.saturation.append(float(((mx - mn) / np.maximum(mx, 1e-3)).mean()))
        if self._recent:
            prev = self._recent[-1]
            self.motion.append(float(np.abs(y - prev.y).mean()))
            self.diff.append(frame_diff(sig, prev))
        else:
            self.motion.append(0.0)
            self.diff.append(0.0)
        # Lag differences only matter just after a big change (is it a flash that returns
        # to the old shot?); elsewhere they are left as NaN, which never reads as a return.
        recent_change = max(self.diff[-max(LAGS):]) >= LAG_WHEN_DIFF
        for lag in LAGS:
            if recent_change and len(self._recent) >= lag:
                self.lag_diff[lag].append(frame_diff(sig, self._recent[-lag]))
            else:
                self.lag_diff[lag].append(float("nan"))
        self._recent.append(sig)
        if len(self._recent) > max(LAGS):
            self._recent.pop(0)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {k: np.asarray(getattr(self, k), dtype=np.float32)
               for k in ("brightness", "motion", "warmth", "saturation", "diff")}
        for lag in LAGS:
            out[f"lag{lag}"] = np.asarray(self.lag_diff[lag], dtype=np.float32)
        return out
