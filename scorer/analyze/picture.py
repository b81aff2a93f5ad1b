"""Per-frame picture features from small RGB frames (arrays in, numbers out; no files).

Frames arrive already scaled down by FFmpeg to analysis size (about 128×72) as uint8
arrays shaped (n, height, width, 3); everything here is vectorised over such a batch, so
the per-frame cost stays far below the cost of decoding the frame.

Two kinds of output:
- looks of each frame: brightness, warmth, saturation (one number per frame);
- change between frames k and k−lag (lag 1…MAX_LAG) seen four ways (CHANGE_VIEWS), which
  the cut detector in `scorer.analyze.shots` combines. Lag 1 of the "luma" view is motion.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorer.errors import InputError

MAX_LAG = 4
LONG_LAG = 16
"""Frames back of the long comparison: across a dissolve of up to about this length the
pictures at either end differ like a cut, though no two neighbouring frames do."""
"""Frames back that change is measured against: a flash of up to MAX_LAG − 1 frames can be
recognised by the frame after it looking like the frame before it."""

CHANGE_VIEWS = ("colour", "luma", "layout", "edges")
"""How two frames are compared, each 0…1 (0 = same):
colour: half the L1 distance of coarse joint RGB histograms (a cut between two shots of equal
        brightness but other colours; blind to motion);
luma:   mean absolute luma difference per pixel (the plain pixel difference; also motion);
layout: 1 − correlation of block-mean luma (where light and dark sit; blind to exposure);
edges:  1 − correlation of block-mean gradient energy (where detail sits; sees a cut between
        two shots with the same palette and tones, e.g. into a greyscale photo)."""

HIST_BITS = 2            # top bits kept per channel: 4 levels → a 64-bin joint histogram
BLOCK_PX = 8             # block size (analysis pixels) for the layout and edge maps

# Rec. 709 luma weights: cuts are HD. Brightness is a mood measure, not colorimetry.
_LUMA_WEIGHTS = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
# Contrast below which a block map counts as flat: ~1 % RMS per block. Two flat frames
# (black → black) correlate fully; flat against textured is uncorrelated.
_FLAT_ENERGY_PER_BLOCK = 1e-4
_BLACK = 16 / 255        # pixels darker than this carry no usable hue


@dataclass(frozen=True)
class Signatures:
    """What frames are compared by, for n frames.

    y: (n, h, w) float32 luma 0…1.  hist: (n, 64) float32 joint colour histograms, rows sum to 1.
    layout, edges: (n, blocks) float32 block maps with their per-frame mean removed.
    """
    y: np.ndarray
    hist: np.ndarray
    layout: np.ndarray
    edges: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: slice) -> "Signatures":
        return Signatures(self.y[index], self.hist[index], self.layout[index], self.edges[index])

    @staticmethod
    def concat(parts: list["Signatures"]) -> "Signatures":
        return Signatures(*(np.concatenate([getattr(p, f) for p in parts])
                            for f in ("y", "hist", "layout", "edges")))


def _check_frames(rgb: np.ndarray) -> None:
    if rgb.dtype != np.uint8 or rgb.ndim != 4 or rgb.shape[-1] != 3:
        raise InputError(f"frames must be uint8 (n, height, width, 3), got {rgb.dtype} {rgb.shape}")
    if rgb.shape[1] < BLOCK_PX or rgb.shape[2] < BLOCK_PX:
        raise InputError(f"frames of {rgb.shape[2]}x{rgb.shape[1]} are smaller than one "
                         f"{BLOCK_PX}x{BLOCK_PX} block")


def luma(rgb: np.ndarray) -> np.ndarray:
    """Luma 0…1 of uint8 RGB frames (…, h, w, 3) → (…, h, w) float32."""
    return rgb.astype(np.float32) @ (_LUMA_WEIGHTS / 255)


def looks(rgb: np.ndarray, y: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Brightness 0…1, contrast 0…0.5 (standard deviation of luma), warmth −1…1 (mean R − B)
    and saturation 0…1 (mean HSV saturation, near-black pixels count as grey) of each
    frame: (n, h, w, 3) uint8 → four (n,) float32."""
    _check_frames(rgb)
    y = luma(rgb) if y is None else y
    n = len(rgb)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    # Elementwise over the three planes: numpy's reductions over a length-3 axis are slow.
    hi = np.maximum(np.maximum(r, g), b)
    lo = np.minimum(np.minimum(r, g), b)
    hi_f = hi.astype(np.float32)
    sat = np.where(hi > _BLACK * 255, (hi_f - lo) / np.maximum(hi_f, 1), 0)
    warm = r.astype(np.float32) - b
    return {"brightness": y.reshape(n, -1).mean(axis=1, dtype=np.float32),
            "contrast": y.reshape(n, -1).std(axis=1, dtype=np.float32),
            "warmth": (warm.reshape(n, -1).mean(axis=1) / 255).astype(np.float32),
            "saturation": sat.reshape(n, -1).mean(axis=1).astype(np.float32)}


