"""Laying clips onto the full-length timeline, block by block (memory follows the block)."""
from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import numpy as np

from scorer.timebase import SAMPLE_RATE
from scorer.types import Clip

BLOCK_SAMPLES = SAMPLE_RATE * 10


def timeline_blocks(clips: Sequence[Clip], *, n_total: int, channels: int = 2,
                    block: int = BLOCK_SAMPLES) -> Iterator[np.ndarray]:
    """Yield consecutive (channels, ≤block) float32 blocks of the sum of `clips` over
    samples [0, n_total). Clip audio outside [0, n_total) is cut off."""
    clips = sorted(clips, key=lambda c: c.start_sample)
    for start in range(0, n_total, block):
        yield window(clips, start=start, n=min(block, n_total - start), channels=channels)


def window(clips: Sequence[Clip], *, start: int, n: int, channels: int = 2) -> np.ndarray:
    """(channels, n) float32: the sum of `clips` over timeline samples [start, start + n)."""
    end = start + n
    out = np.zeros((channels, n), dtype=np.float32)
    for clip in clips:
        lo, hi = max(start, clip.start_sample), min(end, clip.end_sample)
        if lo < hi:
            out[:, lo - start:hi - start] += clip.samples[:, lo - clip.start_sample:hi - clip.start_sample]
    return out


def sum_blocks(streams: Iterable[Iterator[np.ndarray]]) -> Iterator[np.ndarray]:
    """Block-wise sum of several equally-blocked streams."""
    for blocks in zip(*streams):
        yield np.sum(blocks, axis=0, dtype=np.float32)


def fade_tail(samples: np.ndarray, *, tail_start: int, tail_end: int | None = None) -> np.ndarray:
    """Equal-power fade to silence from sample tail_start to tail_end (default: the end of
    the clip — the cue's tail); silence after tail_end."""
    out = samples.copy()
    end = out.shape[1] if tail_end is None else min(max(tail_end, tail_start), out.shape[1])
    n = end - tail_start
    if n > 0:
        out[:, tail_start:end] *= np.cos(np.linspace(0, np.pi / 2, n, dtype=np.float32))
    out[:, max(end, tail_start, 0):] = 0.0
    return out
