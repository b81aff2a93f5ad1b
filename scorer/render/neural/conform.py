"""A take measured against the tempo map, and conformed where it drifts, so hits land.

The take's beats are tracked (librosa, seeded with the cue's tempo) and matched to the
tempo map's beats; each bar's drift is the median offset of its matched beats. Where
the largest drift exceeds the tolerance, every bar is time-stretched (Rubber Band,
through pedalboard: pitch kept) from where it was played to where the map puts it. Each
scored hit's error is measured before and after: where the map says the hit's beat falls,
minus where the take plays that beat. Arrays are (channels, samples) float32; times in
the take's own seconds (0 = the clip's first sample) unless named *_timeline_s.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorer.timebase import beat_s, n_samples, s_to_sample, sample_to_s
from scorer.types import CueScore

TOLERANCE_S = 0.020          # drift below this is left alone (about half a frame at 24 fps)
MAX_STRETCH = 1.12           # a bar is never stretched beyond ±12 % (audible artefacts)
MATCH_BEATS = 0.3            # a tracked beat counts for the map's beat within ±0.3 beat
SEAM_S = 0.010               # crossfade between stretched bars
TRACK_RATE = 22050           # beats are tracked at this rate (enough for onsets, half the work)
TRACK_HOP = 128              # 5.8 ms frames
# librosa's onset envelope peaks after an attack begins: 13 ms (± 4) on 15 ms noise
# bursts at these settings, measured; subtracted so a beat on time reads as on time.
ONSET_LATENCY_S = 0.013


@dataclass(frozen=True)
class HitError:
    """A scored hit's error in the take: (take's beat time − hit time), seconds."""
    t_timeline_s: float
    beat: float
    error_s: float | None     # None where no tracked beat is near enough to tell

    def to_dict(self) -> dict:
        return {"t_s": self.t_timeline_s, "beat": self.beat, "error_s": self.error_s}


@dataclass(frozen=True)
class ConformReport:
    applied: bool
    reason: str
    tempo_bpm: float                                  # the map's tempo at the cue start
    tracked_tempo_bpm: float
    n_beats_matched: int
    max_drift_s: float | None
    bar_stretch: tuple[float, ...]                    # per bar: played length / map length
    hits_before: tuple[HitError, ...]
    hits_after: tuple[HitError, ...]

    def to_dict(self) -> dict:
        return {"applied": self.applied, "reason": self.reason, "tempo_bpm": self.tempo_bpm,
                "tracked_tempo_bpm": self.tracked_tempo_bpm, "n_beats_matched": self.n_beats_matched,
                "max_drift_s": self.max_drift_s, "bar_stretch": list(self.bar_stretch),
                "hits_before": [h.to_dict() for h in self.hits_before],
                "hits_after": [h.to_dict() for h in self.hits_after]}


def track_beats(y: np.ndarray, sample_rate: int, *, tempo_bpm: float) -> tuple[np.ndarray, float]:
    """(beat times s, tracked tempo bpm) of (channels, n) audio; the tracker starts from tempo_bpm."""
    import librosa
    from scipy.signal import resample_poly

    mono = np.asarray(y, np.float32).mean(axis=0)
    if sample_rate != TRACK_RATE:
        g = int(np.gcd(sample_rate, TRACK_RATE))
        mono = resample_poly(mono, TRACK_RATE // g, sample_rate // g).astype(np.float32)
    env = librosa.onset.onset_strength(y=mono, sr=TRACK_RATE, hop_length=TRACK_HOP)
    tempo, frames = librosa.beat.beat_track(onset_envelope=env, sr=TRACK_RATE, hop_length=TRACK_HOP,
                                            start_bpm=tempo_bpm, tightness=400, trim=False)
    times = librosa.frames_to_time(frames, sr=TRACK_RATE, hop_length=TRACK_HOP) - ONSET_LATENCY_S
    return times, float(np.atleast_1d(tempo)[0])


def beat_offsets(tracked_s: np.ndarray, expected_s: np.ndarray, *, beat_len_s: np.ndarray) -> np.ndarray:
    """For each expected beat, (nearest tracked beat − expected), NaN where none is within
    MATCH_BEATS of a beat."""
    out = np.full(len(expected_s), np.nan)
    if len(tracked_s) == 0:
        return out
    idx = np.clip(np.searchsorted(tracked_s, expected_s), 1, max(len(tracked_s) - 1, 1))
    for i, (e, bl) in enumerate(zip(expected_s, beat_len_s)):
        cands = tracked_s[max(idx[i] - 1, 0):idx[i] + 1]
        j = np.argmin(np.abs(cands - e))
        if abs(cands[j] - e) <= MATCH_BEATS * bl:
            out[i] = cands[j] - e
    return out


def _map_beats(cs: CueScore, start_timeline_s: float, length_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(beat index, beat time in take seconds, beat length s) of the map's beats inside the take."""
    tm = cs.tempo_map
    b0 = int(np.ceil(tm.s_to_beat(start_timeline_s) - 1e-9))
    b1 = int(np.floor(tm.s_to_beat(start_timeline_s + length_s)))
    beats = np.arange(b0, b1 + 1)
    times = np.array([tm.beat_to_s(b) - start_timeline_s for b in beats])
    lens = np.array([beat_s(tm.tempo_at_s(tm.beat_to_s(b))) for b in beats])
    return beats, times, lens


