"""Room for the words, end to end: on a generated cut with loud (drama) speech and one with
quiet (documentary) speech, the delivered music sits inside the rule's band under every
line it plays under, measured here on mix.wav and the cut's own sound, K-weighted."""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf

import media
from scorer.mix.loudness import KFilter
from scorer.pipeline import score
from scorer.timebase import SAMPLE_RATE as SR

LINES = ("We built the first one in the winter, by hand.",
         "Nobody believed it would hold together.",
         "Every joint here is cut to fit just one other.",
         "It took us a year to learn to wait for the glue.",
         "Now people come from far away to see it.")


@pytest.fixture(scope="module", params=[1.0, 0.1], ids=["loud drama", "quiet documentary"])
def spoken(request, tmp_path_factory):
    level = request.param
    tmp = tmp_path_factory.mktemp("talk")
    cut = tmp / "talk.mp4"
    real = media.espeak
    media.espeak = lambda text, **kw: level * real(text, **kw)
    try:
        media.make_cut(cut, fps=Fraction(25), shot_frames=(120, 140, 110, 130),
                       speech_at=tuple((1.0 + 3.6 * i, t) for i, t in enumerate(LINES)))
    finally:
        media.espeak = real
    out = tmp / "out"
    report = score(cut, out, seed=2, preview=False, ambience=False)
    return cut, out, report


def _k_lufs(x: np.ndarray, a: int, b: int) -> float:
    k = KFilter(SR, 2)(x)[:, a:b]
    return float(-0.691 + 10 * np.log10(np.sum(np.mean(k ** 2, axis=1))))


def test_the_music_sits_in_the_band_under_every_line(spoken):
    from scorer.io.video import decode_audio

    cut, out, report = spoken
    music, _ = sf.read(out / "mix.wav", dtype="float64", always_2d=True)
    own = decode_audio(cut, sample_rate=SR, mono=False).astype(np.float64)
    own = np.repeat(own, 2, axis=0) if own.shape[0] == 1 else own
    own = own[:, :music.shape[0]] * 10 ** (report["loudness"]["production_gain_db"] / 20)
    rows = report["dialogue"]
    assert len(rows) >= 3
    measured = 0
    for row in rows:
        a, b = round(row["start_s"] * SR), round(row["end_s"] * SR)
        if row["music_lufs"] is None:          # the music rests under this line: all room is the voice's
            continue
        under = _k_lufs(own, a, b) - _k_lufs(music.T, a, b)
        assert 10.0 - 0.5 <= under <= 15.0 + 0.5, row
        assert row["within_target"] and row["problem"] is None
        assert row["music_under_dialogue_db"] == pytest.approx(under, abs=0.5)
        measured += 1
    assert measured >= 3
