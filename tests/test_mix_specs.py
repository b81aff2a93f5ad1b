"""Every delivery spec is met by the programme (±0.5 LU, true peak under the ceiling);
Netflix's is measured over the dialogue only, and says so when nobody speaks."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from media import speech_like

from scorer.mix import mix
from scorer.mix.loudness import SPECS, measure
from scorer.types import Clip, Cue, CueSheet, Source, Span, Stems

SR = 48000
DUR_S = 40.0


def _scene(with_dialogue: bool = True):
    """Music under a scene: loud effects in the first half, a quiet conversation in the
    second — so the whole programme is much louder than its dialogue."""
    rng = np.random.default_rng(4)
    n = int(DUR_S * SR)
    t = np.arange(n) / SR
    prod = np.zeros(n, np.float32)
    prod[: n // 2] = (0.5 * rng.standard_normal(n // 2) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t[: n // 2])))
    spans = []
    if with_dialogue:
        for k, a in enumerate((22.0, 28.0, 34.0)):
            s = speech_like(4.0, seed=k, sample_rate=SR) * 0.6
            i = int(a * SR)
            prod[i:i + len(s)] += s[: n - i]
            spans.append(Span(a, a + 4.0))
    music = (0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    stems = Stems(groups={"strings": (Clip(0, np.stack([music, music]), label="1M1"),)}, duration_s=DUR_S,
                  backend="test")
    src = Source("scene.mov", Fraction(24), DUR_S, int(DUR_S * 24), has_audio=True)
    cue = Cue("1M1", 0.0, DUR_S, "tension", 0.0, 0.0, ((0.0, 0.5),))
    return stems, CueSheet(src, (), tuple(spans), (cue,)), np.stack([prod, prod])


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_the_programme_meets_every_spec(spec):
    stems, sheet, prod = _scene()
    m = mix(stems, sheet, production_audio=prod, spec=spec)
    target = SPECS[spec]
    gate = [(s.start_s, s.end_s) for s in sheet.dialogue] if target.dialogue_gated else None
    lufs, tp = measure(m.programme_blocks(), sample_rate=SR, only_s=gate)
    assert abs(lufs - target.integrated_lufs) <= 0.5, (spec, lufs)
    assert tp <= target.true_peak_dbtp + 0.05, (spec, tp)
    assert m.loudness_gate == ("dialogue" if target.dialogue_gated else "integrated")
    # The music files are not limited: their own peaks stay under the ceiling as well.
    assert m.music_true_peak_dbtp <= target.true_peak_dbtp + 0.05


def test_netflix_gates_on_dialogue_not_on_the_whole_programme():
    stems, sheet, prod = _scene()
    m = mix(stems, sheet, production_audio=prod, spec="netflix")
    gated, _ = measure(m.programme_blocks(), sample_rate=SR, true_peak=False,
                       only_s=[(s.start_s, s.end_s) for s in sheet.dialogue])
    whole, _ = measure(m.programme_blocks(), sample_rate=SR, true_peak=False)
    assert abs(gated - (-27.0)) <= 0.5
    assert whole > gated + 2.0           # the loud first half would have pulled it down


def test_netflix_without_dialogue_says_it_measured_the_whole_programme():
    stems, sheet, prod = _scene(with_dialogue=False)
    m = mix(stems, sheet, production_audio=prod, spec="netflix")
    assert m.loudness_gate == "integrated (no dialogue to gate on)"
    assert abs(m.programme_lufs - (-27.0)) <= 0.5


def test_a_tail_ringing_into_the_next_cue_crossfades_without_a_hole():
    from scorer.mix import CROSSFADE_S

    n1, tail = int(10 * SR), int(3 * SR)
    t = np.arange(n1 + tail) / SR
    tone = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    t2 = np.arange(int(10 * SR)) / SR
    tone2 = (0.2 * np.sin(2 * np.pi * 330 * t2)).astype(np.float32)
    stems = Stems(groups={"strings": (Clip(0, np.stack([tone, tone]), label="1M1"),
                                      Clip(n1, np.stack([tone2, tone2]), label="1M2"))},
                  duration_s=DUR_S, backend="test")
    src = Source("x.mov", Fraction(24), DUR_S, int(DUR_S * 24))
    cues = (Cue("1M1", 0.0, 10.0, "tension", 0.0, 0.0, ((0.0, 0.5),)),
            Cue("1M2", 10.0, 20.0, "tension", 0.0, 0.0, ((10.0, 0.5),)))
    m = mix(stems, CueSheet(src, (), (), cues), spec="ebu")
    first = m.stems.groups["strings"][0].samples
    end = int((10.0 + CROSSFADE_S) * SR)
    assert np.abs(first[:, end:]).max() == 0.0             # silent once the crossfade is over
    assert np.abs(first[:, n1 + SR // 10:n1 + SR // 5]).max() > 0.01   # still sounding into the next cue
    music = np.concatenate(list(m.music_blocks()), axis=1)
    rms = lambda a, b: np.sqrt(np.mean(music[:, int(a * SR):int(b * SR)] ** 2))  # noqa: E731
    before, across, after = rms(9.0, 9.9), rms(10.0, 10.0 + CROSSFADE_S), rms(11.0, 12.0)
    assert across > 10 ** (-3 / 20) * min(before, after)   # no hole at the join
