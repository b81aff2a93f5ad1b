"""The theme: a short motif in scale degrees that recurs across the cues of a score.

A theme is generated from the seed (make_motif) or supplied by the user (theme_from_midi,
theme_from_audio). It is stored in scale degrees and beats, so each cue sets it in its own
key, mode, chords, register and instrument.
"""
from __future__ import annotations

import numpy as np

from scorer.types import Motif, MotifNote

__all__ = ["Motif", "MotifNote", "make_motif"]


# --- a generated theme -----------------------------------------------------------------------------------

_CELLS = {
    2: (((2.0,), 2), ((1.0, 1.0), 3), ((1.5, 0.5), 2), ((0.5, 0.5, 1.0), 2), ((1.0, 0.5, 0.5), 1)),
    3: (((2.0, 1.0), 3), ((1.0, 1.0, 1.0), 2), ((1.5, 0.5, 1.0), 2), ((1.0, 2.0), 2), ((3.0,), 1)),
}


def _groups(beats_per_bar: int) -> list[int]:
    """A bar as groups of 2 and 3 beats (4 = 2+2, 3 = 3, 5 = 3+2, 7 = 3+2+2)."""
    if beats_per_bar % 2 == 0:
        return [2] * (beats_per_bar // 2)
    return [3] + [2] * ((beats_per_bar - 3) // 2)


def _cell(rng: np.random.Generator, size: int) -> tuple[float, ...]:
    cells = _CELLS[size]
    w = np.array([c[1] for c in cells], dtype=float)
    return cells[int(rng.choice(len(cells), p=w / w.sum()))][0]


def _walk(rng: np.random.Generator, start: int, n: int, *, lo: int = -3, hi: int = 9) -> list[int]:
    """n scale degrees from `start`: mostly steps, the odd leap, a leap answered by a step
    back (gap fill)."""
    out, prev_leap = [start], 0
    for _ in range(n - 1):
        if prev_leap:
            step = -int(np.sign(prev_leap))
        elif rng.random() < 0.18:
            step = int(rng.choice([-4, -3, 3, 4, 5]))
        else:
            step = int(rng.choice([-2, -1, 1, 2], p=[0.15, 0.35, 0.35, 0.15]))
        d = out[-1] + step
        if not lo <= d <= hi:
            d = out[-1] - step
        prev_leap = step if abs(step) >= 3 else 0
        out.append(d)
    return out


def make_motif(seed: int, beats_per_bar: int) -> Motif:
    """The theme for a score: the same seed and meter give the same theme in every cue
    (each cue sets it in its own key, mode and chords)."""
    rng = np.random.default_rng([int(seed), int(beats_per_bar), 0x7E3E])
    groups = _groups(beats_per_bar)
    rhythm: list[tuple[float, float]] = []     # (onset, length) in beats over two bars
    t = 0.0
    for g in groups:                           # bar 1
        for length in _cell(rng, g):
            rhythm.append((t, length))
            t += length
    for g in groups[:-1]:                      # bar 2, ending on a long note
        for length in _cell(rng, g):
            rhythm.append((t, length))
            t += length
    rhythm.append((t, float(groups[-1])))
    # A rest on the first beat now and then: the theme enters after the bar line.
    if rng.random() < 0.3 and rhythm[0][1] <= 1.0:
        rhythm = rhythm[1:]
    n = len(rhythm)
    start = int(rng.choice([0, 2, 4], p=[0.3, 0.3, 0.4]))
    degrees = _walk(rng, start, n)
    # The statement ends open (third or fifth), the answer closes on the tonic.
    degrees[-1] = min((2, 4, 7, 9), key=lambda d: (abs(d - degrees[-2]), d))
    statement = tuple(MotifNote(o, l, d) for (o, l), d in zip(rhythm, degrees))
    shift = int(rng.choice([0, 1, -1, 2]))
    first_bar = [i for i, (o, _) in enumerate(rhythm) if o < beats_per_bar]
    ans = [d + shift for d in degrees[:len(first_bar)]]
    rest = len(rhythm) - len(ans)
    if rest:
        tail = _walk(rng, ans[-1], rest + 1)[1:]
        tail[-1] = min((0, 7), key=lambda d: abs(d - (tail[-2] if rest > 1 else ans[-1])))
        ans += tail
    answer = tuple(MotifNote(o, l, d) for (o, l), d in zip(rhythm, ans))
    return Motif(beats_per_bar, statement, answer)


