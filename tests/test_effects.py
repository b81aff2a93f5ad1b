"""Per-stem effects follow the preset: a high shelf cut takes energy out above 8 kHz, a
compressor evens the level, the chain adds no reverb of its own (the hall is shared:
tests/test_stage.py); the chain is deterministic."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

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


def test_the_filters_have_their_textbook_responses():
    from scipy.signal import sosfreqz

    from scorer.render.effects import highpass_1st, peak, shelf

    def db(section, hz):
        _, h = sosfreqz(section[None, :], worN=[hz], fs=SAMPLE_RATE)
        return float(20 * np.log10(abs(h[0])))

    hp = highpass_1st(100.0, SAMPLE_RATE)
    assert db(hp, 100.0) == pytest.approx(-3.01, abs=0.02)
    assert db(hp, 25.0) == pytest.approx(-12.3, abs=0.1)              # 6 dB/octave
    assert db(hp, 5000.0) == pytest.approx(0.0, abs=0.01)
    low, high = shelf("low", 200.0, -6.0, SAMPLE_RATE), shelf("high", 8000.0, 4.0, SAMPLE_RATE)
    assert db(low, 200.0) == pytest.approx(-3.0, abs=0.02) and db(low, 20.0) == pytest.approx(-6.0, abs=0.1)
    assert db(low, 4000.0) == pytest.approx(0.0, abs=0.02)
    assert db(high, 8000.0) == pytest.approx(2.0, abs=0.02) and db(high, 22000.0) == pytest.approx(4.0, abs=0.2)
    bell = peak(3000.0, 5.0, 0.9, SAMPLE_RATE)
    assert db(bell, 3000.0) == pytest.approx(5.0, abs=0.01) and abs(db(bell, 300.0)) < 0.2


def test_a_clip_streamed_through_the_chain_in_blocks_is_the_clip_processed_whole():
    from scorer.render.effects import StemChain

    rng = np.random.default_rng(5)
    x = (0.2 * rng.standard_normal((2, 3 * SAMPLE_RATE))).astype(np.float32)
    fx = DEFAULT_FX["brass"]                                   # EQ and compressor
    chain = StemChain(fx)
    streamed = np.concatenate([chain(x[:, a:a + 20000]) for a in range(0, x.shape[1], 20000)], axis=1)
    assert np.allclose(streamed, apply_stem_fx(x, fx), atol=1e-6)
