"""ITU-R BS.1770-4 loudness and true peak, measured block by block (memory stays flat).

Delivery specs (FILM.md): EBU R128 −23 LUFS/−1 dBTP, ATSC A/85 −24/−2, Netflix −27/−2,
web −16/−1, streaming −14/−1.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from scorer.errors import InputError
from scorer.timebase import n_samples, sample_to_s

SILENCE_DB = -120.0
TP_MARGIN = 64        # context samples each side of an oversampled stretch (the filter spans ±11)
TP_SEGMENT = 4800     # true peak is sought in stretches of 100 ms


@dataclass(frozen=True)
class DeliverySpec:
    name: str
    integrated_lufs: float
    true_peak_dbtp: float
    # Measured over the dialogue only (Netflix: "−27 LKFS ±2 dialogue-gated"): only the
    # gating blocks centred inside a line of dialogue count.
    dialogue_gated: bool = False
    # How far the programme limiter may take a peak down to reach the level. Broadcast
    # specs exist to keep a film's dynamics (and their low targets rarely need much); the
    # loud web and streaming targets cannot be met by a dynamic film mix (a door slam
    # 20 dB over the dialogue) without limiting its peaks harder.
    max_limiting_db: float = 6.0


SPECS = {
    "ebu": DeliverySpec("ebu", -23.0, -1.0),
    "atsc": DeliverySpec("atsc", -24.0, -2.0),
    "netflix": DeliverySpec("netflix", -27.0, -2.0, dialogue_gated=True),
    "web": DeliverySpec("web", -16.0, -1.0, max_limiting_db=12.0),
    "streaming": DeliverySpec("streaming", -14.0, -1.0, max_limiting_db=12.0),
}


def get_spec(name: str) -> DeliverySpec:
    if name not in SPECS:
        raise InputError(f"unknown loudness spec {name!r}; choose one of {sorted(SPECS)}")
    return SPECS[name]


def _k_weighting(sample_rate: int):
    """The two BS.1770 K-weighting biquads (shelf, high-pass) for any rate."""
    # Coefficients derived for arbitrary rates (as in libebur128 / pyloudnorm).
    f0, g, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / sample_rate)
    vh = 10 ** (g / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    b1 = np.array([(vh + vb * k / q + k * k), 2 * (k * k - vh), (vh - vb * k / q + k * k)]) / a0
    a1 = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / sample_rate)
    b2 = np.array([1.0, -2.0, 1.0])
    a2 = np.array([1.0, 2 * (k * k - 1) / (1 + k / q + k * k), (1 - k / q + k * k) / (1 + k / q + k * k)])
    return (b1, a1), (b2, a2)


class KFilter:
    """The BS.1770 K-weighting as a stream: feed (channels, n) blocks, get them weighted
    (float64), the filters' state carried from block to block."""

    def __init__(self, sample_rate: int, channels: int):
        (self._b1, self._a1), (self._b2, self._a2) = _k_weighting(sample_rate)
        self._z1 = np.zeros((channels, 2))
        self._z2 = np.zeros((channels, 2))

    def __call__(self, block: np.ndarray) -> np.ndarray:
        from scipy.signal import lfilter

        y, self._z1 = lfilter(self._b1, self._a1, np.asarray(block, np.float64), axis=1, zi=self._z1)
        y, self._z2 = lfilter(self._b2, self._a2, y, axis=1, zi=self._z2)
        return y


class SpanSquares:
    """Squares of a stream summed over fixed sample spans [start, end), fed (channels, n)
    blocks in order (memory: two numbers per span). Spans may overlap and run past the
    stream's end. The one accumulator behind every per-span level: the K-weighted
    loudness of a line (SpanLoudness) and the delivered files' RMS over it
    (deliver/measure.py SpanLevels)."""

    def __init__(self, spans: Sequence[tuple[int, int]]):
        for a, b in spans:
            if b < a:
                raise ValueError(f"span [{a}, {b}) ends before it starts")
        self.spans = [(int(a), int(b)) for a, b in spans]
        self._order = sorted(range(len(self.spans)), key=lambda i: self.spans[i][0])
        self._sum_sq = np.zeros(len(self.spans))          # over all channels
        self._frames = np.zeros(len(self.spans), dtype=np.int64)
        self._channels = 0
        self._pos = 0

    def feed(self, block: np.ndarray) -> None:
        a, b = self._pos, self._pos + block.shape[1]
        self._channels = block.shape[0]
        for i in self._order:
            lo, hi = self.spans[i]
            if lo >= b:
                break                              # sorted by start: none further overlaps
            lo, hi = max(lo, a), min(hi, b)
            if lo < hi:
                self._sum_sq[i] += float(np.sum(np.square(block[:, lo - a:hi - a], dtype=np.float64)))
                self._frames[i] += hi - lo
        self._pos = b


