"""Measuring where the rendered music actually attacks near each hit."""
from __future__ import annotations

import numpy as np

from scorer.timebase import SAMPLE_RATE, n_samples, s_to_sample, sample_to_s

WINDOW_S = 0.06      # an attack further than this from the hit does not count as landing it
CONTEXT_S = 0.5      # audio either side given to the onset detector
HOP = 64             # 1.3 ms at 48 kHz


def onset_window(t_s: float, *, n_total: int, sample_rate: int = SAMPLE_RATE) -> tuple[int, int]:
    """(start, n): the samples measured_onset_s looks at around t_s, inside [0, n_total)."""
    centre, ctx = s_to_sample(t_s, sample_rate), n_samples(CONTEXT_S, sample_rate)
    start = min(max(centre - ctx, 0), n_total)
    return start, min(centre + ctx, n_total) - start


def measured_onset_s(audio: np.ndarray, t_s: float, *, start_sample: int = 0,
                     sample_rate: int = SAMPLE_RATE, window_s: float = WINDOW_S) -> float | None:
    """Time (s) of the rendered attack nearest to t_s within ±window_s, or None.

    audio: (channels, n) whose sample 0 is timeline sample start_sample. Onsets come from
    librosa's spectral-flux detector with a fine hop, backtracked to where each attack
    begins (NOTES-deps: hop 128 reads ~5 ms late, backtracking ~0).
    """
    import librosa

    centre = s_to_sample(t_s, sample_rate) - start_sample
    ctx = n_samples(CONTEXT_S, sample_rate)
    lo, hi = max(centre - ctx, 0), min(centre + ctx, audio.shape[1])
    if hi - lo < HOP * 16:
        return None
    y = np.ascontiguousarray(audio[:, lo:hi].mean(axis=0), dtype=np.float32)
    if not np.any(y):
        return None
    found = librosa.onset.onset_detect(y=y, sr=sample_rate, hop_length=HOP, backtrack=True,
                                       units="samples")
    if len(found) == 0:
        return None
    times = sample_to_s(start_sample + lo + found, sample_rate)
    nearest = float(times[np.argmin(np.abs(times - t_s))])
    return nearest if abs(nearest - t_s) <= window_s else None
