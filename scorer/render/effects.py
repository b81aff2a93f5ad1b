"""Per-stem effects (pedalboard): the room the instruments play in, set by the preset.

A SoundFont renders dry; film music is heard in a hall. Each stem group goes through its
preset's chain (presets' [fx.<group>], defaults in music/presets.py DEFAULT_FX):
high-pass (rumble below the instrument's range costs headroom and muddies dialogue), EQ
(low shelf at 200 Hz, presence bell at 3 kHz, high shelf at 8 kHz), compressor, and a
reverb sized to its role: long and wet for strings and pads, short and dry for bass and
drums. Effects run per cue clip, whose tail (CueScore.tail_s) leaves room for the reverb
to ring; the renderer streams each clip through its board block by block (reset=False),
which gives the same samples as processing the clip whole.
"""
from __future__ import annotations

import numpy as np

from scorer.music.presets import StemFx
from scorer.timebase import SAMPLE_RATE


def stem_fx_board(fx: StemFx):
    """A fresh pedalboard.Pedalboard for the chain `fx` (high-pass, EQ, compressor unless
    its ratio is 1, reverb). Feed it consecutive blocks with reset=False to stream a clip:
    the result is the same as processing the clip whole."""
    import pedalboard

    chain = [pedalboard.HighpassFilter(cutoff_frequency_hz=fx.highpass_hz)]
    if fx.low_shelf_db:
        chain.append(pedalboard.LowShelfFilter(cutoff_frequency_hz=200.0, gain_db=fx.low_shelf_db))
    if fx.presence_db:
        chain.append(pedalboard.PeakFilter(cutoff_frequency_hz=3000.0, gain_db=fx.presence_db, q=0.9))
    if fx.high_shelf_db:
        chain.append(pedalboard.HighShelfFilter(cutoff_frequency_hz=8000.0, gain_db=fx.high_shelf_db))
    if fx.comp_ratio > 1.0:
        chain.append(pedalboard.Compressor(threshold_db=fx.comp_threshold_db, ratio=fx.comp_ratio,
                                           attack_ms=10.0, release_ms=150.0))
    chain.append(pedalboard.Reverb(room_size=fx.room_size, wet_level=fx.wet, dry_level=fx.dry,
                                   width=fx.width))
    return pedalboard.Pedalboard(chain)


def apply_stem_fx(samples: np.ndarray, fx: StemFx, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(2, n) float32 through the chain `fx`; deterministic (a fresh board per call)."""
    return np.ascontiguousarray(stem_fx_board(fx)(samples, sample_rate), dtype=np.float32)
