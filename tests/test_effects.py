"""Per-stem effects follow the preset: a high shelf cut takes energy out above 8 kHz, a
compressor evens the level, the chain adds no reverb of its own (the hall is shared:
tests/test_stage.py); the chain is deterministic."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from scorer.music.presets import DEFAULT_FX
from scorer.render.effects import apply_stem_fx
from scorer.timebase import SAMPLE_RATE


def _burst(seconds=3.0, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((2, int(seconds * SAMPLE_RATE)), np.float32)
    x[:, :SAMPLE_RATE // 10] = 0.3 * rng.standard_normal((2, SAMPLE_RATE // 10))
    return x


def _decay_energy(y):
    return float(np.mean(y[:, int(0.6 * SAMPLE_RATE):] ** 2))


def test_a_stems_chain_has_no_room_of_its_own():
    x = _burst()
    y = apply_stem_fx(x, DEFAULT_FX["strings"])
    # After the burst ends nothing rings on: only the filters' own few-ms decay.
    assert _decay_energy(y) < 1e-9 * float(np.mean(y[:, :SAMPLE_RATE // 10] ** 2))


def test_a_high_shelf_cut_lowers_the_top_octaves():
    rng = np.random.default_rng(1)
    x = (0.1 * rng.standard_normal((2, 2 * SAMPLE_RATE))).astype(np.float32)
    flat = DEFAULT_FX["keys"]
    cut = replace(flat, high_shelf_db=-9.0)

    def top(y):
        spec = np.abs(np.fft.rfft(y[0])) ** 2
        f = np.fft.rfftfreq(y.shape[1], 1 / SAMPLE_RATE)
        return spec[f > 10000].sum() / spec[(f > 300) & (f < 3000)].sum()

    assert top(apply_stem_fx(x, cut)) < 0.3 * top(apply_stem_fx(x, flat))


def test_compression_evens_loud_and_soft():
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * 220 * t).astype(np.float32)
    x = np.stack([tone, tone]) * np.where(t < 1.0, 0.9, 0.05).astype(np.float32)
    plain = replace(DEFAULT_FX["brass"], comp_ratio=1.0)
    squeezed = replace(plain, comp_ratio=8.0, comp_threshold_db=-30.0)

    def spread(y):
        loud = np.sqrt(np.mean(y[:, int(0.3 * SAMPLE_RATE):int(0.9 * SAMPLE_RATE)] ** 2))
        soft = np.sqrt(np.mean(y[:, int(1.3 * SAMPLE_RATE):int(1.9 * SAMPLE_RATE)] ** 2))
        return 20 * np.log10(loud / soft)

    assert spread(apply_stem_fx(x, squeezed)) < spread(apply_stem_fx(x, plain)) - 6


def test_the_chain_is_deterministic():
    x = _burst(seed=3)
    fx = DEFAULT_FX["percussion"]
    assert np.array_equal(apply_stem_fx(x, fx), apply_stem_fx(x, fx))
