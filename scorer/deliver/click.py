"""A click track for the composer and the music editor: every beat of every cue's tempo
map (a higher click on downbeats), with a one-bar count-in before each cue at its first
tempo where there is room for it (after the start of the cut and the previous cue's end).
It is a separate file, never part of the mix.
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from scorer.timebase import SAMPLE_RATE, s_to_sample
from scorer.types import Score

CLICK_S = 0.03
DOWNBEAT_HZ, BEAT_HZ = 2000.0, 1000.0
LEVEL = 0.5


def click_times(score: Score) -> list[tuple[float, bool]]:
    """(t_s, is_downbeat) of every click, in time order, count-ins included."""
    out: list[tuple[float, bool]] = []
    prev_end = 0.0
    for cs in score.cues:
        tm = cs.tempo_map
        bpb = tm.beats_per_bar
        beat0 = 60.0 / tm.segments[0].tempo_bpm
        for k in range(bpb):                       # the count-in: one bar before the cue
            t = cs.cue.start_s - (bpb - k) * beat0
            if t >= max(prev_end, 0.0) - 1e-9:
                out.append((t, k == 0))
        end_beat = tm.s_to_beat(cs.cue.end_s)
        b = math.ceil(tm.segments[0].start_beat - 1e-9)      # negative after a pickup
        while b <= end_beat + 1e-9:
            out.append((tm.beat_to_s(b), b % bpb == 0))
            b += 1
        prev_end = cs.cue.end_s
    return sorted(out)


def _click(hz: float) -> np.ndarray:
    t = np.arange(s_to_sample(CLICK_S)) / SAMPLE_RATE
    return (LEVEL * np.sin(2 * np.pi * hz * t) * np.exp(-t / (CLICK_S / 5))).astype(np.float32)


def click_blocks(score: Score, *, n_total: int, block: int = SAMPLE_RATE * 10) -> Iterator[np.ndarray]:
    """The click track, full length from the cut's first frame, as (2, n) blocks."""
    hi, lo = _click(DOWNBEAT_HZ), _click(BEAT_HZ)
    starts = [(s_to_sample(t), hi if down else lo) for t, down in click_times(score)]
    for a in range(0, n_total, block):
        b = min(n_total, a + block)
        out = np.zeros(b - a, np.float32)
        for s, k in starts:
            if s < b and s + len(k) > a:
                lo_i, hi_i = max(s, a), min(s + len(k), b)
                out[lo_i - a:hi_i - a] += k[lo_i - s:hi_i - s]
        yield np.stack([out, out])
