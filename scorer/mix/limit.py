"""A look-ahead peak limiter for the programme (the cut's own sound + the music).

Only the preview's programme passes through it: the music stems keep one gain, so they
still sum exactly to mix.wav.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from scorer.mix.loudness import TP_SEGMENT, oversampled_peaks, segment_peaks, tp_filter
from scorer.timebase import SAMPLE_RATE, n_samples

# Peaks are found 4× oversampled (true peaks, as BS.1770 measures them); the small margin
# covers what the smooth gain change itself adds between samples.
TRUE_PEAK_MARGIN_DB = 0.2


def limiter_gain(x: np.ndarray, *, ceiling: float, lookahead: int, hold: int) -> np.ndarray:
    """Gain (n,) ≤ 1 so that |x|·gain ≤ ceiling at every sample.

    The gain is the minimum of the needed gain over [n − hold, n + lookahead], averaged
    over the `lookahead` samples before n: it has come down smoothly before each peak
    arrives, holds, then recovers over `lookahead` samples.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    n = x.shape[1]
    peak = np.abs(x).max(axis=0)
    # Between samples the signal can rise at most `bound` times over the samples around
    # (the interpolation filter's own bound): only stretches that could pass the ceiling
    # are oversampled; elsewhere the gain is 1 either way.
    _, bound = tp_filter()
    starts, maxima = segment_peaks(peak)
    for i in np.flatnonzero(maxima * bound > ceiling):
        lo, hi = starts[i], min(starts[i] + TP_SEGMENT, n)
        peak[lo:hi] = np.maximum(peak[lo:hi], oversampled_peaks(x, lo, hi))
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    if need.min() >= 1.0:
        return np.ones(n, dtype=np.float32)
    size = hold + lookahead + 1
    # minimum over [n - hold, n + lookahead]: a window of `size`, centred `(lookahead-hold)/2` ahead
    origin = (hold - lookahead) // 2
    held = minimum_filter1d(need, size=size, origin=origin, mode="nearest")
    # mean over [n - lookahead, n]
    return uniform_filter1d(held, size=lookahead + 1, origin=lookahead // 2, mode="nearest")


def limit(blocks: Iterable[np.ndarray], *, ceiling_dbtp: float, sample_rate: int = SAMPLE_RATE,
          lookahead_s: float = 0.005, hold_s: float = 0.05) -> Iterator[np.ndarray]:
    """Limit a stream of (channels, n) blocks to ceiling_dbtp; yields blocks of the same
    sizes, one block behind (the look-ahead needs the start of the next block)."""
    ceiling = 10 ** ((ceiling_dbtp - TRUE_PEAK_MARGIN_DB) / 20)
    look, hold = n_samples(lookahead_s, sample_rate), n_samples(hold_s, sample_rate)
    ctx = 2 * (look + hold)
    prev_tail: np.ndarray | None = None
    current: np.ndarray | None = None
    for nxt in list_then_none(blocks):
        if current is not None:
            parts = [p for p in (prev_tail, current, None if nxt is None else nxt[:, :ctx]) if p is not None]
            buf = np.concatenate(parts, axis=1)
            left = 0 if prev_tail is None else prev_tail.shape[1]
            gain = limiter_gain(buf, ceiling=ceiling, lookahead=look, hold=hold)
            yield (current * gain[left:left + current.shape[1]]).astype(np.float32)
            prev_tail = current[:, -ctx:]
        current = nxt


def list_then_none(blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray | None]:
    """The blocks, then one None (so a loop can see 'the next block' of the last one)."""
    yield from blocks
    yield None
