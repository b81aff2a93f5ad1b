"""A click track for the composer and the music editor: every beat of every cue's tempo
map from its start to its end (a higher click on downbeats), with a one-bar count-in
before each cue. It is a separate file, never part of the mix.

The count-in is the bar before the cue's first beat on the cue's own grid, at its first
tempo: after a pickup its downbeat still falls where the music's bar lines would. Only
the count-in beats that fit are kept: at or after the cut's first frame, and at least half
a beat after the previous cue's last click (so two clicks never run into each other);
where none fit, the previous cue's clicks lead into the cue.
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from scorer.timebase import beat_s, n_samples, s_to_sample, sample_to_s
from scorer.types import Score

CLICK_S = 0.03
DOWNBEAT_HZ, BEAT_HZ = 2000.0, 1000.0
LEVEL = 0.5


def click_times(score: Score) -> list[tuple[float, bool]]:
    """(t_s, is_downbeat) of every click, in time order, count-ins included."""
    out: list[tuple[float, bool]] = []
    for cs in sorted(score.cues, key=lambda cs: cs.cue.start_s):
        tm = cs.tempo_map
        bpb = tm.beats_per_bar
        first = math.ceil(tm.s_to_beat(cs.cue.start_s) - 1e-9)   # negative after a pickup
        gap_s = 0.5 * beat_s(tm.segments[0].tempo_bpm)
        # The previous cue's last clicks give way to this cue's first beat (a cue that
        # ends where the next starts would otherwise click twice there).
        while out and out[-1][0] > tm.beat_to_s(first) - gap_s:
            out.pop()
        last_click_s = out[-1][0] if out else -math.inf
        for b in range(first - bpb, first):                        # beat_to_s extrapolates
            t = tm.beat_to_s(b)                                    # the first tempo backwards
            if t >= 0.0 and t >= last_click_s + gap_s:
                out.append((t, b % bpb == 0))
        end_beat = tm.s_to_beat(cs.cue.end_s)
        b = first
        while b <= end_beat + 1e-9:
            out.append((tm.beat_to_s(b), b % bpb == 0))
            b += 1
    return out


def _click(hz: float) -> np.ndarray:
    t = sample_to_s(np.arange(n_samples(CLICK_S)))
    return (LEVEL * np.sin(2 * np.pi * hz * t) * np.exp(-t / (CLICK_S / 5))).astype(np.float32)


def click_blocks(score: Score, *, n_total: int, block: int = n_samples(10.0)) -> Iterator[np.ndarray]:
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
