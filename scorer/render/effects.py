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


# The score's own tilt, the same on every stem (so it is a mix-bus EQ that still lets the
# stems sum to the mix). Target: a long-term spectrum falling about 4.5 dB/octave from
# 125 Hz to 8 kHz (PSD per octave band, least squares; pink noise falls 3). The General
# MIDI fonts render dull — bench/bench_sound.py measured −5.6 dB/oct on the demo and on a
# documentary cut (FluidR3), and the issue −6.8 to −7.8 on real footage — which reads as
# small and distant; an orchestral recording made close enough to be heard under
# dialogue is brighter than that but still well under pink. A gentle tilt, not a fixed
# target curve: a low shelf down and a high shelf up, about +1 dB/octave. No bus
# compression: it would flatten the accents the hits need (and a film mix is compressed
# on the dub stage, not in a temp score).
SCORE_TILT = ((250.0, -1.5), (4000.0, 3.5))     # (low shelf Hz, dB), (high shelf Hz, dB)


def stem_fx_board(fx: StemFx):
    """A fresh pedalboard.Pedalboard for the chain `fx` (high-pass, EQ, the score's tilt,
    compressor unless its ratio is 1). Feed it consecutive blocks with reset=False to stream a clip:
    the result is the same as processing the clip whole."""
    import pedalboard

    chain = [pedalboard.HighpassFilter(cutoff_frequency_hz=fx.highpass_hz)]
    if fx.low_shelf_db:
        chain.append(pedalboard.LowShelfFilter(cutoff_frequency_hz=200.0, gain_db=fx.low_shelf_db))
    if fx.presence_db:
        chain.append(pedalboard.PeakFilter(cutoff_frequency_hz=3000.0, gain_db=fx.presence_db, q=0.9))
    if fx.high_shelf_db:
        chain.append(pedalboard.HighShelfFilter(cutoff_frequency_hz=8000.0, gain_db=fx.high_shelf_db))
    (low_hz, low_db), (high_hz, high_db) = SCORE_TILT
    chain.append(pedalboard.LowShelfFilter(cutoff_frequency_hz=low_hz, gain_db=low_db))
    chain.append(pedalboard.HighShelfFilter(cutoff_frequency_hz=high_hz, gain_db=high_db))
    if fx.comp_ratio > 1.0:
        chain.append(pedalboard.Compressor(threshold_db=fx.comp_threshold_db, ratio=fx.comp_ratio,
                                           attack_ms=10.0, release_ms=150.0))
    return pedalboard.Pedalboard(chain)


def apply_stem_fx(samples: np.ndarray, fx: StemFx, *, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(2, n) float32 through the chain `fx`; deterministic (a fresh board per call)."""
    return np.ascontiguousarray(stem_fx_board(fx)(samples, sample_rate), dtype=np.float32)
