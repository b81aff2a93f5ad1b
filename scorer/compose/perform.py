"""Performance: what makes the written notes sound played — velocity shaped by phrase and
metre, a few milliseconds of seeded timing on everything but the sync points, CC1/CC11
dynamics curves on sustained parts and the sustain pedal on piano.

Hit accents, the cue's first attack and its button stay exactly where the tempo map put
them: picture sync is never humanised.
"""
from __future__ import annotations

import math

import numpy as np

from scorer.types import EXPRESSION, MOD_WHEEL, SUSTAIN_PEDAL, Control, Note

# Seeded timing per stem group: (mean lateness, spread) in ms. Strings speak late, drums
# and bass sit tight on the beat.
TIMING_MS = {"strings": (4.0, 5.0), "brass": (2.5, 4.0), "woodwinds": (2.0, 4.0), "keys": (0.0, 3.0),
             "synths": (1.0, 3.0), "bass": (1.0, 3.0), "percussion": (0.0, 2.0)}
MAX_SHIFT_MS = 15.0
# A rubato line is held back by up to this much in the middle of a phrase (tempo breathing
# over an accompaniment that keeps time; the sync points never move).
RUBATO_S = 0.045
SYNC_TOLERANCE_S = 1e-6
PIANO_PROGRAMS = frozenset(range(0, 8))        # General MIDI pianos: the pedal is theirs
SUSTAINED_PROGRAMS = frozenset(range(40, 80)) | frozenset(range(88, 96)) | frozenset({16, 17, 18, 19, 20, 21, 22, 23})
# A controller curve is sampled this often (beats) and written where it changes.
CURVE_STEP_BEATS = 0.5


def humanise(notes: list[Note], *, group: str, rng: np.random.Generator, sync_s: tuple[float, ...],
             keep_out: tuple[tuple[float, float], ...] = (), lag_s=None) -> list[Note]:
    """Every attack played a seeded few ms behind the beat (its release kept), except
    those on a sync point (hits, the cue start, the button), which stay exact. An attack
    is never moved into a keep_out span [a, b) it was not in (a line of dialogue, the
    breath before a hit), so the arranging rules still hold after performance.
    lag_s(t_s) → seconds: a further, smooth lateness (rubato: held back mid-phrase)."""
    late, spread = TIMING_MS.get(group, (1.0, 3.0))
    shifts = np.clip(rng.normal(late, spread, size=len(notes)), 0.0, MAX_SHIFT_MS) / 1e3
    if lag_s is not None:
        shifts = shifts + np.array([max(0.0, float(lag_s(n.start_s))) for n in notes])
    sync = np.array(sorted(sync_s)) if sync_s else np.zeros(0)
    inside = lambda t: any(a <= t < b for a, b in keep_out)  # noqa: E731
    out = []
    for n, d in zip(notes, shifts):
        start = round(n.start_s + float(d), 6)
        if (sync.size and np.min(np.abs(sync - n.start_s)) < SYNC_TOLERANCE_S) or start >= n.end_s - 0.02 \
                or (inside(start) and not inside(n.start_s)):
            out.append(n)
            continue
        out.append(Note(start, n.end_s, n.pitch, n.velocity))
    return out


def phrase_arch(position: float) -> float:
    """0…1 over a phrase: rises to its peak about two thirds in, then falls back."""
    p = min(max(position, 0.0), 1.0)
    return math.sin(math.pi * min(1.0, p / 0.67) / 2) if p <= 0.67 else math.cos(math.pi * (p - 0.67) / 0.66 / 2)


def shape_velocities(notes: list[Note], *, rng: np.random.Generator, metric, phrase, sync_s: tuple[float, ...],
                     spread: float = 4.0) -> list[Note]:
    """Velocity shaped by the phrase (phrase(t_s) → 0…1 arch) and the metre
    (metric(t_s) → factor), with seeded ±spread variation; notes on sync points keep
    their accent untouched (they were set louder on purpose)."""
    sync = np.array(sorted(sync_s)) if sync_s else np.zeros(0)
    noise = rng.normal(0.0, spread, size=len(notes))
    out = []
    for n, e in zip(notes, noise):
        if sync.size and np.min(np.abs(sync - n.start_s)) < SYNC_TOLERANCE_S:
            out.append(n)
            continue
        v = n.velocity * (0.9 + 0.18 * phrase(n.start_s)) * metric(n.start_s) + float(e)
        out.append(Note(n.start_s, n.end_s, n.pitch, int(min(127, max(1, round(v))))))
    return out


def dynamics_curve(*, start_s: float, end_s: float, level, step_s) -> tuple[Control, ...]:
    """CC1 and CC11 from start_s to end_s: level(t_s) → 0…1 sampled every step_s(t_s)
    seconds, written where the value changes. CC11 (expression, which any General MIDI
    synth follows) moves within the upper part of its range: shape, not a fader; CC1 (the
    dynamics of most orchestral sample libraries) uses most of its range."""
    out: list[Control] = []
    last: dict[int, int] = {}
    t = start_s
    while True:
        x = min(max(float(level(t)), 0.0), 1.0)
        for number, value in ((MOD_WHEEL, round(24 + 90 * x)), (EXPRESSION, round(84 + 43 * x))):
            if last.get(number) != value:
                out.append(Control(round(t, 6), number, int(value)))
                last[number] = value
        if t >= end_s - 1e-9:
            break
        t = min(end_s, t + max(step_s(t), 0.05))
    return tuple(out)


def pedal(changes_s: list[float], *, start_s: float, end_s: float) -> tuple[Control, ...]:
    """Sustain pedal for a piano part: down after its first attack, lifted and caught
    again at every chord change (legato pedalling), up at end_s."""
    out = [Control(round(start_s + 0.02, 6), SUSTAIN_PEDAL, 127)]
    for t in sorted(changes_s):
        if start_s + 0.05 < t < end_s - 0.05:
            out += [Control(round(t, 6), SUSTAIN_PEDAL, 0), Control(round(t + 0.03, 6), SUSTAIN_PEDAL, 127)]
    out.append(Control(round(end_s, 6), SUSTAIN_PEDAL, 0))
    return tuple(out)