def _block_mean(x: np.ndarray) -> np.ndarray:
    """(n, h, w) → (n, h // BLOCK_PX * w // BLOCK_PX), partial blocks at the edges dropped."""
    n, h, w = x.shape
    bh, bw = h // BLOCK_PX, w // BLOCK_PX
    x = x[:, :bh * BLOCK_PX, :bw * BLOCK_PX].reshape(n, bh, BLOCK_PX, bw, BLOCK_PX)
    return x.mean(axis=(2, 4)).reshape(n, bh * bw)


def signatures(rgb: np.ndarray, y: np.ndarray | None = None) -> Signatures:
    """Signatures of a batch of uint8 RGB frames (n, h, w, 3)."""
    _check_frames(rgb)
    y = luma(rgb) if y is None else y
    n = len(rgb)
    # Bin index rrggbb from the top bits of each channel, computed in uint8.
    drop = 8 - HIST_BITS
    idx = (((rgb[..., 0] >> drop) << (2 * HIST_BITS)) | ((rgb[..., 1] >> drop) << HIST_BITS)
           | (rgb[..., 2] >> drop))
    bins = 1 << (3 * HIST_BITS)
    idx = idx.reshape(n, -1) + (np.arange(n, dtype=np.int32) * bins)[:, None]
    hist = np.bincount(idx.ravel(), minlength=n * bins).reshape(n, bins).astype(np.float32)
    hist /= y.shape[1] * y.shape[2]
    layout = _block_mean(y)
    grad = np.zeros_like(y)
    grad[:, :, 1:] = np.abs(np.diff(y, axis=2))
    grad[:, 1:, :] += np.abs(np.diff(y, axis=1))
    edges = _block_mean(grad)
    layout -= layout.mean(axis=1, keepdims=True)
    edges -= edges.mean(axis=1, keepdims=True)
    return Signatures(y, hist, layout, edges)


def _decorrelation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """1 − max(correlation, 0) of zero-mean block maps (n, blocks) → (n,); flat maps are
    regularised so that flat vs flat is 0 and flat vs textured is ≈ 1."""
    eps = _FLAT_ENERGY_PER_BLOCK * a.shape[1]
    num = np.einsum("ij,ij->i", a, b) + eps
    den = np.sqrt((np.einsum("ij,ij->i", a, a) + eps) * (np.einsum("ij,ij->i", b, b) + eps))
    return 1.0 - np.clip(num / den, 0.0, 1.0)


def change(a: Signatures, b: Signatures) -> np.ndarray:
    """How frame a[i] differs from frame b[i], seen the CHANGE_VIEWS ways: (n, 4) float32 0…1."""
    out = np.empty((len(a), len(CHANGE_VIEWS)), dtype=np.float32)
    out[:, 0] = 0.5 * np.abs(a.hist - b.hist).sum(axis=1)
    out[:, 1] = np.abs(a.y - b.y).reshape(len(a), -1).mean(axis=1)
    out[:, 2] = _decorrelation(a.layout, b.layout)
    out[:, 3] = _decorrelation(a.edges, b.edges)
    return out


SHIFT_PX = 2             # largest jolt (analysis pixels, ~20 px in HD) a shift can explain
_RESIDUAL_FROM = 0.02    # below this mean luma change a frame is not worth the search


