"""Hit candidates from the analysis, ranked by strength, and which of them to score."""
from __future__ import annotations

import numpy as np

from scorer.timebase import frame_to_s, nearest_frame, s_to_frame
from scorer.types import Analysis, Hit


def frame_time_s(analysis: Analysis, frame: int) -> float:
    """When a frame is shown: its PTS time (exact for variable-frame-rate sources, equal to
    frame / fps for constant-rate ones)."""
    times = analysis.frame_times_s
    if 0 <= frame < len(times):
        return float(times[frame])
    return frame_to_s(frame, analysis.source.fps)


def _sound_frame(analysis: Analysis, t_s: float) -> int:
    """The frame a sound at t_s belongs to: the nearest frame start, ties going late (a
    frame late is better than early). Rounding up instead would move a sound that starts
    just after a frame boundary, e.g. on a cut, a whole frame late."""
    times = analysis.frame_times_s
    if len(times) == 0:
        return nearest_frame(t_s, analysis.source.fps)           # timebase's rule: ties go late
    i = int(np.searchsorted(times, t_s))
    if i == 0:
        return 0
    if i >= len(times):
        return len(times) - 1
    return i if times[i] - t_s <= t_s - times[i - 1] else i - 1


def candidates(analysis: Analysis) -> list[Hit]:
    """Every hit candidate on the cut: cuts (strength from how much the picture changes)
    and production-audio transients (strength from the onset envelope)."""
    hits: list[Hit] = []
    shots = analysis.shots
    for prev, shot in zip(shots, shots[1:]):
        if shot.transition_in != "cut":
            continue
        change = (abs(shot.brightness - prev.brightness) / 0.3 + abs(shot.motion - prev.motion) / 0.05)
        score = 0.0
        if len(analysis.cut_score) > shot.start_frame:
            score = float(analysis.cut_score[shot.start_frame])
        strength = float(np.clip(0.45 + 0.25 * min(change, 1.0) + 0.3 * min(score, 1.0), 0, 1))
        hits.append(Hit(t_s=frame_time_s(analysis, shot.start_frame), frame=shot.start_frame,
                        strength=round(strength, 4), kind="cut"))
    for frame, _name in analysis.markers:
        # The editor marked it: the strongest kind of hit there is.
        if 0 <= frame < analysis.source.n_frames:
            hits.append(Hit(t_s=frame_time_s(analysis, frame), frame=frame, strength=1.0, kind="marker"))
    for frame in analysis.flashes:
        # Lightning, a muzzle flash: a strong visual accent, not a new shot.
        lift = float(analysis.brightness[frame] - analysis.brightness[max(frame - 1, 0)]) \
            if len(analysis.brightness) > frame else 0.0
        hits.append(Hit(t_s=frame_time_s(analysis, frame), frame=frame,
                        strength=round(float(np.clip(0.6 + lift, 0, 1)), 4), kind="flash"))
    for t_s, strength in analysis.onsets:
        frame = _sound_frame(analysis, t_s)
        if frame >= analysis.source.n_frames:
            continue
        # Syllables are transients too, but a line of dialogue is not a hit point.
        if any(s.start_s <= t_s < s.end_s for s in analysis.dialogue):
            strength *= 0.3
        hits.append(Hit(t_s=frame_time_s(analysis, frame), frame=frame,
                        strength=round(float(np.clip(strength, 0, 1)), 4), kind="onset"))
    hits.extend(motion_peaks(analysis))
    # A cut and a sound on (almost) the same frame are one sync point: keep the stronger,
    # lifted, since picture and sound agree.
    hits.sort(key=lambda h: h.frame)
    merged: list[Hit] = []
    for h in hits:
        if merged and h.frame - merged[-1].frame <= 2:
            a, b = merged[-1], h
            keep = a if a.strength >= b.strength else b
            merged[-1] = Hit(keep.t_s, keep.frame, round(min(1.0, max(a.strength, b.strength) + 0.15), 4),
                             keep.kind)
        else:
            merged.append(h)
    return merged


def select(hits: list[Hit], *, start_s: float, end_s: float, min_spacing_s: float = 2.0,
           max_per_min: float = 12.0, min_strength: float = 0.35, margin_s: float = 1.0,
           keep_per_min: float = 30.0) -> tuple[Hit, ...]:
    """Hits of one cue: the strongest scored (spaced, capped per minute: no mickey-mousing),
    weaker ones kept as unscored candidates. Hits near the cue's edges are not scored:
    the cue's start is itself a sync point and its end has the button."""
    inside = [h for h in hits if start_s <= h.t_s < end_s]
    duration = end_s - start_s
    cap = max(1, int(duration * max_per_min / 60))
    ranked = sorted(inside, key=lambda h: (-h.strength, h.t_s))
    chosen: list[Hit] = []
    for h in ranked:
        if len(chosen) >= cap or h.strength < min_strength:
            break
        if h.t_s - start_s < margin_s or end_s - h.t_s < margin_s:
            continue
        if all(abs(h.t_s - c.t_s) >= min_spacing_s for c in chosen):
            chosen.append(h)
    chosen_frames = {h.frame for h in chosen}
    keep = max(len(chosen), int(duration * keep_per_min / 60))
    kept = [h for h in ranked if h.frame not in chosen_frames][:max(keep - len(chosen), 0)]
    out = [Hit(h.t_s, h.frame, h.strength, h.kind, scored=True) for h in chosen] + kept
    return tuple(sorted(out, key=lambda h: h.t_s))


def motion_peaks(analysis: Analysis, *, window_s: float = 0.5, min_excess: float = 4.0) -> list[Hit]:
    """Sudden bursts of movement inside a shot (a punch, a door flung open): frames whose
    motion is the largest within ±window_s and stands min_excess robust deviations above
    the cut's typical motion. Cut frames are left out (their "motion" is the cut)."""
    motion = np.asarray(analysis.motion, dtype=np.float64)
    fps = analysis.source.fps
    if len(motion) < 8:
        return []
    median = float(np.median(motion))
    mad = float(np.median(np.abs(motion - median))) + 1e-4
    w = max(1, s_to_frame(window_s, fps))            # the frames within ±window_s
    from scipy.ndimage import maximum_filter1d

    local_max = maximum_filter1d(motion, size=2 * w + 1, mode="nearest")
    boundaries = np.array([s.start_frame for s in analysis.shots[1:]] + list(analysis.flashes))
    out = []
    for k in np.flatnonzero((motion == local_max) & (motion > median + min_excess * mad)):
        if len(boundaries) and np.min(np.abs(boundaries - k)) <= 3:
            continue
        excess = (motion[k] - median) / mad
        out.append(Hit(t_s=frame_time_s(analysis, int(k)), frame=int(k),
                       strength=round(float(np.clip(0.3 + 0.02 * excess, 0, 0.8)), 4), kind="motion"))
    return out
