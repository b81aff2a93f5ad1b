"""Room for the words: one rule for how far the music sits under each line of dialogue.

The rule is set by the voice, not by the loudness spec: during a line the music sits
`under_db` (default 12 dB) below that line's own level, both measured K-weighted over
the line's samples (mix/loudness.py SpanLoudness), and anything within `band_db`
(10–15 dB under) is right. Between lines the music is back at its own level. The
arrangement already thins under speech (compose/: fewer notes, nothing busy in the
speech band); the dip is only what the thinned music still needs to reach the target —
thinning and dipping share one budget, they do not stack. Where the thinned music has
fallen further under than the band, it is lifted (at most max_lift_db) rather than left
inaudible; where the deepest dip allowed (max_depth_db) is not enough, the line is
flagged, not hidden (`line_gains_db` says why).

The shape of one dip, in timeline order (a mixer's "duck with look-ahead"):

    full level ──╮ attack_s ╭── the line's gain from lookahead_s before the line ──╮ release_s ╭── full
                 ╰──────────╯   … through the line to its end …                     ╰──────────╯

so the music is already down when the first word comes (a ducker that waits for the voice
lets the first syllable fight the music), and comes back only after the line has ended.
The fades are raised-cosine in dB, so they have no corners to hear. Where dips overlap
the deeper one wins (and the higher of two lifts): consecutive lines do not dig the
music down further.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from scorer.errors import InputError
from scorer.timebase import SAMPLE_RATE, s_to_sample
from scorer.types import Span

SILENT_LUFS = -70.0       # BS.1770's absolute gate: below this a span counts as silence


@dataclass(frozen=True)
class Ducking:
    """How the music makes room for dialogue. under_db: how far under each line's own
    level the music sits (dB > 0), band_db: the range that counts as right; max_depth_db
    ≤ 0: the deepest dip allowed, max_lift_db ≥ 0: the most a thinned arrangement is
    lifted under a line; times in seconds ≥ 0."""
    under_db: float = 12.0
    band_db: tuple[float, float] = (10.0, 15.0)
    max_depth_db: float = -30.0
    max_lift_db: float = 6.0
    attack_s: float = 0.5       # the fade down (FILM.md: mixers duck with ~500 ms fades)
    release_s: float = 0.5      # the fade back up after the line
    lookahead_s: float = 0.25   # at the line's gain this long before the line starts

    def __post_init__(self):
        lo, hi = self.band_db
        if not (np.isfinite(self.under_db) and 0 < lo <= self.under_db <= hi):
            raise InputError(f"music under dialogue must be a positive dB figure inside its band "
                             f"{lo:g}–{hi:g}, got {self.under_db}")
        if not np.isfinite(self.max_depth_db) or self.max_depth_db > 0:
            raise InputError(f"the deepest dip under dialogue must be ≤ 0 dB, got {self.max_depth_db}")
        if not np.isfinite(self.max_lift_db) or self.max_lift_db < 0:
            raise InputError(f"the lift under dialogue must be ≥ 0 dB, got {self.max_lift_db}")
        for name in ("attack_s", "release_s", "lookahead_s"):
            v = getattr(self, name)
            if not np.isfinite(v) or v < 0:
                raise InputError(f"ducking {name} must be ≥ 0 s, got {v}")

    @property
    def active(self) -> bool:
        return self.max_depth_db < 0 or self.max_lift_db > 0


@dataclass(frozen=True)
class LineGain:
    """The rule's decision for one line: the gain the music gets under it, and where the
    target cannot be met, why (None where it is met)."""
    gain_db: float
    problem: str | None = None


def line_gain_db(dialogue_lufs: float, music_lufs: float, ducking: Ducking = Ducking()) -> LineGain:
    """The music's gain under one line: its K-weighted level over the line (as mixed,
    thinned, before any dip) brought to ducking.under_db under the line's own level,
    within max_depth_db…max_lift_db."""
    if dialogue_lufs <= SILENT_LUFS:
        return LineGain(0.0, "the line is silent in the cut's own sound: nothing to sit under")
    if music_lufs <= SILENT_LUFS:
        return LineGain(0.0, None)                      # the music rests: all the room is the voice's
    want = (dialogue_lufs - ducking.under_db) - music_lufs
    gain = min(max(want, ducking.max_depth_db), ducking.max_lift_db)
    under = dialogue_lufs - (music_lufs + gain)
    lo, hi = ducking.band_db
    if under < lo - 0.05:
        return LineGain(gain, f"the music stays {under:.1f} dB under the line: the deepest dip allowed "
                              f"({ducking.max_depth_db:g} dB) is not enough")
    if under > hi + 0.05:
        return LineGain(gain, f"the music is {under:.1f} dB under the line, thinned further than the lift "
                              f"allowed (+{ducking.max_lift_db:g} dB) brings back")
    return LineGain(gain, None)


def duck_envelope_db(dialogue: Sequence[Span], *, start_sample: int, n: int,
                     gains_db: Sequence[float], ducking: Ducking = Ducking(),
                     sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Gain in dB (n,) float32 for timeline samples [start_sample, start_sample + n): each
    line's gain (gains_db, one per line) shaped as in the module docstring.

    Each sample's value depends only on its own index, so any window of the timeline
    gives the same numbers as the whole (the mix computes it block by block).
    """
    if len(gains_db) != len(dialogue):
        raise ValueError(f"{len(gains_db)} gains for {len(dialogue)} lines of dialogue")
    dips = np.zeros(n, dtype=np.float32)
    lifts = np.zeros(n, dtype=np.float32)
    attack = s_to_sample(ducking.attack_s, sample_rate)
    release = s_to_sample(ducking.release_s, sample_rate)
    look = s_to_sample(ducking.lookahead_s, sample_rate)
    end = start_sample + n
    for span, gain in zip(dialogue, gains_db):
        if gain == 0.0:
            continue
        full_from = s_to_sample(span.start_s, sample_rate) - look   # at the line's gain from here …
        full_to = s_to_sample(span.end_s, sample_rate)              # … to here
        lo, hi = max(full_from - attack, start_sample), min(full_to + release, end)
        if lo >= hi:
            continue
        # At the line's gain throughout, but for the two ramps: 0 → 1 over the attack,
        # 1 → 0 over the release (a step where a time is 0), raised-cosine shaped.
        shape = np.full(hi - lo, gain, dtype=np.float32)
        for a, b in ((full_from - attack, full_from), (full_to, full_to + release)):
            a, b = max(a, lo), min(b, hi)
            if a >= b:
                continue
            k = np.arange(a, b, dtype=np.int64)                     # timeline samples
            down = (np.clip((k - (full_from - attack)) / attack, 0.0, 1.0) if attack
                    else (k >= full_from).astype(np.float64))
            up = (np.clip(((full_to + release) - k) / release, 0.0, 1.0) if release
                  else (k < full_to).astype(np.float64))
            shape[a - lo:b - lo] = gain * (0.5 - 0.5 * np.cos(np.pi * np.minimum(down, up)))
        window = slice(lo - start_sample, hi - start_sample)
        if gain < 0:
            np.minimum(dips[window], shape, out=dips[window])
        else:
            np.maximum(lifts[window], shape, out=lifts[window])
    return dips + lifts


def reach_samples(ducking: Ducking) -> tuple[int, int]:
    """How far before a line's start and after its end its gain reaches (samples)."""
    return (s_to_sample(ducking.attack_s + ducking.lookahead_s), s_to_sample(ducking.release_s))
