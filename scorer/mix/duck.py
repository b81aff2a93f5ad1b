"""Dialogue ducking: a gain envelope that dips the music under every line."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from scorer.timebase import SAMPLE_RATE, s_to_sample
from scorer.types import Span


def duck_envelope_db(dialogue: Sequence[Span], *, start_sample: int, n: int,
                     depth_db: float = -8.0, attack_s: float = 0.5, release_s: float = 0.5,
                     lookahead_s: float = 0.25, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Gain in dB for timeline samples [start_sample, start_sample + n).

    The dip reaches depth_db `lookahead_s` before each line starts (the fade down begins
    attack_s earlier still), holds through the line and recovers over release_s.
    Overlapping dips take the deeper value rather than adding up.
    """
    env = np.zeros(n, dtype=np.float32)
    for span in dialogue:
        full_from = span.start_s - lookahead_s
        lo, hi = s_to_sample(full_from - attack_s) - start_sample, s_to_sample(span.end_s + release_s) - start_sample
        lo, hi = max(lo, 0), min(hi, n)
        if lo >= hi:
            continue
        tt = (np.arange(lo, hi) + start_sample) / sample_rate     # only where this line reaches
        down = np.clip((tt - (full_from - attack_s)) / attack_s, 0, 1)
        up = np.clip(((span.end_s + release_s) - tt) / release_s, 0, 1)
        shape = np.minimum(down, up)
        # Smooth (raised-cosine) shape in dB so the fades are not audible as steps.
        dip = depth_db * (0.5 - 0.5 * np.cos(np.pi * shape))
        env[lo:hi] = np.minimum(env[lo:hi], dip)
    return env
