"""Per-stem effects: the tone of each group, set by the preset.

Each stem group goes through its preset's chain (presets' [fx.<group>], defaults in
music/presets.py DEFAULT_FX): high-pass (rumble below the instrument's range costs
headroom and muddies dialogue), EQ (low shelf at 200 Hz, presence bell at 3 kHz, high
shelf at 8 kHz), the score's tilt, and compressor. There is no reverb here: the score
plays in one hall (render/stage.py), which every group reaches through its send.

The filters are the standard ones (a first-order high-pass, 6 dB/octave, −3 dB at its
cutoff; the Audio EQ Cookbook's shelves at Q 1/√2 and its peaking bell), run as one
cascade of second-order sections (scipy's sosfilt, float64); the compressor is
pedalboard's. As the six filters were, one by one in pedalboard: the same responses,
at a third of the time (a stem's chain was half of a render's). The renderer streams a
clip through its chain block by block, which gives the same samples as processing the
clip whole.
"""
from __future__ import annotations

import numpy as np

from scorer.music.presets import StemFx
from scorer.timebase import SAMPLE_RATE


# The score's own tilt, the same on every stem (so it is a mix-bus EQ that still lets the
# stems sum to the mix). Target: a long-term spectrum falling about 4.5 dB/octave from
# 125 Hz to 8 kHz (PSD per octave band, least squares; pink noise falls 3). The General
# MIDI fonts render dull — bench/bench_sound.py measured −5.6 dB/oct on the demo and on a
# documentary cut (FluidR3), and the issue −6.8 to −7.8 on real footage — which reads as
# small and distant; an orchestral recording made close enough to be heard under
# dialogue is brighter than that but still well under pink. A gentle tilt, not a fixed
# target curve: a low shelf down and a high shelf up, about +1 dB/octave. No bus
# compression: it would flatten the accents the hits need (and a film mix is compressed
# on the dub stage, not in a temp score).
SCORE_TILT = ((250.0, -1.5), (4000.0, 3.5))     # (low shelf Hz, dB), (high shelf Hz, dB)
SHELF_Q = 1 / np.sqrt(2)
PRESENCE_HZ, PRESENCE_Q = 3000.0, 0.9


def _w0(freq_hz: float, sample_rate: int) -> float:
    """A filter's frequency as the angle it turns per sample (radians)."""
    return 2 * np.pi * freq_hz / sample_rate


def highpass_1st(cutoff_hz: float, sample_rate: int) -> np.ndarray:
    """A first-order high-pass (bilinear, pre-warped: −3 dB at cutoff) as one section."""
    k = np.tan(_w0(cutoff_hz, sample_rate) / 2)
    return np.array([1.0, -1.0, 0.0, 1.0, (k - 1) / (k + 1), 0.0]) * np.array([1 / (1 + k)] * 2 + [1.0] * 4)


def shelf(kind: str, freq_hz: float, gain_db: float, sample_rate: int, q: float = SHELF_Q) -> np.ndarray:
    """The Audio EQ Cookbook's low or high shelf (gain_db reached far from freq_hz, half
    of it at freq_hz) as one normalised section."""
    a = 10 ** (gain_db / 40)
    w0 = _w0(freq_hz, sample_rate)
    cos, alpha = np.cos(w0), np.sin(w0) / (2 * q)
    s = 1.0 if kind == "low" else -1.0            # the high shelf mirrors the low one
    b0 = a * ((a + 1) - s * (a - 1) * cos + 2 * np.sqrt(a) * alpha)
    b1 = 2 * s * a * ((a - 1) - s * (a + 1) * cos)
    b2 = a * ((a + 1) - s * (a - 1) * cos - 2 * np.sqrt(a) * alpha)
    a0 = (a + 1) + s * (a - 1) * cos + 2 * np.sqrt(a) * alpha
    a1 = -2 * s * ((a - 1) + s * (a + 1) * cos)
    a2 = (a + 1) + s * (a - 1) * cos - 2 * np.sqrt(a) * alpha
    return np.array([b0, b1, b2, a0, a1, a2]) / a0


def peak(freq_hz: float, gain_db: float, q: float, sample_rate: int) -> np.ndarray:
    """The Audio EQ Cookbook's peaking bell as one normalised section."""
    a = 10 ** (gain_db / 40)
    w0 = _w0(freq_hz, sample_rate)
    alpha = np.sin(w0) / (2 * q)
    a0 = 1 + alpha / a
    return np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a, a0, -2 * np.cos(w0), 1 - alpha / a]) / a0


def stem_eq_sos(fx: StemFx, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(sections, 6) float64: the chain's filters in order — high-pass, the preset's EQ
    (sections at 0 dB left out), the score's tilt."""
    sections = [highpass_1st(fx.highpass_hz, sample_rate)]
    if fx.low_shelf_db:
        sections.append(shelf("low", 200.0, fx.low_shelf_db, sample_rate))
    if fx.presence_db:
        sections.append(peak(PRESENCE_HZ, fx.presence_db, PRESENCE_Q, sample_rate))
    if fx.high_shelf_db:
        sections.append(shelf("high", 8000.0, fx.high_shelf_db, sample_rate))
    (low_hz, low_db), (high_hz, high_db) = SCORE_TILT
    sections.append(shelf("low", low_hz, low_db, sample_rate))
    sections.append(shelf("high", high_hz, high_db, sample_rate))
    return np.stack(sections)


class StemChain:
    """The chain `fx` as a stream: feed consecutive (2, n) float32 blocks, get them
    processed (float32), every filter's and the compressor's state carried — the result
    is the same as processing the clip whole. A fresh one per clip."""

    def __init__(self, fx: StemFx, sample_rate: int = SAMPLE_RATE, channels: int = 2):
        self.sample_rate = sample_rate
        self.sos = stem_eq_sos(fx, sample_rate)
        self.zi = np.zeros((self.sos.shape[0], channels, 2))
        self.compressor = None
        if fx.comp_ratio > 1.0:
            import pedalboard

            self.compressor = pedalboard.Pedalboard([pedalboard.Compressor(
                threshold_db=fx.comp_threshold_db, ratio=fx.comp_ratio, attack_ms=10.0, release_ms=150.0)])

    def __call__(self, block: np.ndarray) -> np.ndarray:
        from scipy.signal import sosfilt

        y, self.zi = sosfilt(self.sos, block, axis=1, zi=self.zi)
        y = y.astype(np.float32)
        if self.compressor is not None:
            y = self.compressor(y, self.sample_rate, reset=False)
        return np.ascontiguousarray(y, dtype=np.float32)


def apply_stem_fx(samples: np.ndarray, fx: StemFx, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(2, n) float32 through the chain `fx`; deterministic (a fresh chain per call)."""
    return StemChain(fx, sample_rate, samples.shape[0])(samples)
