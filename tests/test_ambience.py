"""Procedural ambience: each bed sounds like what it says (by its spectrum and its
movement), follows the scene's light, sits at the preset's level, is wide, starts and
ends without a click, crossfades at constant power where cues touch, and is repeatable."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from test_compose import cue, sheet, snap

from scorer.compose import compose
from scorer.compose.harmony import NOTE_PCS, parse_key
from scorer.music.presets import load_presets
from scorer.render.ambience import CROSSFADE_S, ambience_clip, bed, render_ambience
from scorer.types import Shot

SR = 48000
N = SR * 12


def _band_share(y, lo, hi):
    spec = np.abs(np.fft.rfft(y[0])) ** 2
    f = np.fft.rfftfreq(y.shape[1], 1 / SR)
    return spec[(f >= lo) & (f < hi)].sum() / spec[f > 20].sum()


def _centroid(y):
    spec = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(len(y), 1 / SR)
    return float((spec * f).sum() / spec.sum())


def _rng(k=0):
    return np.random.default_rng([7, k])


def test_wind_lives_between_200_hz_and_2_khz_and_its_centre_moves():
    y = bed("wind", N, rng=_rng(), dark=0.3, movement=1.2)
    assert _band_share(y, 150, 2500) > 0.8
    centroids = [_centroid(y[0, a:a + SR]) for a in range(0, N - SR, SR)]
    assert max(centroids) - min(centroids) > 150


def _region_correlation(y, lo, hi):
    from scipy.signal import butter, sosfilt
    sos = butter(4, (lo, hi), "bandpass", fs=SR, output="sos")
    a, b = sosfilt(sos, y[0].astype(np.float64)), sosfilt(sos, y[1].astype(np.float64))
    return float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))


def _grain_db(y):
    """The 99th percentile of the 5 ms level over its median (steady noise: about 6 dB)."""
    m = y.mean(axis=0)
    frames = np.mean(np.square(m[:m.size // 240 * 240].reshape(-1, 240), dtype=np.float64), axis=1)
    db = 10 * np.log10(frames + 1e-20)
    return float(np.percentile(db, 99) - np.median(db))


def test_rain_is_a_roar_with_drops_standing_out_of_it():
    # Recorded rain (bench_ambience.py): its weight below 300 Hz, a hiss over it, and
    # its near drops 10–16 dB over the texture's median in 5 ms frames.
    y = bed("rain", N, rng=_rng(), dark=0.3, movement=1.0)
    assert 0.2 < _band_share(y, 20, 300) < 0.7
    assert _band_share(y, 1500, 20000) > 0.06          # the references: about 0.1
    assert _grain_db(y) > 9.0


def test_night_is_a_chorus_of_insects_between_2_and_8_khz():
    # Recorded nights: most of the energy at 2–8 kHz, dense (grain about 5 dB, not on/off).
    y = bed("night", N, rng=_rng(), dark=0.8, movement=1.0)
    assert _band_share(y, 2000, 8000) > 0.6
    assert _band_share(y, 20, 500) < 0.1
    assert 3.0 < _grain_db(y) < 9.0
    from scipy.signal import butter, sosfilt
    band = sosfilt(butter(4, (2000, 8000), "bandpass", fs=SR, output="sos"), y[0])
    env = np.abs(band).reshape(-1, SR // 100).mean(axis=1)       # 10 ms frames
    assert np.percentile(env, 90) > 1.5 * np.percentile(env, 20)   # trills that come and go


def test_the_drone_sounds_the_keys_tonic_and_fifth():
    tonic = 55.0
    y = bed("drone", N, rng=_rng(), dark=0.5, movement=1.0, tonic_hz=tonic)
    spec = np.abs(np.fft.rfft(y[0]))
    f = np.fft.rfftfreq(N, 1 / SR)
    peaks = f[np.argsort(spec)[-6:]]
    assert any(abs(p - tonic) < 1 for p in peaks) and any(abs(p - 1.5 * tonic) < 1 for p in peaks)


def test_room_tone_is_low_and_sea_swells():
    room = bed("room", N, rng=_rng(), dark=0.5, movement=1.0)
    assert _band_share(room, 20, 500) > 0.7
    sea = bed("sea", SR * 30, rng=_rng(), dark=0.5, movement=1.0)
    env = np.sqrt(np.mean(sea[0].reshape(-1, SR // 2) ** 2, axis=1))
    assert env.max() > 3 * env.min()


@pytest.mark.parametrize("name", ["room", "wind", "rain", "drone", "city", "night", "sea"])
def test_every_bed_is_heard_by_a_pair_of_microphones_and_repeatable(name):
    a = bed(name, SR * 4, rng=_rng(3), dark=0.5, movement=1.0)
    b = bed(name, SR * 4, rng=_rng(3), dark=0.5, movement=1.0)
    c = bed(name, SR * 4, rng=_rng(4), dark=0.5, movement=1.0)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    if name != "drone":            # a tuned drone is correlated by nature
        # As the recordings (bench_ambience.py: 0.4–0.9 below 300 Hz, 0.1–0.6 above 3 kHz):
        # the long wavelengths heard alike, the short ones largely apart (two unrelated
        # noises read 0 in both, one noise in both channels 1).
        assert _region_correlation(a, 40, 250) > 0.5
        assert abs(_region_correlation(a, 4000, 12000)) < 0.65


@pytest.mark.parametrize("name", ["wind", "rain", "city", "sea"])
def test_a_darker_scene_gives_a_darker_bed(name):
    dark = bed(name, N, rng=_rng(), dark=0.9, movement=1.0)
    bright = bed(name, N, rng=_rng(), dark=0.1, movement=1.0)
    assert _centroid(dark[0]) < 0.85 * _centroid(bright[0])


@pytest.fixture(scope="module")
def film():
    presets = load_presets()
    c1 = cue(0.0, 14.0, preset="noir", cid="1M1")
    c2 = cue(14.0, 30.0, preset="horror", cid="1M2")          # touches 1M1
    shots = (Shot(0.0, snap(14.0), 0, brightness=0.2, pace_per_min=8.0),
             Shot(snap(14.0), snap(30.0), 336, brightness=0.7, pace_per_min=20.0))
    cs = replace(sheet([c1, c2], duration_s=35.0), shots=shots)
    score = compose(cs, seed=5, presets=presets)
    return cs, score, render_ambience(score, cs, presets=presets), presets


def test_clips_sit_on_their_cue_at_the_presets_level_without_clicks(film):
    cs, score, clips, presets = film
    for clip, cue_score in zip(clips, score.cues):
        assert clip.label == cue_score.cue.id
        assert clip.start_sample == round(cue_score.cue.start_s * SR)
        assert clip.end_sample == round((cue_score.cue.end_s + CROSSFADE_S) * SR)
        body = clip.samples[:, SR * 2:-SR * 2]
        level = 20 * np.log10(np.sqrt(np.mean(body.astype(np.float64) ** 2)))
        amb = presets[cue_score.cue.preset].ambience
        # The preset's level, up to 2 dB louder in a dark scene.
        assert amb.level_db - 1.5 <= level <= amb.level_db + 2.5
        assert np.abs(clip.samples[:, :8]).max() < 1e-3 and np.abs(clip.samples[:, -8:]).max() < 1e-3


def test_touching_cues_crossfade_at_constant_power(film):
    _, score, clips, _ = film
    join = round(score.cues[1].cue.start_s * SR)
    total = np.zeros((2, join + SR * 3), np.float64)
    for clip in clips:
        a, b = clip.start_sample, min(clip.end_sample, total.shape[1])
        if b > a:
            total[:, a:b] += clip.samples[:, :b - a]
    rms = lambda x: 20 * np.log10(np.sqrt(np.mean(x ** 2)))  # noqa: E731
    before, across, after = rms(total[:, join - SR * 2:join - SR]), rms(total[:, join:join + SR]), \
        rms(total[:, join + SR + SR // 2:join + SR * 2 + SR // 2])
    assert across > min(before, after) - 3 and across < max(before, after) + 3


def test_the_drone_follows_the_cues_key(film):
    _, score, clips, presets = film
    for clip, cue_score in zip(clips, score.cues):
        if "drone" not in presets[cue_score.cue.preset].ambience.beds:
            continue
        tonic, _ = parse_key(cue_score.key)
        f0 = 440.0 * 2 ** ((36 + NOTE_PCS[tonic] - 69) / 12)
        spec = np.abs(np.fft.rfft(clip.samples[0]))
        f = np.fft.rfftfreq(clip.samples.shape[1], 1 / SR)
        near = (f > f0 - 1) & (f < f0 + 1)
        away = (f > f0 * 1.2) & (f < f0 * 1.4)
        assert spec[near].max() > 5 * spec[away].mean()


def test_the_same_seed_gives_the_same_bed(film):
    cs, score, clips, presets = film
    again = ambience_clip(score.cues[0], cs, beds=("rain", "city"), level_db=-32, seed=score.seed)
    assert np.array_equal(again.samples, clips[0].samples)
