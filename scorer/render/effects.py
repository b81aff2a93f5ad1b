"""Per-stem effects (pedalboard): the room the instruments play in.

A SoundFont renders dry; film music is heard in a hall. Each stem group gets a high-pass
(rumble below the instrument's range costs headroom and muddies dialogue) and a reverb
sized to its role: long and wet for strings and pads, short and dry for bass and drums.
Effects run per cue clip, whose tail (CueScore.tail_s) leaves room for the reverb to ring.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorer.timebase import SAMPLE_RATE


@dataclass(frozen=True)
class StemFx:
    highpass_hz: float
    room_size: float    # 0…1
    wet: float          # 0…1
    dry: float = 0.85
    width: float = 1.0


STEM_FX = {
    "strings": StemFx(35.0, 0.78, 0.28),
    "brass": StemFx(40.0, 0.72, 0.22),
    "woodwinds": StemFx(60.0, 0.66, 0.22),
    "keys": StemFx(35.0, 0.62, 0.20),
    "synths": StemFx(30.0, 0.82, 0.30),
    "percussion": StemFx(28.0, 0.50, 0.12, dry=0.9),
    "bass": StemFx(28.0, 0.30, 0.05, dry=0.95, width=0.3),
}
DEFAULT_FX = StemFx(35.0, 0.6, 0.18)


def apply_stem_fx(samples: np.ndarray, group: str, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(2, n) float32 through the group's chain; deterministic (state reset per call)."""
    import pedalboard

    fx = STEM_FX.get(group, DEFAULT_FX)
    board = pedalboard.Pedalboard([
        pedalboard.HighpassFilter(cutoff_frequency_hz=fx.highpass_hz),
        pedalboard.Reverb(room_size=fx.room_size, wet_level=fx.wet, dry_level=fx.dry, width=fx.width),
    ])
    return np.ascontiguousarray(board(samples, sample_rate), dtype=np.float32)