class SpanLoudness(SpanSquares):
    """K-weighted level (LUFS, ungated: the loudness of the span as a whole) of a stream
    over fixed sample spans, fed K-weighted blocks in order. This is how a line of
    dialogue and the music under it are compared: both weighted as the ear hears
    loudness, over exactly the line's samples."""

    def lufs(self) -> list[float]:
        """Per span; SILENCE_DB where it is silent or the stream never reached it.
        BS.1770: the channels' mean squares summed (L and R weigh 1)."""
        out = []
        for s, n in zip(self._sum_sq, self._frames):
            ms = s / n if n else 0.0
            out.append(-0.691 + 10 * np.log10(ms) if ms > 1e-12 else SILENCE_DB)
        return out


class LoudnessMeter:
    """Feed (channels, n) float blocks with add(); integrated_lufs() and true_peak_dbtp() at
    the end. spans: sample spans whose own K-weighted levels span_lufs() gives as well."""

    def __init__(self, sample_rate: int, channels: int, *, true_peak: bool = True,
                 spans: Sequence[tuple[int, int]] = ()):

        self.sample_rate = sample_rate
        self.channels = channels
        self._k = KFilter(sample_rate, channels)
        self._spans = SpanLoudness(spans)
        self._hop = n_samples(0.1, sample_rate)   # 100 ms sub-blocks; 4 make a 400 ms gate block
        self._pending = np.zeros((channels, 0))
        self._energies: list[float] = []       # mean square summed over channels per 100 ms
        self._peak = 0.0
        self._tp_context = np.zeros((channels, 0), np.float32)   # held-back samples for the oversampler
        self._tp_started = False
        self._measure_tp = true_peak

    def add(self, block: np.ndarray) -> None:
        raw = np.asarray(block)
        if raw.ndim != 2 or raw.shape[0] != self.channels:
            raise ValueError(f"expected ({self.channels}, n) audio, got {raw.shape}")
        if raw.shape[1] == 0:
            return
        y = self._k(raw)
        if self._spans.spans:
            self._spans.feed(y)
        y = np.concatenate([self._pending, y], axis=1)
        n_hops = y.shape[1] // self._hop
        if n_hops:
            sq = (y[:, :n_hops * self._hop] ** 2).reshape(self.channels, n_hops, self._hop)
            self._energies.extend(sq.mean(axis=2).sum(axis=0).tolist())
        self._pending = y[:, n_hops * self._hop:]
        if self._measure_tp:
            self._true_peak(raw.astype(np.float32, copy=False))

    def _true_peak(self, block: np.ndarray | None) -> None:
        """4× oversampled peak (BS.1770 annex 2). The polyphase filter rings at a buffer's
        edges, so each block is measured with TP_MARGIN samples of context on both sides
        (the trailing ones are held back until the next block, or the end).

        Only the stretches that could raise the peak found so far are oversampled: those
        whose sample peak, times the most the filter can add between samples, exceeds it
        (loudest first, so after the first few the rest fall short)."""
        m = TP_MARGIN
        buf = self._tp_context if block is None else np.concatenate([self._tp_context, block], axis=1)
        first = 0 if not self._tp_started else m      # the signal's true start has no context
        last = buf.shape[1] if block is None else buf.shape[1] - m
        if last - first <= 0:
            self._tp_context = buf
            return
        _, bound = tp_filter()
        lo, peaks = segment_peaks(np.abs(buf[:, first:last]).max(axis=0))
        for i in np.argsort(-peaks, kind="stable"):
            if peaks[i] * bound <= self._peak:
                break
            a = first + lo[i]
            b = min(a + TP_SEGMENT, last)
            y = oversample(buf, a, b)
            self._peak = max(self._peak, float(y.max()), -float(y.min()))
        self._tp_started = True
        self._tp_context = buf[:, max(last - m, 0):]

    def integrated_lufs(self, *, only_s: Sequence[tuple[float, float]] | None = None) -> float:
        """Integrated loudness. only_s: (start_s, end_s) spans; when given, only the 400 ms
        gating blocks centred inside one of them are measured (dialogue gating)."""
        e = np.asarray(self._energies)
        if len(e) < 4:
            return SILENCE_DB
        blocks = np.convolve(e, np.ones(4) / 4, mode="valid")   # 400 ms, 75 % overlap
        if only_s is not None:
            centres = sample_to_s((np.arange(len(blocks)) + 2) * self._hop, self.sample_rate)
            inside = np.zeros(len(blocks), dtype=bool)
            for a, b in only_s:
                inside |= (centres >= a) & (centres < b)
            blocks = blocks[inside]
            if not len(blocks):
                return SILENCE_DB
        with np.errstate(divide="ignore"):
            lk = -0.691 + 10 * np.log10(blocks)
        gated = blocks[lk > -70.0]
        if not len(gated):
            return SILENCE_DB
        rel = -0.691 + 10 * np.log10(gated.mean()) - 10.0
        with np.errstate(divide="ignore"):
            final = gated[-0.691 + 10 * np.log10(gated) > rel]
        if not len(final):
            return SILENCE_DB
        return float(-0.691 + 10 * np.log10(final.mean()))

    def span_lufs(self) -> list[float]:
        """The K-weighted level of each span given at construction (SpanLoudness)."""
        return self._spans.lufs()

    def true_peak_dbtp(self) -> float:
        if self._tp_context.shape[1]:
            self._true_peak(None)
            self._tp_context = self._tp_context[:, :0]
        return float(20 * np.log10(self._peak)) if self._peak > 0 else SILENCE_DB


