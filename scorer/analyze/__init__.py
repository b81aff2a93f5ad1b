"""analyze(cut) → Analysis: shots, picture features, production-audio loudness, onsets and
dialogue. The picture is decoded in a worker process while the sound is analysed here."""
from __future__ import annotations

import os
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from scorer.analyze.shots import detect, shots_from_cuts
from scorer.analyze.sound import ANALYSIS_RATE, dialogue_spans, loudness_curve, onsets
from scorer.analyze.picture import LAGS
from scorer.types import Analysis

ProgressFn = Callable[[str, float, float], None]


def analyze(path: str | os.PathLike, *, progress: ProgressFn | None = None) -> Analysis:
    """Measure the cut at `path`. progress(stage, done, total) is called as work advances."""
    from scorer.io.video import VideoJob, decode_audio, probe

    t0 = time.perf_counter()
    source = probe(path)
    job = VideoJob(path, duration_s=source.duration_s, progress=progress)
    job.expected_frames = source.n_frames

    # The sound is analysed here while the worker decodes the picture (2 cores, 2 jobs).
    t_audio = time.perf_counter()
    y = decode_audio(path, sample_rate=ANALYSIS_RATE, mono=True)[0] if source.has_audio else np.zeros(0, np.float32)
    if progress:
        progress("audio", 1, 3)
    loud_t, loud_db = loudness_curve(y, sample_rate=ANALYSIS_RATE)
    found_onsets = onsets(y, sample_rate=ANALYSIS_RATE) if len(y) else ()
    if progress:
        progress("audio", 2, 3)
    dialogue = dialogue_spans(y, sample_rate=ANALYSIS_RATE) if len(y) else ()
    if progress:
        progress("audio", 3, 3)
    audio_s = time.perf_counter() - t_audio

    video = job.result()
    pts = video["pts_s"]
    n_frames = len(pts)
    fps = source.fps
    # Times relative to the first picture: the cut's first frame is t = 0.
    frame_times = pts - pts[0]
    source = replace(source, n_frames=n_frames, duration_s=float(n_frames / fps))
    trans = detect(video["diff"], {lag: video[f"lag{lag}"] for lag in LAGS}, fps=fps)
    shots = shots_from_cuts(trans.cuts, n_frames=n_frames, fps=fps, motion=video["motion"],
                            brightness=video["brightness"])
    if progress:
        progress("video", n_frames, n_frames)
    dialogue = tuple(s for s in dialogue if s.start_s < source.duration_s)
    return Analysis(
        source=source, shots=shots, dialogue=dialogue, frame_times_s=frame_times,
        motion=video["motion"], brightness=video["brightness"], warmth=video["warmth"],
        saturation=video["saturation"], cut_score=np.minimum(trans.score / 10, 1).astype(np.float32),
        loudness_t_s=loud_t, loudness_db=loud_db,
        onsets=tuple(o for o in found_onsets if o[0] < source.duration_s),
        flashes=tuple(int(f) for f in trans.flashes),
        timings_s={"video_wall": time.perf_counter() - t0, "audio": audio_s})
