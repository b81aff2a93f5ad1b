"""analyze(cut) → Analysis: shots, picture features, production-audio loudness, onsets and
dialogue. The picture is decoded in a worker process while the sound is analysed here."""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import replace
from fractions import Fraction
from typing import Callable

import numpy as np

from scorer.analyze.shots import (boundaries, describe_shots, find_cuts, find_dissolves,
                                  find_fades, shots_from_boundaries)
from scorer.analyze.sound import ANALYSIS_RATE, dialogue_spans, loudness_curve, onsets
from scorer.errors import InputError
from scorer.timebase import frame_to_s
from scorer.types import Analysis, Transition, Span

ProgressFn = Callable[[str, float, float], None]

# Frame times within this fraction of a frame of k / fps are constant-rate video with
# rounded timestamps, and are snapped to k / fps exactly.
_CFR_TOLERANCE_FRAMES = 0.25
# Fewer decoded frames than this share of the header's count: the file is cut short.
_TRUNCATED_SHARE = 0.9


def analyze(path: str | os.PathLike, *, progress: ProgressFn | None = None) -> Analysis:
    """Measure the cut at `path`: shots (cuts exact to the frame), per-frame motion and
    looks, flashes, and the production audio's loudness, onsets and dialogue.

    progress(stage, done, total) is called as work advances: stage "video" (frames
    decoded, from a helper thread) and "audio" (steps). Raises InputError naming the file
    if it cannot be analysed. Called from a script, the call must sit under
    `if __name__ == "__main__":` (the picture worker is a spawned process).
    """
    from scorer.analyze.picture import PictureFeatures
    from scorer.io.video import PictureJob, probe

    t_start = time.perf_counter()
    source = probe(path)
    with PictureJob(path, features=PictureFeatures, progress=progress) as job:
        # The sound is analysed here while the worker decodes the picture: 2 jobs, 2 cores.
        t_audio = time.perf_counter()
        sound = _analyse_sound(path, has_audio=source.has_audio, progress=progress)
        audio_s = time.perf_counter() - t_audio
        video = job.result()
    t_detect = time.perf_counter()
    arrays = video["arrays"]
    n_frames = len(arrays["pts"])
    if n_frames == 0:
        raise InputError("contains no decodable video frames", path=str(path))
    header = video["header_frames"]
    if header and n_frames < _TRUNCATED_SHARE * header:
        raise InputError(f"is truncated: only {n_frames} of the {header} video frames its "
                         "header lists could be decoded", path=str(path))
    if header and n_frames < header - 2:
        warnings.warn(f"{path}: decoded {n_frames} video frames, its header lists {header}; "
                      "the analysis covers the decoded frames", RuntimeWarning, stacklevel=2)
    frame_times_s, end_s = _frame_times(arrays["pts"], video["time_base"], source.fps)
    source = replace(source, n_frames=n_frames, duration_s=end_s)
    found = find_cuts(arrays["change"], fps=source.fps, brightness=arrays["brightness"],
                      residual=arrays["residual"])
    fades = find_fades(arrays["brightness"], arrays["contrast"], flashes=found.flashes)
    dissolves = find_dissolves(arrays["long_change"], arrays["change"], arrays["contrast"],
                               cuts=found.cuts)
    shots = shots_from_boundaries(boundaries(found.cuts, fades + dissolves), frame_times_s=frame_times_s,
                                  end_s=end_s, motion=arrays["motion"], brightness=arrays["brightness"])
    shots = describe_shots(shots, arrays)
    loud_t, loud_db = loudness_curve(sound["y"], sample_rate=ANALYSIS_RATE, duration_s=end_s)
    detect_s = time.perf_counter() - t_detect
    return Analysis(
        source=source, shots=shots,
        dialogue=tuple(Span(s.start_s, min(s.end_s, end_s)) for s in sound["dialogue"] if s.start_s < end_s),
        frame_times_s=frame_times_s, motion=arrays["motion"], brightness=arrays["brightness"],
        warmth=arrays["warmth"], saturation=arrays["saturation"], contrast=arrays["contrast"],
        cut_score=np.clip(found.score, 0, 1).astype(np.float32),
        loudness_t_s=loud_t, loudness_db=loud_db,
        onsets=tuple(o for o in sound["onsets"] if o[0] < end_s),
        flashes=found.flashes,
        transitions=tuple(Transition(float(frame_times_s[a]),
                                     float(frame_times_s[b]) if b < n_frames else end_s, kind)
                          for a, _, b, kind in sorted(fades + dissolves, key=lambda t: (t[0], t[2]))),
        timings_s={"video": round(job.wall_s, 3), "audio": round(audio_s, 3),
                   "detect": round(detect_s, 3), "total": round(time.perf_counter() - t_start, 3)})


def _analyse_sound(path, *, has_audio: bool, progress: ProgressFn | None) -> dict:
    """Production audio at ANALYSIS_RATE mono: its onsets and dialogue (none without sound)."""
    from scorer.io.video import decode_audio

    steps = 3
    if not has_audio:
        if progress:
            progress("audio", steps, steps)
        return {"y": np.zeros(0, dtype=np.float32), "onsets": (), "dialogue": ()}
    y = decode_audio(path, sample_rate=ANALYSIS_RATE, mono=True)[0]
    if progress:
        progress("audio", 1, steps)
    found_onsets = onsets(y, sample_rate=ANALYSIS_RATE)
    if progress:
        progress("audio", 2, steps)
    dialogue = dialogue_spans(y, sample_rate=ANALYSIS_RATE)
    if progress:
        progress("audio", 3, steps)
    return {"y": y, "onsets": found_onsets, "dialogue": dialogue}


def _frame_times(pts: np.ndarray, time_base: Fraction, fps: Fraction) -> tuple[np.ndarray, float]:
    """Start time (s) of each decoded frame relative to the first, and the end of the last.

    Constant-rate video (every PTS within a quarter frame of k / fps) gets exactly
    frame_to_s(k, fps), so cut times are frame-snapped; variable-rate video keeps its PTS
    times. The last frame lasts as long as the one before it (1 / fps if it is alone).
    """
    n = len(pts)
    rel = (pts - pts[0]).astype(np.float64) * float(time_base)
    grid = frame_to_s(np.arange(n), fps)
    if np.all(np.abs(rel - grid) < frame_to_s(_CFR_TOLERANCE_FRAMES, fps)):
        return grid, frame_to_s(n, fps)
    exact = [float((int(p) - int(pts[0])) * time_base) for p in pts]
    last = exact[-1] - exact[-2] if n > 1 else frame_to_s(1, fps)
    return np.array(exact), exact[-1] + last

