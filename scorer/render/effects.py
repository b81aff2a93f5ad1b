"""Per-stem effects (pedalboard): the tone of each group, set by the preset.

Each stem group goes through its preset's chain (presets' [fx.<group>], defaults in
music/presets.py DEFAULT_FX): high-pass (rumble below the instrument's range costs
headroom and muddies dialogue), EQ (low shelf at 200 Hz, presence bell at 3 kHz, high
shelf at 8 kHz) and compressor. There is no reverb here: the score plays in one hall
(render/stage.py), which every group reaches through its send. The renderer streams each
clip through its board block by block (reset=False), which gives the same samples as
processing the clip whole.
"""
from __future__ import annotations

import numpy as np

from scorer.music.presets import StemFx
from scorer.timebase import SAMPLE_RATE


def stem_fx_board(fx: StemFx):
    """A fresh pedalboard.Pedalboard for the chain `fx` (high-pass, EQ, compressor unless
    its ratio is 1). Feed it consecutive blocks with reset=False to stream a clip:
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
    return pedalboard.Pedalboard(chain)


def apply_stem_fx(samples: np.ndarray, fx: StemFx, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(2, n) float32 through the chain `fx`; deterministic (a fresh board per call)."""
    return np.ascontiguousarray(stem_fx_board(fx)(samples, sample_rate), dtype=np.float32)