def _offset_at(t_s: np.ndarray, times: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(offsets)
    if not ok.any():
        return np.full(np.shape(t_s), np.nan)
    return np.interp(t_s, times[ok], offsets[ok])


def hit_errors(cs: CueScore, *, start_timeline_s: float, times: np.ndarray, offsets: np.ndarray) -> tuple[HitError, ...]:
    """Each scored hit's error: the take plays its beat at map time + the drift there."""
    out = []
    for fit in cs.hit_fits:
        if not fit.hit.scored:
            continue
        beat_take_s = cs.tempo_map.beat_to_s(fit.beat) - start_timeline_s
        near = np.abs(times - beat_take_s) <= 2 * beat_s(cs.tempo_map.tempo_at_s(fit.hit.t_s))
        if not (near & ~np.isnan(offsets)).any():
            out.append(HitError(fit.hit.t_s, fit.beat, None))
            continue
        drift = float(_offset_at(np.array([beat_take_s]), times, offsets)[0])
        out.append(HitError(fit.hit.t_s, fit.beat, round(beat_take_s + drift + start_timeline_s - fit.hit.t_s, 6)))
    return tuple(out)


def _stretch(segment: np.ndarray, sample_rate: int, n_out: int) -> np.ndarray:
    from pedalboard import time_stretch

    if segment.shape[1] == n_out or segment.shape[1] < 64:
        y = segment
    else:
        y = time_stretch(np.ascontiguousarray(segment, np.float32), float(sample_rate),
                         stretch_factor=segment.shape[1] / n_out)
    if y.shape[1] >= n_out:
        return y[:, :n_out]
    return np.concatenate([y, np.zeros((y.shape[0], n_out - y.shape[1]), np.float32)], axis=1)


def conform(y: np.ndarray, sample_rate: int, cs: CueScore, *, start_timeline_s: float, end_s: float | None = None,
            tolerance_s: float = TOLERANCE_S) -> tuple[np.ndarray, ConformReport]:
    """The take y (its sample 0 at start_timeline_s) measured against cs.tempo_map and, where
    a bar drifts by more than tolerance_s, stretched bar by bar onto the map; the result
    has y's length. end_s (take seconds): conform only up to here (the designed tail after
    it is left as played)."""
    n = y.shape[1]
    length_s = sample_to_s(n, sample_rate) if end_s is None else min(end_s, sample_to_s(n, sample_rate))
    tempo = cs.tempo_map.tempo_at_s(start_timeline_s)
    beats, times, lens = _map_beats(cs, start_timeline_s, length_s)
    tracked, tracked_bpm = track_beats(y[:, :s_to_sample(length_s, sample_rate)], sample_rate, tempo_bpm=tempo)
    offsets = beat_offsets(tracked, times, beat_len_s=lens)
    before = hit_errors(cs, start_timeline_s=start_timeline_s, times=times, offsets=offsets)
    matched = int((~np.isnan(offsets)).sum())

    def report(applied, reason, drift, stretch, after):
        return ConformReport(applied, reason, tempo, tracked_bpm, matched, drift, tuple(stretch), before, after)

    if matched < 2:
        return y, report(False, f"too few beats tracked to measure ({matched} matched of {len(times)})",
                         None, (), before)
    bpb = cs.tempo_map.beats_per_bar
    bar_lines = [i for i, b in enumerate(beats) if b % bpb == 0]
    bar_t = times[bar_lines]
    bar_drift = _offset_at(bar_t, times, offsets)
    max_drift = float(np.max(np.abs(bar_drift))) if len(bar_drift) else float(np.nanmax(np.abs(offsets)))
    if max_drift <= tolerance_s:
        return y, report(False, f"within tolerance ({max_drift * 1000:.1f} ms ≤ {tolerance_s * 1000:.0f} ms)",
                         max_drift, (), before)
    # Anchors: take start stays put; each bar line moves from where it was played to the map;
    # the conformed span ends where the map's last bar line inside it is.
    src = [0.0] + [t + d for t, d in zip(bar_t, bar_drift) if 0 < t + d < length_s and t > 0]
    dst = [0.0] + [t for t, d in zip(bar_t, bar_drift) if 0 < t + d < length_s and t > 0]
    src.append(length_s + (bar_drift[-1] if len(bar_drift) else 0.0))
    dst.append(length_s)
    src[-1] = min(max(src[-1], src[-2] + 1e-3), sample_to_s(n, sample_rate))
    pieces, stretch = [], []
    seam = n_samples(SEAM_S, sample_rate)
    for (s0, s1), (d0, d1) in zip(zip(src, src[1:]), zip(dst, dst[1:])):
        ratio = (s1 - s0) / max(d1 - d0, 1e-6)
        ratio = min(max(ratio, 1 / MAX_STRETCH), MAX_STRETCH)
        stretch.append(round(ratio, 5))
        a, b = s_to_sample(s0, sample_rate), s_to_sample(s1, sample_rate)
        n_out = s_to_sample(d1, sample_rate) - s_to_sample(d0, sample_rate)
        pieces.append(_stretch(y[:, a:min(b + seam, n)], sample_rate, n_out + seam))
    out = pieces[0]
    for piece in pieces[1:]:
        # Bars of one take are correlated at the join: a linear (equal-gain) crossfade.
        k = min(seam, out.shape[1], piece.shape[1])
        ramp = np.linspace(0, 1, k, dtype=np.float32)
        out = np.concatenate([out[:, :out.shape[1] - k],
                              out[:, out.shape[1] - k:] * (1 - ramp) + piece[:, :k] * ramp, piece[:, k:]], axis=1)
    conformed_n = s_to_sample(length_s, sample_rate)
    out = out[:, :conformed_n]
    rest = y[:, s_to_sample(src[-1], sample_rate):]
    result = np.concatenate([out, rest], axis=1)
    result = result[:, :n] if result.shape[1] >= n else np.pad(result, ((0, 0), (0, n - result.shape[1])))
    tracked2, _ = track_beats(result[:, :conformed_n], sample_rate, tempo_bpm=tempo)
    after = hit_errors(cs, start_timeline_s=start_timeline_s, times=times,
                       offsets=beat_offsets(tracked2, times, beat_len_s=lens))
    return result.astype(np.float32), report(True, f"bars drifted up to {max_drift * 1000:.1f} ms", max_drift,
                                             stretch, after)
