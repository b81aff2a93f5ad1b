"""Procedural ambience beds: an `ambience` stem for sound designers on the offline default.

Each cue gets a stereo bed from its preset's [ambience] beds — room tone, wind, rain,
drone, city, night, sea — synthesised from filtered noise, resonators and tones (no
samples, nothing downloaded), shaped by the scene: darker shots give a darker (lower
cut-off), slightly louder bed; faster cutting and a more agitated cue give more movement
(gusts, drops, swells). The drone is tuned to the cue's key. The bed's RMS level is the
preset's level_db; it fades in over CROSSFADE_S at the cue start and out over CROSSFADE_S
after the cue end, with equal-power curves, so beds of touching cues crossfade at
constant power. Deterministic from (seed, cue id). AudioGen takes replace these beds when
weights are present.

The beds are measured against field recordings of rain, wind and night (bench/
bench_ambience.py, Debian's megaglest-data): their balance of lows and highs per octave,
their movement and grain, and their stereo as a pair of microphones hears a place — alike
in the long wavelengths, independent in the short ones (`_microphone_pair`), not two
unrelated noises, which sound hollow and fold down to mono unlike any room.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from scorer import seeds
from scorer.timebase import SAMPLE_RATE, n_samples, s_to_sample, sample_to_s
from scorer.types import Clip, CueScore, CueSheet, Score

CROSSFADE_S = 1.0
BLOCK = n_samples(10.0)           # synthesis block: memory stays at a few blocks beyond the clip


def _sos(kind: str, freq, order: int = 2):
    from scipy.signal import butter
    return butter(order, freq, btype=kind, fs=SAMPLE_RATE, output="sos")


def _noise(rng: np.random.Generator, n: int, sos) -> np.ndarray:
    """(2, n) filtered white noise, L and R independent, filtered block by block."""
    from scipy.signal import sosfilt, sosfilt_zi

    out = np.empty((2, n), np.float32)
    zi = np.stack([sosfilt_zi(sos) * 0.0 for _ in range(2)], axis=1)
    for a in range(0, n, BLOCK):
        b = min(n, a + BLOCK)
        y, zi = sosfilt(sos, rng.standard_normal((2, b - a)), axis=1, zi=zi)
        out[:, a:b] = y
    return out


def _slow(rng: np.random.Generator, n: int, rate_hz: float, depth: float) -> np.ndarray:
    """A smooth random envelope around 1 (±depth) changing at about rate_hz."""
    k = max(2, int(sample_to_s(n) * rate_hz) + 2)
    knots = 1.0 + depth * rng.uniform(-1, 1, k)
    return np.interp(np.arange(n), np.linspace(0, n - 1, k), knots).astype(np.float32)


def _hum(n: int, mains_hz: float, level: float) -> np.ndarray:
    t = sample_to_s(np.arange(n))
    y = sum(level / k * np.sin(2 * np.pi * mains_hz * k * t) for k in (1, 2, 3))
    return np.stack([y, y]).astype(np.float32)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _unit(x: np.ndarray) -> np.ndarray:
    r = _rms(x)
    return x / r if r > 0 else x


# L/R correlation a spaced pair of microphones gives a diffuse field, per region (Hz),
# near the medians of the recordings bench_ambience.py measures (0.84/0.51/0.45 rain,
# 0.59/0.37/0.13 wind, 0.40/0.57/0.38 night).
PAIR_CORRELATION = ((300.0, 0.75), (3000.0, 0.45), (None, 0.25))


def _microphone_pair(y: np.ndarray) -> np.ndarray:
    """(2, n) bed whose channels were made independently, made to sound as one place heard
    by two microphones: its side signal (L − R) cut per frequency region so the channels
    correlate by PAIR_CORRELATION (two independent channels of equal power correlate by
    (1 − g²)/(1 + g²) once their side is scaled by g), the total power kept."""
    from scipy.signal import sosfilt

    mid, side = 0.5 * (y[0] + y[1]), 0.5 * (y[0] - y[1])
    shaped = np.zeros_like(side)
    lo = None
    for hi, rho in PAIR_CORRELATION:
        if lo is None:
            sos = _sos("lowpass", hi, 4)
        elif hi is None:
            sos = _sos("highpass", lo, 4)
        else:
            sos = _sos("bandpass", (lo, hi), 4)
        shaped += np.float32(np.sqrt((1 - rho) / (1 + rho))) * sosfilt(sos, side).astype(np.float32)
        lo = hi
    out = np.stack([mid + shaped, mid - shaped]).astype(np.float32)
    return out * np.float32(_rms(y) / max(_rms(out), 1e-12))


def bed(name: str, n: int, *, rng: np.random.Generator, dark: float, movement: float,
        tonic_hz: float = 55.0) -> np.ndarray:
    """One bed, (2, n) at unit RMS. dark 0…1 (1 = darkest scene), movement ~0.3…2."""
    cut = 1.0 - 0.5 * dark                       # scales every cut-off
    if name == "room":
        y = _noise(rng, n, _sos("lowpass", 400 * cut)) + 0.15 * _noise(rng, n, _sos("bandpass", (800, 3000)))
        y = _unit(y) + 0.05 * _hum(n, 50.0, 1.0)
    elif name == "wind":
        # Recorded wind peaks around 500 Hz and falls ~15 dB an octave above 1 kHz.
        low = _noise(rng, n, _sos("bandpass", (180 * cut, 650 * cut), 3))
        high = _noise(rng, n, _sos("bandpass", (350 * cut, 1100 * cut), 3))
        gust = _slow(rng, n, 0.25 * movement, 0.45).clip(0.05)
        # The rumble a microphone picks up in moving air, and the air's faint hiss.
        rumble = 0.3 * _unit(_noise(rng, n, _sos("lowpass", 120 * cut))) * gust
        air = 0.004 * _unit(_noise(rng, n, _sos("highpass", 3000 * cut)))
        swap = _slow(rng, n, 0.15 * movement, 1.0).clip(0, 2) / 2          # moves the centre up and down
        y = _unit(low) * gust * (1 - swap) + _unit(high) * gust * swap + rumble + air
    elif name == "rain":
        from scipy.signal import lfilter
        # Recorded rain is a broad roar with its weight below 500 Hz (water on every
        # surface near and far), a hiss over it, and near drops standing out of it.
        roar = _unit(_noise(rng, n, _sos("lowpass", 300 * cut)))
        hiss = 0.3 * _unit(_noise(rng, n, _sos("bandpass", (1500 * cut, 9000 * cut))))
        shower = _slow(rng, n, 0.08 * movement, 0.6).clip(0.2)   # the rain comes and goes
        rate = 30.0 * movement                    # near drops a second
        drops = np.zeros((2, n), np.float32)
        for ch in range(2):
            k = rng.poisson(rate * sample_to_s(n))
            at = rng.integers(0, n, k)
            drops[ch, at] = np.minimum(rng.lognormal(0.0, 1.0, k), 6.0) * rng.choice([-1, 1], k)   # a few big ones
        out = np.zeros_like(drops)
        # Each drop a short, broad ring (low Q: a click with a pitch, not a tone), the
        # drops spread over resonances between leaves, stone and water.
        centres = np.sort(rng.uniform(700, 5000, 6)) * cut
        which = rng.integers(0, len(centres), drops.shape)
        for i, f0 in enumerate(centres):
            r, w = 0.975, 2 * np.pi * f0 / SAMPLE_RATE
            out += lfilter([1.0 - r], [1.0, -2 * r * np.cos(w), r * r], drops * (which == i), axis=1).astype(np.float32)
        y = (roar + hiss) * shower + _unit(out)
    elif name == "drone":
        t = sample_to_s(np.arange(n))
        lfo = _slow(rng, n, 0.05 * movement, 0.3)
        left = sum(a * np.sin(2 * np.pi * f * t) for f, a in ((tonic_hz, 1.0), (tonic_hz * 1.5, 0.5), (tonic_hz * 2, 0.3)))
        right = sum(a * np.sin(2 * np.pi * f * 1.003 * t + 0.7) for f, a in ((tonic_hz, 1.0), (tonic_hz * 1.5, 0.5),
                                                                            (tonic_hz * 2, 0.3)))
        y = np.stack([left, right]).astype(np.float32) * lfo + 0.1 * _unit(_noise(rng, n, _sos("lowpass", 300 * cut)))
    elif name == "city":
        traffic = _unit(_noise(rng, n, _sos("lowpass", 350 * cut))) * _slow(rng, n, 0.2 * movement, 0.5)
        passes = np.zeros(n, np.float32)
        t = 0
        while True:
            t += n_samples(rng.uniform(6, 16) / movement)
            if t >= n:
                break
            length = n_samples(rng.uniform(2.5, 5.0))
            a, b = max(0, t - length // 2), min(n, t + length // 2)
            passes[a:b] += np.hanning(length)[a - (t - length // 2):b - (t - length // 2)].astype(np.float32)
        swish = _unit(_noise(rng, n, _sos("bandpass", (300 * cut, 2500 * cut)))) * passes
        y = traffic + 0.8 * swish + 0.04 * _hum(n, 60.0, 1.0)
    elif name == "night":
        t = sample_to_s(np.arange(n))
        # Recorded nights: a chorus of many insects, most of the energy between 2 and 8 kHz,
        # dense enough to read as a texture (its 5 ms level barely 6 dB over its median),
        # over a faint low air.
        bedn = 0.15 * _unit(_noise(rng, n, _sos("lowpass", 250 * cut)))
        chirps = np.zeros((2, n), np.float32)
        for _ in range(9):
            f0 = rng.uniform(2500, 7000)
            pulse = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(15, 45) * t + rng.uniform(0, 6))   # its trill
            burst = np.clip(np.sin(2 * np.pi * rng.uniform(0.3, 1.2) * movement * t + rng.uniform(0, 6)) + 0.6, 0, 1)
            # A stridulation is noisy, not a sine: noise in a band ±4 % around its pitch;
            # each microphone hears the insect itself and its own share of its echoes
            # (a band of the same noise of its own), so the pair is partly coherent.
            band = _sos("bandpass", (0.96 * f0, 1.04 * f0))
            song = _unit(_noise(rng, n, band))
            heard = song[0] + 0.8 * song[1]
            echo = _unit(_noise(rng, n, band))
            gate = (pulse * burst).astype(np.float32)
            near = rng.uniform(0.3, 1.0)                      # where it sits: louder on one side
            chirps += np.stack([near * (heard + 1.1 * echo[0]), (1.3 - near) * (heard + 1.1 * echo[1])]) \
                * gate * np.float32(rng.uniform(0.3, 1.0))
        chirps += 0.3 * _unit(_noise(rng, n, _sos("bandpass", (1200, 12000)))) * np.float32(_rms(chirps))
        y = bedn + _unit(chirps)
    elif name == "sea":
        t = sample_to_s(np.arange(n))
        period = rng.uniform(6.0, 10.0) / movement
        swell = (0.25 + 0.75 * (0.5 - 0.5 * np.cos(2 * np.pi * t / period))).astype(np.float32)
        y = _unit(_noise(rng, n, _sos("lowpass", 600 * cut))) * swell \
            + 0.3 * _unit(_noise(rng, n, _sos("bandpass", (2500 * cut, 9000 * cut)))) * swell ** 3
    else:
        raise ValueError(f"unknown ambience bed {name!r}")
    return _unit(_microphone_pair(np.asarray(y, dtype=np.float32))).astype(np.float32)


def _scene(cue_sheet: CueSheet, start_s: float, end_s: float) -> tuple[float, float]:
    """(brightness 0…1, cuts per minute) of the shots under [start_s, end_s), weighted by
    how long each is on screen there; (0.5, 10) where no shot is known."""
    weights, bright, pace = 0.0, 0.0, 0.0
    for shot in cue_sheet.shots:
        overlap = min(shot.end_s, end_s) - max(shot.start_s, start_s)
        if overlap > 0:
            weights += overlap
            bright += overlap * shot.brightness
            pace += overlap * shot.pace_per_min
    return (bright / weights, pace / weights) if weights else (0.5, 10.0)


def _tonic_hz(key: str) -> float:
    from scorer.music import NOTE_PCS, parse_key
    tonic, _ = parse_key(key)
    return 440.0 * 2 ** ((36 + NOTE_PCS[tonic] - 69) / 12)      # the tonic in octave 2 (C2 … B2)


def ambience_clip(cs: CueScore, cue_sheet: CueSheet, *, beds: tuple[str, ...], level_db: float,
                  seed: int) -> Clip:
    """The bed of one cue, from its start to CROSSFADE_S after its end."""
    start = s_to_sample(cs.cue.start_s)
    n = s_to_sample(cs.cue.end_s + CROSSFADE_S) - start
    brightness, pace = _scene(cue_sheet, cs.cue.start_s, cs.cue.end_s)
    dark = float(np.clip(1.0 - brightness, 0.0, 1.0))
    movement = float(np.clip(0.5 + pace / 30.0 + 0.4 * cs.cue.arousal, 0.3, 2.0))
    y = np.zeros((2, n), np.float32)
    for k, name in enumerate(beds):
        rng = seeds.rng(seed, cs.cue.id, k, 0xA3B)
        y += bed(name, n, rng=rng, dark=dark, movement=movement, tonic_hz=_tonic_hz(cs.key))
    # Darker scenes sit a little louder (up to +2 dB): the room is what you hear at night.
    target = 10 ** ((level_db + 2.0 * (dark - 0.5)) / 20)
    y *= np.float32(target / max(_rms(y), 1e-12))
    fade = min(s_to_sample(CROSSFADE_S), n // 2)
    ramp = np.sin(np.linspace(0, np.pi / 2, fade, dtype=np.float32))      # equal power
    y[:, :fade] *= ramp
    y[:, n - fade:] *= ramp[::-1]
    return Clip(start, y, label=cs.cue.id)


def render_ambience(score: Score, cue_sheet: CueSheet, *, presets=None, store=None,
                    progress: Callable[[str, float, float], None] | None = None) -> tuple[Clip, ...]:
    """One ambience clip per cue, from each cue's preset's [ambience] beds.

    store: a ClipStore (io/clipstore.py) each clip is parked in as soon as it is made, so
    memory holds one cue's bed, not the film's; without one the clips stay in memory."""
    from dataclasses import replace

    from scorer.music.presets import load_presets

    presets = load_presets() if presets is None else presets
    clips = []
    for i, cs in enumerate(score.cues):
        amb = presets[cs.cue.preset].ambience
        clip = ambience_clip(cs, cue_sheet, beds=amb.beds, level_db=amb.level_db, seed=score.seed)
        if store is not None:
            clip = replace(clip, audio=store.write(f"{cs.cue.id}-ambience", [clip.audio]))
        clips.append(clip)
        if progress:
            progress("ambience", i + 1, len(score.cues))
    return tuple(clips)
