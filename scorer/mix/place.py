"""Laying clips onto the full-length timeline, block by block (memory follows the block),
and the gain the mix gives each clip: its tail's fade and the dips under dialogue.

Tails and crossfades (the rule):

- A cue's clip runs from its first sample to the end of its tail (CueScore.tail_s after
  the cue's end), where its last notes and its reverb ring out. The tail fades out with
  an equal-power (cosine) curve from the cue's end to the end of the clip.
- When the next cue starts before that tail has rung out, the tail is shortened: it fades
  from the cue's end to `crossfade_s` after the next cue's start, and is silent from
  there. The next cue is not faded in: its first attack (often a downbeat on a cut) is
  left intact, and the outgoing tail sounds under it for crossfade_s.
- Beds that design their own crossfades (the ambience stem) are left as rendered.

The gains are computed per window from absolute sample indices, so the mix never holds
a shaped clip whole and any blocking of the timeline gives the same samples.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np

from scorer.mix.duck import Ducking, duck_envelope_db, reach_samples
from scorer.timebase import n_samples, s_to_sample
from scorer.types import Clip, Span

BLOCK_SAMPLES = n_samples(10.0)


def timeline_blocks(clips: Sequence[Clip], *, n_total: int, channels: int = 2,
                    block: int = BLOCK_SAMPLES) -> Iterator[np.ndarray]:
    """Yield consecutive (channels, ≤block) float32 blocks of the sum of `clips` over
    samples [0, n_total). Clip audio outside [0, n_total) is cut off."""
    clips = sorted(clips, key=lambda c: c.start_sample)
    for start in range(0, n_total, block):
        yield window(clips, start=start, n=min(block, n_total - start), channels=channels)


def window(clips: Sequence[Clip], *, start: int, n: int, channels: int = 2) -> np.ndarray:
    """(channels, n) float32: the sum of `clips` over timeline samples [start, start + n)."""
    out = np.zeros((channels, n), dtype=np.float32)
    for clip in clips:
        clip.add_to(out, start)
    return out


def sum_blocks(streams: Iterable[Iterator[np.ndarray]]) -> Iterator[np.ndarray]:
    """Block-wise sum of several equally-blocked streams."""
    for blocks in zip(*streams):
        yield np.sum(blocks, axis=0, dtype=np.float32)


def equal_power_fade(start_sample: int, n: int, *, fade_from: int, fade_to: int) -> np.ndarray | None:
    """Gain (n,) for timeline samples [start_sample, start_sample + n) of a cosine fade
    that leaves fade_from at 1 and reaches 0 at fade_to (silence from there); None where
    the window lies wholly before the fade."""
    if start_sample + n <= fade_from:
        return None
    g = np.zeros(n, np.float32)
    lo, hi = max(start_sample, fade_from), min(start_sample + n, fade_to)
    g[:max(lo - start_sample, 0)] = 1.0
    if lo < hi:
        k = np.arange(lo, hi, dtype=np.int64)
        g[lo - start_sample:hi - start_sample] = np.cos(0.5 * np.pi * (k - fade_from) / max(fade_to - fade_from, 1))
    return g


@dataclass(frozen=True)
class TailAndDuck:
    """The mix's gain for one clip (a scorer.types.ClipGain): the tail's fade, if any,
    and the music's gain under the lines of dialogue that reach the clip (mix/duck.py)."""
    fade_from: int | None                  # timeline sample where the tail starts fading
    fade_to: int | None                    # … and where it is silent
    dialogue: tuple[Span, ...] = ()
    gains_db: tuple[float, ...] = ()       # one per line of `dialogue`
    ducking: Ducking = Ducking()

    def gain(self, start_sample: int, n: int) -> np.ndarray | None:
        # Every stem group of a cue has an equal gain, read over the same windows: computed
        # once per window, not once per group.
        return _tail_and_duck_gain(self, start_sample, n)

    def _compute(self, start_sample: int, n: int) -> np.ndarray | None:
        g = None
        if any(self.gains_db):
            env_db = duck_envelope_db(self.dialogue, start_sample=start_sample, n=n,
                                      gains_db=self.gains_db, ducking=self.ducking)
            if env_db.any():
                g = np.power(np.float32(10.0), env_db / np.float32(20.0), dtype=np.float32)
        if self.fade_from is not None:
            fade = equal_power_fade(start_sample, n, fade_from=self.fade_from, fade_to=self.fade_to)
            if fade is not None:
                g = fade if g is None else g * fade
        return g


@functools.lru_cache(maxsize=8)
def _tail_and_duck_gain(shape: TailAndDuck, start_sample: int, n: int) -> np.ndarray | None:
    g = shape._compute(start_sample, n)
    if g is not None:
        g.setflags(write=False)          # shared by the callers that read the same window
    return g


def tail_and_duck(clip: Clip, *, cue_end_s: float | None, next_start_s: float | None,
                  dialogue: Sequence[Span], gains_db: Sequence[float], ducking: Ducking,
                  crossfade_s: float, fade_tail: bool = True) -> TailAndDuck:
    """The gain of one cue's clip by the rule in this module's docstring.

    cue_end_s: where the cue ends and its tail begins (None: no tail to fade, e.g. a clip
    that is not a cue's). next_start_s: the next cue's start at or after cue_end_s, if any.
    gains_db: the music's gain under each line of `dialogue` (0: none).
    """
    fade_from = fade_to = None
    if fade_tail and cue_end_s is not None:
        fade_from, fade_to = s_to_sample(cue_end_s), clip.end_sample
        if next_start_s is not None:
            fade_to = min(fade_to, s_to_sample(next_start_s + crossfade_s))
        fade_to = max(fade_to, fade_from)
    # Only the lines whose dip can reach the clip: each window then loops over a few.
    reach_before, reach_after = reach_samples(ducking)
    near = [(sp, g) for sp, g in zip(dialogue, gains_db)
            if g and s_to_sample(sp.start_s) - reach_before < clip.end_sample
            and s_to_sample(sp.end_s) + reach_after > clip.start_sample]
    return TailAndDuck(fade_from, fade_to, tuple(sp for sp, _ in near), tuple(g for _, g in near), ducking)
