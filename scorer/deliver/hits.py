"""Measuring where the rendered music actually attacks near each hit."""
from __future__ import annotations

import numpy as np

from scorer.timebase import SAMPLE_RATE, s_to_sample

WINDOW_S = 0.06
HOP = 48            # 1 ms at 48 kHz
MIN_RISE_DB = 6.0


def measured_onset_s(audio: np.ndarray, t_s: float, *, start_sample: int = 0,
                     sample_rate: int = SAMPLE_RATE, window_s: float = WINDOW_S) -> float | None:
    """Time (s) of the attack nearest to t_s within ±window_s, or None if there is none.

    audio: (channels, n) whose sample 0 is timeline sample start_sample. Attacks are 1 ms
    frames where the log energy of the high-passed signal jumps (a note's start stands out
    from sustained notes): at least 6 dB, and at least half the window's largest jump, so a
    soft pickup note beside the accent counts but the noise of a sustain does not.
    """
    centre = s_to_sample(t_s, sample_rate) - start_sample
    w = int(window_s * sample_rate)
    lo, hi = max(centre - w - HOP * 4, 0), min(centre + w, audio.shape[1])
    if hi - lo < HOP * 8:
        return None
    x = audio[:, lo:hi].mean(axis=0)
    x = np.diff(x, prepend=x[0])                     # first difference: a gentle high-pass
    n = len(x) // HOP
    energy = (x[:n * HOP].reshape(n, HOP) ** 2).mean(axis=1)
    if energy.max() <= 1e-14:
        return None
    log_e = 10 * np.log10(energy + 1e-12)
    rise = np.diff(log_e, prepend=log_e[0])
    # Only frames inside the ±window count; the padding before gives the first a baseline.
    first = max((centre - w - lo) // HOP, 1)
    rise = rise[first:]
    if rise.max() < MIN_RISE_DB:
        return None
    attacks = np.flatnonzero(rise >= max(MIN_RISE_DB, 0.5 * rise.max())) + first
    times = (start_sample + lo + attacks * HOP) / sample_rate
    return float(times[np.argmin(np.abs(times - t_s))])
