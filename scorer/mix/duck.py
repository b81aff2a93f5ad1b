"""Dialogue ducking: a gain envelope that dips the music under every line.

The shape of one dip, in timeline order (a mixer's "duck with look-ahead"):

    full level ──╮ attack_s ╭── depth_db from lookahead_s before the line ──╮ release_s ╭── full
                 ╰──────────╯   … through the line to its end …              ╰──────────╯

so the music is already down when the first word comes (a ducker that waits for the voice
lets the first syllable fight the music), and comes back only after the line has ended.
The fades are raised-cosine in dB, so they have no corners to hear. Where dips overlap
the deeper one wins: consecutive lines do not dig the music down further.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from scorer.errors import InputError
from scorer.timebase import SAMPLE_RATE, s_to_sample
from scorer.types import Span


@dataclass(frozen=True)
class Ducking:
    """How the music dips under dialogue. depth_db ≤ 0; times in seconds ≥ 0."""
    depth_db: float = -8.0      # FILM.md: mixers duck e.g. −8 dB with ~500 ms fades
    attack_s: float = 0.5       # the fade down
    release_s: float = 0.5      # the fade back up after the line
    lookahead_s: float = 0.25   # full depth this long before the line starts

    def __post_init__(self):
        if not np.isfinite(self.depth_db) or self.depth_db > 0:
            raise InputError(f"ducking depth must be ≤ 0 dB, got {self.depth_db}")
        for name in ("attack_s", "release_s", "lookahead_s"):
            v = getattr(self, name)
            if not np.isfinite(v) or v < 0:
                raise InputError(f"ducking {name} must be ≥ 0 s, got {v}")


def duck_envelope_db(dialogue: Sequence[Span], *, start_sample: int, n: int,
                     ducking: Ducking = Ducking(), sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Gain in dB (n,) float32 for timeline samples [start_sample, start_sample + n).

    Each sample's value depends only on its own index, so any window of the timeline
    gives the same numbers as the whole (the mix computes it block by block).
    """
    env = np.zeros(n, dtype=np.float32)
    if ducking.depth_db == 0.0:
        return env
    attack = s_to_sample(ducking.attack_s, sample_rate)
    release = s_to_sample(ducking.release_s, sample_rate)
    look = s_to_sample(ducking.lookahead_s, sample_rate)
    end = start_sample + n
    for span in dialogue:
        full_from = s_to_sample(span.start_s, sample_rate) - look   # at depth from here …
        full_to = s_to_sample(span.end_s, sample_rate)              # … to here
        lo, hi = max(full_from - attack, start_sample), min(full_to + release, end)
        if lo >= hi:
            continue
        k = np.arange(lo, hi, dtype=np.int64)                       # timeline samples
        # 0 → 1 over the attack, 1 → 0 over the release (a step where a time is 0)
        down = (np.clip((k - (full_from - attack)) / attack, 0.0, 1.0) if attack
                else (k >= full_from).astype(np.float64))
        up = (np.clip(((full_to + release) - k) / release, 0.0, 1.0) if release
              else (k < full_to).astype(np.float64))
        shape = np.minimum(down, up)
        dip = (ducking.depth_db * (0.5 - 0.5 * np.cos(np.pi * shape))).astype(np.float32)
        np.minimum(env[lo - start_sample:hi - start_sample], dip, out=env[lo - start_sample:hi - start_sample])
    return env
