"""Measuring what is delivered while it streams past, so a feature is never held in memory:
RMS levels over spans of samples (the lines of dialogue) and short mono excerpts around
points (the hits, for the onset detector).

The signals come through Mix's public streams only (music_blocks, programme_blocks):
whatever the mixer does inside, the report measures what the files and the preview carry.
"""
from __future__ import annotations

import collections
import itertools
import math
from typing import Iterable, Iterator, Sequence

import numpy as np

from scorer.mix.loudness import KFilter, SpanLoudness, SpanSquares
from scorer.timebase import SAMPLE_RATE, n_samples, s_to_sample, sample_to_s

BLOCK_SAMPLES = n_samples(10.0)


def rechunk(blocks: Iterable[np.ndarray], n: int) -> Iterator[np.ndarray]:
    """The same samples as (channels, n) blocks (the last one shorter), whatever size the
    incoming blocks have: two streams rechunked alike can be zipped sample for sample."""
    if n < 1:
        raise ValueError(f"block size {n} must be at least 1")
    pending: list[np.ndarray] = []
    have = 0
    for block in blocks:
        pending.append(block)
        have += block.shape[1]
        if have >= n:
            buf = np.concatenate(pending, axis=1)
            cut = have - have % n
            for a in range(0, cut, n):
                yield buf[:, a:a + n]
            pending, have = ([buf[:, cut:]], have - cut) if have > cut else ([], 0)
    if have:
        yield np.concatenate(pending, axis=1)


def fork(blocks: Iterable[np.ndarray], n: int = 2) -> list[Iterator[np.ndarray]]:
    """n iterators over the same blocks, each block held only until every one has read it
    (itertools.tee keeps values in links of 57 and frees a link only when every iterator
    has left it: 57 blocks of a feature's audio, hundreds of MB)."""
    source = iter(blocks)
    queues = [collections.deque() for _ in range(n)]

    def reader(q: collections.deque) -> Iterator[np.ndarray]:
        while True:
            if not q:
                try:
                    block = next(source)
                except StopIteration:
                    return
                for other in queues:
                    other.append(block)
            yield q.popleft()

    return [reader(q) for q in queues]


class SpanLevels(SpanSquares):
    """RMS level of a stream over fixed spans [start, end) of samples, fed block by block
    (memory: two numbers per span). Spans may overlap and run past the stream's end."""

    def rms_dbfs(self) -> list[float | None]:
        """Per span: 10·log10 of the mean square over all its samples and channels (a
        full-scale square wave reads 0 dB, a full-scale sine −3 dB); None where the span
        is silent or outside the stream."""
        out: list[float | None] = []
        for s, frames in zip(self._sum_sq, self._frames):
            n = frames * self._channels
            ms = s / n if n else 0.0
            out.append(round(10 * math.log10(ms), 2) if ms > 1e-18 else None)
        return out


class Excerpts:
    """Mono copies (the channels' mean) of a stream over fixed windows [start, start + n),
    gathered as it is fed block by block; memory is the windows' total length."""

    def __init__(self, windows: Sequence[tuple[int, int]]):
        self.windows = list(windows)
        self._data = [np.zeros(max(n, 0), dtype=np.float32) for _, n in windows]
        self._order = sorted(range(len(windows)), key=lambda i: windows[i][0])
        self._pos = 0

    def feed(self, block: np.ndarray) -> None:
        a, b = self._pos, self._pos + block.shape[1]
        mono = None
        for i in self._order:
            start, n = self.windows[i]
            if start >= b:
                break
            lo, hi = max(start, a), min(start + n, b)
            if lo < hi:
                if mono is None:
                    mono = block.mean(axis=0, dtype=np.float32)
                self._data[i][lo - start:hi - start] = mono[lo - a:hi - a]
        self._pos = b

    def __getitem__(self, i: int) -> np.ndarray:
        """(1, n) float32: window i (zeros where the stream did not reach)."""
        return self._data[i][None, :]


class Meter:
    """Levels of the music, the programme and the cut's own sound over spans, and music
    excerpts around points, taken from the music and programme streams in one pass.

    The cut's own sound is measured as it plays in the preview: programme − music (they
    differ only where the programme's limiter acts, and by its small gain there).
    """

    def __init__(self, *, spans: Sequence[tuple[int, int]], windows: Sequence[tuple[int, int]],
                 block: int = BLOCK_SAMPLES):
        self.music = SpanLevels(spans)
        self.programme = SpanLevels(spans)
        self.production = SpanLevels(spans)
        # K-weighted, as the mix's rule for the music under dialogue measures (mix/duck.py)
        self.music_k, self.production_k = SpanLoudness(spans), SpanLoudness(spans)
        self._k_music, self._k_production = KFilter(SAMPLE_RATE, 2), KFilter(SAMPLE_RATE, 2)
        self.excerpts = Excerpts(windows)
        self.block = block
        self.done = False

    def passing(self, music: Iterable[np.ndarray], programme: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Yield the programme block by block, measuring it and the music on the way.
        Results are ready when the stream has been read to its end."""
        n_music = n_prog = 0
        for m, p in itertools.zip_longest(rechunk(music, self.block), rechunk(programme, self.block)):
            if m is None or p is None:
                raise ValueError(f"the music and the programme streams differ in length "
                                 f"(music {n_music}+, programme {n_prog}+ samples)")
            n_music += m.shape[1]
            n_prog += p.shape[1]
            self.music.feed(m)
            self.programme.feed(p)
            self.production.feed(p - m)
            if self.music_k.spans:
                self.music_k.feed(self._k_music(m))
                self.production_k.feed(self._k_production(p - m))
            self.excerpts.feed(m)
            yield p
        self.done = True

    def finish(self, stream: Iterator[np.ndarray]) -> None:
        """Read what a consumer left of `stream` (e.g. no preview was written)."""
        for _ in stream:
            pass
        if not self.done:
            raise RuntimeError("the measured stream was not read to its end")


def accent_db(samples: np.ndarray, sample_rate: int, t_s: float, *, before_s: float = 0.5,
              after_s: float = 0.15) -> float:
    """How much a hit stands out: 10·log10 of the mean square over [t_s, t_s + after_s)
    over that in the half second before, [t_s − before_s, t_s). samples: (channels, n)
    or (n,); channels are averaged into one mean square. Windows are cut to the signal;
    a silent window before the hit reads +inf (a hit out of silence), a silent hit −inf,
    both silent nan — said, not hidden."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"samples must be (channels, n) or (n,), got shape {x.shape}")
    if before_s <= 0 or after_s <= 0:
        raise ValueError(f"windows must be positive (before_s={before_s}, after_s={after_s})")
    n = x.shape[1]
    at = s_to_sample(t_s, sample_rate)
    lo, hi = max(0, at - n_samples(before_s, sample_rate)), min(n, at + n_samples(after_s, sample_rate))
    if not 0 < at < n:
        raise ValueError(f"t_s = {t_s} s is not inside the signal (0 … {sample_to_s(n, sample_rate):.3f} s)")
    before = float(np.mean(np.square(x[:, lo:at])))
    after = float(np.mean(np.square(x[:, at:hi])))
    if before == 0.0 and after == 0.0:
        return float("nan")
    if before == 0.0:
        return float("inf")
    if after == 0.0:
        return float("-inf")
    return 10.0 * math.log10(after / before)
