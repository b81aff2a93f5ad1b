"""Production audio: loudness curve, onsets with strength, dialogue spans (WebRTC VAD).

Arrays in, arrays out: (n,) float32 mono at `sample_rate` (16 kHz is what the VAD takes).
"""
from __future__ import annotations

import numpy as np

from scorer.types import Span

ANALYSIS_RATE = 16_000
SILENCE_DB = -120.0


def loudness_curve(y: np.ndarray, *, sample_rate: int, hop_s: float = 0.1,
                   window_s: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, dBFS) short-term RMS loudness every hop_s over window_s windows (centred)."""
    hop, win = int(hop_s * sample_rate), int(window_s * sample_rate)
    n = max(int(np.ceil(len(y) / hop)), 1)
    sq = np.concatenate([[0.0], np.cumsum(y.astype(np.float64) ** 2)])
    centres = np.arange(n) * hop
    lo = np.clip(centres - win // 2, 0, len(y))
    hi = np.clip(centres + win // 2, 0, len(y))
    ms = (sq[hi] - sq[lo]) / np.maximum(hi - lo, 1)
    with np.errstate(divide="ignore"):
        db = np.maximum(10 * np.log10(ms), SILENCE_DB)
    return (centres / sample_rate).astype(np.float64), db.astype(np.float32)


def onsets(y: np.ndarray, *, sample_rate: int, hop: int = 128,
           min_strength: float = 0.15) -> tuple[tuple[float, float], ...]:
    """Transients as (t_s, strength 0…1). Backtracked to the energy minimum before each
    peak, so t_s is where the attack begins (within a few ms of the true transient)."""
    import librosa

    if len(y) < hop * 8 or not np.any(y):
        return ()
    env = librosa.onset.onset_strength(y=y, sr=sample_rate, hop_length=hop)
    peaks = librosa.onset.onset_detect(onset_envelope=env, sr=sample_rate, hop_length=hop,
                                       backtrack=False, units="frames")
    if len(peaks) == 0:
        return ()
    # Energy-based backtracking at the sample level: the attack starts where the signal
    # leaves the quiet before the peak (librosa's frame backtrack is a hop coarse).
    rms = librosa.feature.rms(y=y, frame_length=hop * 2, hop_length=hop // 4, center=True)[0]
    scale = float(np.percentile(env[peaks], 95)) or 1.0
    out = []
    for p in peaks:
        strength = float(min(env[p] / scale, 1.0))
        if strength < min_strength:
            continue
        out.append((_attack_start_s(rms, p, hop, sample_rate), round(strength, 4)))
    return tuple(out)


def _attack_start_s(rms: np.ndarray, peak_frame: int, hop: int, sample_rate: int) -> float:
    fine = hop // 4
    centre = peak_frame * 4
    lo = max(centre - 16, 0)
    hi = min(centre + 8, len(rms) - 1)
    if hi <= lo:
        return peak_frame * hop / sample_rate
    seg = rms[lo:hi + 1]
    top = int(np.argmax(seg))
    floor = float(seg[:top + 1].min())
    # First fine frame, searching back from the top, still above floor + 10 % of the rise.
    thresh = floor + 0.1 * (float(seg[top]) - floor)
    k = top
    while k > 0 and seg[k - 1] > thresh:
        k -= 1
    return (lo + k) * fine / sample_rate


def dialogue_spans(y: np.ndarray, *, sample_rate: int = ANALYSIS_RATE, aggressiveness: int = 3,
                   frame_ms: int = 30, merge_gap_s: float = 0.3, min_span_s: float = 0.25,
                   min_level_db: float = -50.0, min_band_ratio: float = 0.3) -> tuple[Span, ...]:
    """Where people speak, from WebRTC's voice-activity detector, smoothed into lines.

    Frames quieter than min_level_db are never speech (the VAD flags some room tone).
    """
    import webrtcvad

    if sample_rate not in (8000, 16000, 32000, 48000):
        raise ValueError(f"WebRTC VAD needs 8/16/32/48 kHz audio, got {sample_rate}")
    vad = webrtcvad.Vad(aggressiveness)
    n = int(sample_rate * frame_ms / 1000)
    pcm = (np.clip(y, -1, 1) * 32767).astype("<i2")
    frames = len(pcm) // n
    voiced = np.zeros(frames, dtype=bool)
    for i in range(frames):
        chunk = pcm[i * n:(i + 1) * n]
        level = 10 * np.log10(np.mean(chunk.astype(np.float64) ** 2) / 32767 ** 2 + 1e-12)
        voiced[i] = level > min_level_db and vad.is_speech(chunk.tobytes(), sample_rate)
    spans: list[list[float]] = []
    frame_s = frame_ms / 1000
    for i in np.flatnonzero(voiced):
        t = i * frame_s
        if spans and t - spans[-1][1] <= merge_gap_s:
            spans[-1][1] = t + frame_s
        else:
            spans.append([t, t + frame_s])
    spans = [(a, b) for a, b in spans if b - a >= min_span_s]
    # The VAD also fires on thuds and rumble: a line of dialogue has most of its energy in
    # the speech band.
    spans = [(a, b) for a, b in spans
             if speech_band_ratio(y[int(a * sample_rate):int(b * sample_rate)], sample_rate) >= min_band_ratio]
    return tuple(Span(round(float(a), 3), round(float(b), 3)) for a, b in spans)


def speech_band_ratio(y: np.ndarray, sample_rate: int, lo_hz: float = 250.0, hi_hz: float = 3500.0) -> float:
    """Share of the signal's energy between lo_hz and hi_hz."""
    if len(y) < 64:
        return 0.0
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / sample_rate)
    total = spec.sum()
    return float(spec[(freqs >= lo_hz) & (freqs <= hi_hz)].sum() / total) if total > 0 else 0.0