def measure(blocks: Iterable[np.ndarray], *, sample_rate: int, channels: int = 2,
            true_peak: bool = True, only_s: Sequence[tuple[float, float]] | None = None
            ) -> tuple[float, float | None]:
    """(integrated LUFS, true peak dBTP or None) of audio given as (channels, n) blocks.
    The 4× oversampled true peak costs more than the loudness: ask only when needed.
    only_s: measure the loudness over these (start_s, end_s) spans only (dialogue gating;
    the true peak is always the whole signal's)."""
    meter = LoudnessMeter(sample_rate, channels, true_peak=true_peak)
    for block in blocks:
        meter.add(block)
    return meter.integrated_lufs(only_s=only_s), meter.true_peak_dbtp() if true_peak else None


@functools.lru_cache(maxsize=None)
def tp_filter() -> tuple[np.ndarray, float]:
    """The 4× interpolation filter for true peaks (scipy resample_poly's own design, fixed
    here so that its bound is known) and that bound: the most an interpolated sample can
    exceed the largest |sample| within the filter's reach, the largest L1 norm of its
    polyphase branches (≈ 2.24, 7 dB; the common "3 dB" holds for sines, not for every
    signal)."""
    from scipy.signal import firwin

    h = firwin(81, 1 / 4, window=("kaiser", 5.0))
    bound = max(float(np.abs(4 * h[p::4]).sum()) for p in range(4))
    return h.astype(np.float32), bound


def oversample(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """(channels, 4·(hi − lo)) float32: samples [lo, hi) of x (channels, n) 4× oversampled,
    computed with up to TP_MARGIN samples of x's context on each side."""
    from scipy.signal import resample_poly

    h, _ = tp_filter()
    a, b = max(lo - TP_MARGIN, 0), min(hi + TP_MARGIN, x.shape[1])
    y = resample_poly(x[:, a:b].astype(np.float32, copy=False), 4, 1, axis=1, window=h)
    return y[:, 4 * (lo - a):4 * (hi - a)]


def oversampled_peaks(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """(hi − lo,) float32: for each sample n of x in [lo, hi), the largest |value| over
    the channels of the 4× oversampled signal from n up to n + 1."""
    y = np.abs(oversample(x, lo, hi))
    return y.reshape(x.shape[0], hi - lo, 4).max(axis=(0, 2))


def segment_peaks(peak: np.ndarray, size: int = TP_SEGMENT) -> tuple[np.ndarray, np.ndarray]:
    """(starts, maxima) of consecutive stretches of `size` samples of a (n,) array."""
    starts = np.arange(0, len(peak), size)
    return starts, np.maximum.reduceat(peak, starts) if len(peak) else np.zeros(0)


def db_to_gain(db: float) -> float:
    return float(10 ** (db / 20))
