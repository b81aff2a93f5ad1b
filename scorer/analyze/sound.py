"""Production audio: loudness curve, onsets with strength, dialogue spans (WebRTC VAD).

Arrays in, arrays out: `y` is mono float32 audio shaped (n,) at `sample_rate`, sample 0 at
the cut's first frame. 16 kHz (ANALYSIS_RATE) is what the VAD takes and plenty for the rest.
"""
from __future__ import annotations

import numpy as np

from scorer.errors import InputError
from scorer.timebase import n_samples, s_to_sample, sample_to_s
from scorer.types import Span

ANALYSIS_RATE = 16_000
SILENCE_DB = -120.0
VAD_RATES = (8000, 16000, 32000, 48000)


def _mono(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise InputError(f"expected mono audio shaped (n,), got shape {y.shape}")
    return y.astype(np.float32, copy=False)


def _db(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.maximum(10 * np.log10(power), SILENCE_DB)


def _energy(y: np.ndarray) -> np.ndarray:
    """Running energy: e[i] = sum of y[:i] ** 2, (n + 1,) float64."""
    return np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])


def _windowed_power(energy: np.ndarray, centres: np.ndarray, half: int) -> np.ndarray:
    """Mean square over [c − half, c + half) for each centre (clipped at the ends), from the
    running energy of the signal."""
    n = len(energy) - 1
    lo = np.clip(centres - half, 0, n)
    hi = np.clip(centres + half, 0, n)
    return (energy[hi] - energy[lo]) / np.maximum(hi - lo, 1)