def shift_residual(a_y: np.ndarray, b_y: np.ndarray) -> np.ndarray:
    """How much of the change from b to a a small whole-picture shift cannot explain:
    (n,) float32 0…1, the best shifted luma difference (within ±SHIFT_PX) over the
    unshifted one. ~0 for a camera bump or jolt, ~1 for a new picture."""
    m = SHIFT_PX
    h, w = a_y.shape[1:]
    core = a_y[:, m:h - m, m:w - m]
    plain = np.abs(core - b_y[:, m:h - m, m:w - m]).mean(axis=(1, 2))
    best = plain.copy()
    for dy in range(-m, m + 1):
        for dx in range(-m, m + 1):
            if dy or dx:
                shifted = b_y[:, m + dy:h - m + dy, m + dx:w - m + dx]
                best = np.minimum(best, np.abs(core - shifted).mean(axis=(1, 2)))
    return (best / np.maximum(plain, 1e-6)).astype(np.float32)


class PictureFeatures:
    """Streaming per-frame features: feed batches of small frames in order with add(), get
    the arrays with arrays(). Keeps only the last LONG_LAG frames' signatures between batches.
    """

    def __init__(self) -> None:
        self._looks: list[dict[str, np.ndarray]] = []
        self._change: list[np.ndarray] = []
        self._residual: list[np.ndarray] = []
        self._long: list[np.ndarray] = []
        self._tail: Signatures | None = None
        self.n_frames = 0

    def add(self, rgb: np.ndarray) -> None:
        """Add a batch of consecutive frames, uint8 (n, h, w, 3)."""
        if len(rgb) == 0:
            return
        y = luma(rgb)
        self._looks.append(looks(rgb, y))
        sig = signatures(rgb, y)
        ctx = sig if self._tail is None else Signatures.concat([self._tail, sig])
        offset = len(ctx) - len(sig)           # index of this batch's first frame in ctx
        n = len(sig)
        ch = np.full((n, MAX_LAG, len(CHANGE_VIEWS)), np.nan, dtype=np.float32)
        for lag in range(1, MAX_LAG + 1):
            first = max(lag - offset, 0)       # frames with a frame `lag` back in ctx
            if first < n:
                ch[first:, lag - 1] = change(ctx[offset + first:], ctx[offset + first - lag:len(ctx) - lag])
        self._change.append(ch)
        long = np.full((n, len(CHANGE_VIEWS)), np.nan, dtype=np.float32)
        first = max(LONG_LAG - offset, 0)
        if first < n:
            long[first:] = change(ctx[offset + first:], ctx[offset + first - LONG_LAG:len(ctx) - LONG_LAG])
        self._long.append(long)
        # Shift search only where the picture changed noticeably (cuts, jolts: a few frames).
        res = np.ones(n, dtype=np.float32)
        lag1 = np.nan_to_num(ch[:, 0, CHANGE_VIEWS.index("luma")])
        idx = np.flatnonzero(lag1 >= _RESIDUAL_FROM)
        idx = idx[idx + offset >= 1]
        if len(idx):
            res[idx] = shift_residual(ctx.y[offset + idx], ctx.y[offset + idx - 1])
        self._residual.append(res)
        self._tail = ctx[-max(MAX_LAG, LONG_LAG):]
        self.n_frames += n

    def arrays(self) -> dict[str, np.ndarray]:
        """brightness, warmth, saturation, motion: (n,) float32; change: (n, MAX_LAG, 4)
        float32 where change[k, lag − 1] compares frame k with frame k − lag (NaN before the
        first frame). motion[k] is the luma view at lag 1 (0 for frame 0). residual: (n,)
        float32, shift_residual() of frame k against k − 1 (1 where not searched).
        long_change: (n, 4) float32, frame k against k − LONG_LAG (NaN before that)."""
        if not self._looks:
            empty = np.zeros(0, dtype=np.float32)
            return {"brightness": empty, "contrast": empty, "warmth": empty, "saturation": empty, "motion": empty,
                    "residual": empty, "long_change": np.zeros((0, len(CHANGE_VIEWS)), np.float32),
                    "change": np.zeros((0, MAX_LAG, len(CHANGE_VIEWS)), dtype=np.float32)}
        out = {k: np.concatenate([d[k] for d in self._looks]) for k in self._looks[0]}
        out["change"] = np.concatenate(self._change)
        out["residual"] = np.concatenate(self._residual)
        out["long_change"] = np.concatenate(self._long)
        out["motion"] = np.nan_to_num(out["change"][:, 0, CHANGE_VIEWS.index("luma")])
        return out
