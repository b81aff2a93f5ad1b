import numpy as np
import pytest

from scorer.mix.loudness import LoudnessMeter, measure

SR = 48_000


def blocks(x, n=10_007):
    return [x[:, i:i + n] for i in range(0, x.shape[1], n)]


def test_ebu_reference_sine_reads_minus_23():
    # EBU Tech 3341 case 1: a stereo 1 kHz sine at −23 dBFS per channel reads −23.0 LUFS.
    t = np.arange(SR * 20) / SR
    x = np.tile(10 ** (-23 / 20) * np.sin(2 * np.pi * 997 * t), (2, 1)).astype(np.float32)
    lufs, tp = measure(blocks(x), sample_rate=SR)
    assert lufs == pytest.approx(-23.0, abs=0.1)
    assert tp == pytest.approx(-23.0, abs=0.1)


def test_gating_ignores_silence():
    t = np.arange(SR * 10) / SR
    tone = np.tile(0.1 * np.sin(2 * np.pi * 997 * t), (2, 1))
    with_gap = np.concatenate([tone, np.zeros((2, SR * 10))], axis=1)
    assert measure(blocks(with_gap), sample_rate=SR)[0] == pytest.approx(
        measure(blocks(tone), sample_rate=SR)[0], abs=0.1)


def test_true_peak_sees_intersample_peaks():
    # A sine at fs/4 sampled at 45°: sample peaks are 0.707 of the true peak (−3 dB).
    n = np.arange(SR)
    x = np.tile(np.sin(np.pi / 2 * n + np.pi / 4), (2, 1)) * 0.5
    meter = LoudnessMeter(SR, 2)
    meter.add(x)
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-9.03, abs=0.05)
    assert meter.true_peak_dbtp() == pytest.approx(-6.02, abs=0.3)


def test_limiter_holds_the_ceiling_and_leaves_quiet_audio_alone():
    from scorer.mix.limit import limit

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, SR * 12)) * 0.05).astype(np.float32)
    for t in (1.0, 3.3, 7.77, 9.999):       # bursts, one across a block boundary
        i = int(t * SR)
        x[:, i:i + 200] += np.sin(np.arange(200) / 3) * 1.5
    y = np.concatenate(list(limit(blocks(x, SR * 5), ceiling_dbtp=-1.0)), axis=1)
    assert y.shape == x.shape
    assert measure([x], sample_rate=SR)[1] > 3.0
    assert measure([y], sample_rate=SR)[1] <= -1.0
    quiet = slice(int(5 * SR), int(7 * SR))
    assert np.array_equal(y[:, quiet], x[:, quiet])


def test_dialogue_gating_measures_only_inside_the_spans():
    # −20 LUFS-ish tone in [10, 20) s, 10 dB quieter elsewhere: gated on [10, 20) it reads
    # the loud part alone; ungated, the relative gate keeps both parts.
    t = np.arange(SR * 30) / SR
    level = np.where((t >= 10) & (t < 20), 0.1, 0.0316)
    x = np.tile(level * np.sin(2 * np.pi * 997 * t), (2, 1)).astype(np.float32)
    loud_only, _ = measure(blocks(x[:, 10 * SR:20 * SR]), sample_rate=SR, true_peak=False)
    gated, _ = measure(blocks(x), sample_rate=SR, true_peak=False, only_s=[(10.0, 20.0)])
    whole, _ = measure(blocks(x), sample_rate=SR, true_peak=False)
    assert gated == pytest.approx(loud_only, abs=0.1)
    assert whole < gated - 2.0


def test_dialogue_gating_with_no_block_inside_reads_silence():
    from scorer.mix.loudness import SILENCE_DB

    x = np.tile(0.1 * np.sin(2 * np.pi * 997 * np.arange(SR * 5) / SR), (2, 1))
    assert measure([x], sample_rate=SR, true_peak=False, only_s=[(8.0, 9.0)])[0] == SILENCE_DB


def test_the_loudness_does_not_depend_on_how_the_signal_is_blocked():
    rng = np.random.default_rng(2)
    x = (0.1 * rng.standard_normal((2, SR * 8))).astype(np.float32)
    a = measure(blocks(x, 4_801), sample_rate=SR)
    b = measure(blocks(x, SR * 8), sample_rate=SR)
    assert a[0] == pytest.approx(b[0], abs=1e-6) and a[1] == pytest.approx(b[1], abs=1e-6)