def loudness_curve(y: np.ndarray, *, sample_rate: int, hop_s: float = 0.1,
                   window_s: float = 0.4, duration_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Short-term loudness: RMS in dBFS over window_s, centred every hop_s.

    Returns (t_s (m,) float64, level_db (m,) float32), t_s = 0, hop_s, …; SILENCE_DB where
    there is no signal. duration_s sets how far the curve runs (default: the audio's
    length), so a cut without sound still gets a (silent) curve over its whole length.
    """
    y = _mono(y)
    if hop_s <= 0 or window_s <= 0:
        raise InputError(f"hop_s and window_s must be > 0, got {hop_s}, {window_s}")
    length_s = sample_to_s(len(y), sample_rate) if duration_s is None else duration_s
    m = max(int(np.ceil(length_s / hop_s - 1e-9)), 1)
    t_s = np.arange(m) * hop_s
    centres = s_to_sample(t_s, sample_rate)
    power = _windowed_power(_energy(y), centres, n_samples(window_s, sample_rate) // 2) if len(y) else np.zeros(m)
    return t_s, _db(power).astype(np.float32)


def onsets(y: np.ndarray, *, sample_rate: int, hop: int = 128, min_strength: float = 0.1,
           ) -> tuple[tuple[float, float], ...]:
    """Transients as (t_s, strength 0…1), in time order.

    Found with librosa's onset envelope (hop samples, a short FFT so the attack is not
    smeared) and onset_detect(backtrack=True); each is then placed at the sample where the
    attack leaves the level before it (1 ms resolution), within a few ms of the true
    transient. strength: how far the level jumps (30 dB → 1) × how loud the attack is
    against the cut's loudest moments (its 99th-percentile short-term level → 1, 30 dB
    below → 0). Onsets weaker than min_strength are dropped.
    """
    import librosa

    y = _mono(y)
    n_fft = 4 * hop
    if len(y) < n_fft * 2 or not np.any(y):
        return ()
    env = librosa.onset.onset_strength(y=y, sr=sample_rate, hop_length=hop, n_fft=n_fft,
                                       n_mels=64, fmax=sample_rate / 2)
    frames = librosa.onset.onset_detect(onset_envelope=env, sr=sample_rate, hop_length=hop,
                                        backtrack=True, units="frames")
    if len(frames) == 0:
        return ()
    ms = max(n_samples(0.001, sample_rate), 1)         # 1 ms steps
    energy = _energy(y)
    level_db = _db(_windowed_power(energy, np.arange(0, len(y), ms), 2 * ms))   # 4 ms windows
    ref_db = float(np.percentile(loudness_curve(y, sample_rate=sample_rate, hop_s=0.05,
                                                window_s=0.1)[1], 99))
    found: dict[int, float] = {}
    for f in frames:
        # The backtracked frame is where the envelope starts to rise; the short FFT's
        # window reaches n_fft / 2 either side of it.
        attack = _attack_start(level_db, centre=int(f * hop) // ms, reach=n_fft // ms, half=2)
        if attack is None:
            continue
        start = attack * ms
        before = _windowed_power(energy, np.array([start - 30 * ms]), 25 * ms)[0]     # −55…−5 ms
        after = _windowed_power(energy, np.arange(start + 5 * ms, start + 60 * ms, ms), 5 * ms).max()
        pre_db, peak_db = float(_db(before)), float(_db(after))
        strength = float(np.clip((peak_db - pre_db) / 30, 0, 1) * np.clip((peak_db - ref_db + 30) / 30, 0, 1))
        if strength >= min_strength and strength > found.get(attack, -1.0):
            found[attack] = strength
    return tuple((round(sample_to_s(i * ms, sample_rate), 4), round(s, 4)) for i, s in sorted(found.items()))


def _attack_start(level_db: np.ndarray, *, centre: int, reach: int, half: int) -> int | None:
    """Index (1 ms steps) where the attack nearest `centre` begins, in a level curve whose
    windows reach `half` steps either side; None if nothing rises by 6 dB there.

    The attack is the steepest 5 ms rise within ±reach; it begins where the level first
    climbs a quarter of the way (in dB) from the floor before it to the peak after it. A
    window's leading edge meets the sound first, so the crossing is moved on by `half`.
    """
    lo, hi = max(centre - reach, 0), min(centre + reach + 1, len(level_db))
    if hi - lo < 8:
        return None
    seg = level_db[lo:hi]
    j = int(np.argmax(seg[5:] - seg[:-5]))
    floor_db = float(np.median(level_db[max(lo + j - 30, 0):lo + j + 1]))
    peak_db = float(seg[j:j + 25].max())
    if peak_db - floor_db < 6:
        return None
    above = seg[j:] > floor_db + 0.25 * (peak_db - floor_db)
    k = j + int(np.argmax(above))
    # Walk back over any earlier part of the same climb (the steepest step can be mid-rise).
    while k > 0 and seg[k - 1] > floor_db + 0.25 * (peak_db - floor_db):
        k -= 1
    return min(lo + k + half, len(level_db) - 1)


def dialogue_spans(y: np.ndarray, *, sample_rate: int = ANALYSIS_RATE, aggressiveness: int = 3,
                   frame_ms: int = 30, merge_gap_s: float = 0.3, min_span_s: float = 0.25,
                   min_level_db: float = -50.0, min_band_ratio: float = 0.3) -> tuple[Span, ...]:
    """Where people speak: WebRTC VAD frames of frame_ms, smoothed into lines (gaps shorter
    than merge_gap_s closed, spans shorter than min_span_s dropped).

    Frames quieter than min_level_db dBFS are never speech (the VAD flags some room tone),
    and a span must carry at least min_band_ratio of its energy in the speech band
    (250–3500 Hz): the VAD also fires on thuds and rumble.
    """
    import webrtcvad

    y = _mono(y)
    if sample_rate not in VAD_RATES:
        raise InputError(f"WebRTC VAD needs {VAD_RATES} Hz audio, got {sample_rate} Hz")
    if frame_ms not in (10, 20, 30):
        raise InputError(f"WebRTC VAD frames are 10, 20 or 30 ms, got {frame_ms}")
    if aggressiveness not in (0, 1, 2, 3):
        raise InputError(f"VAD aggressiveness is 0…3, got {aggressiveness}")
    vad = webrtcvad.Vad(aggressiveness)
    n = n_samples(frame_ms / 1000, sample_rate)
    frames = len(y) // n
    if frames == 0:
        return ()
    pcm = (np.clip(y[:frames * n], -1, 1) * 32767).astype("<i2").reshape(frames, n)
    level_db = _db(np.mean((pcm.astype(np.float64) / 32767) ** 2, axis=1))
    voiced = np.zeros(frames, dtype=bool)
    for i in np.flatnonzero(level_db > min_level_db):
        voiced[i] = vad.is_speech(pcm[i].tobytes(), sample_rate)
    frame_s = frame_ms / 1000
    spans: list[list[int]] = []                 # [first frame, end frame)
    for i in np.flatnonzero(voiced):
        i = int(i)
        if spans and (i - spans[-1][1]) * frame_s < merge_gap_s:
            spans[-1][1] = i + 1
        else:
            spans.append([i, i + 1])
    out = []
    for a, b in spans:
        if (b - a) * frame_s < min_span_s:
            continue
        if speech_band_ratio(y[a * n:b * n], sample_rate=sample_rate) < min_band_ratio:
            continue
        out.append(Span(round(a * frame_s, 3), round(b * frame_s, 3)))
    return tuple(out)


def speech_band_ratio(y: np.ndarray, *, sample_rate: int, lo_hz: float = 250.0,
                      hi_hz: float = 3500.0) -> float:
    """Share (0…1) of the energy of mono y that lies between lo_hz and hi_hz."""
    y = _mono(y)
    if len(y) < 64:
        return 0.0
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    freqs = np.fft.rfftfreq(len(y), sample_to_s(1, sample_rate))
    total = spec.sum()
    return float(spec[(freqs >= lo_hz) & (freqs <= hi_hz)].sum() / total) if total > 0 else 0.0
