"""The stage and the hall (render/stage.py): instruments at their seats, one room for the
score, streamed convolution equal to the whole one, and the hall stem in every render."""
from __future__ import annotations

import numpy as np
import pytest

from scorer.music.seating import Seat, seat_for
from scorer.render.stage import Convolver, Hall, hall_ir, place
from scorer.timebase import SAMPLE_RATE


def _balance_db(y: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(y[1] ** 2) / np.mean(y[0] ** 2)))


@pytest.mark.parametrize("pan", [-0.5, 0.0, 0.3, 0.9])
def test_a_mono_instrument_sits_at_its_pan_with_its_level(pan):
    rng = np.random.default_rng(0)
    mono = rng.standard_normal(SAMPLE_RATE).astype(np.float32)
    y = place(np.stack([mono, mono]), Seat(pan, 0.5))
    theta = (pan + 1) * np.pi / 4
    assert _balance_db(y) == pytest.approx(20 * np.log10(np.tan(theta)), abs=0.01)
    # constant power: the level does not change with the seat
    assert np.mean(y ** 2) == pytest.approx(np.mean(mono ** 2), rel=1e-4)


def test_width_narrows_the_instruments_own_spread():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, SAMPLE_RATE)).astype(np.float32)      # wide (uncorrelated)

    def corr(y):
        return float(np.corrcoef(y[0], y[1])[0, 1])

    assert corr(place(x, Seat(0.0, 0.0))) > 0.999                      # a point
    assert corr(place(x, Seat(0.0, 1.0))) < 0.05                       # as sampled
    assert corr(place(x, Seat(0.0, 0.2))) > corr(place(x, Seat(0.0, 0.6))) + 0.3


def test_the_orchestra_is_seated_as_on_a_scoring_stage():
    assert seat_for(40).pan < -0.3 < seat_for(41).pan < 0 < seat_for(42).pan < seat_for(43).pan   # vln, vla, vc, cb
    assert seat_for(60).pan < 0 < seat_for(56).pan < seat_for(57).pan                  # horns, trumpets, trombones
    assert abs(seat_for(47).pan) < 0.1                                                 # timpani back centre
    assert seat_for(48).width > 0.7 > seat_for(73).width                               # a section is wide, a flute a point
    assert seat_for(0, is_drums=True).width > 0.5
    assert Seat(-1, 0).cc10 == 0 and Seat(0, 0).cc10 == 64 and Seat(1, 0).cc10 == 127


def test_the_hall_decays_as_a_hall_long_lows_short_highs():
    hall = Hall()
    ir = hall_ir(hall)
    from scipy.signal import butter, sosfilt

    def rt60_s(fc):
        sos = butter(2, [fc / 1.41, fc * 1.41], "bandpass", fs=SAMPLE_RATE, output="sos")
        e = sosfilt(sos, ir[0, 0].astype(np.float64)) ** 2
        # Schroeder backward integration: the decay curve a room-acoustics meter draws
        edc = 10 * np.log10(np.cumsum(e[::-1])[::-1] / e.sum())
        t = np.arange(len(e)) / SAMPLE_RATE
        i5, i25 = np.argmax(edc < -5), np.argmax(edc < -25)     # T20, extrapolated to 60 dB
        return 3 * (t[i25] - t[i5])

    table = dict(hall.rt60_s)
    for fc in (250.0, 1000.0, 4000.0):
        assert rt60_s(fc) == pytest.approx(table[fc], rel=0.2), fc
    assert rt60_s(250.0) > 1.25 * rt60_s(4000.0)
    # nothing before the pre-delay
    assert np.abs(ir[:, :, :int(hall.predelay_ms / 1000 * SAMPLE_RATE) - 5]).max() == 0


def test_a_centred_signal_comes_back_from_the_hall_wide_and_at_its_power():
    ir = hall_ir(Hall())
    rng = np.random.default_rng(2)
    mono = rng.standard_normal(4 * SAMPLE_RATE).astype(np.float32)
    conv = Convolver(ir, block=SAMPLE_RATE)
    y = np.concatenate([conv.process(np.stack([mono, mono])[:, a:a + SAMPLE_RATE])
                        for a in range(0, len(mono), SAMPLE_RATE)], axis=1)
    steady = y[:, 3 * SAMPLE_RATE:]
    assert abs(np.corrcoef(steady[0], steady[1])[0, 1]) < 0.2           # a room, not a point
    assert 10 * np.log10(np.mean(steady ** 2) / np.mean(mono ** 2)) == pytest.approx(0.0, abs=1.0)


def test_streamed_convolution_equals_the_whole_one():
    from scipy.signal import fftconvolve

    ir = hall_ir(Hall())
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3 * SAMPLE_RATE + 123)).astype(np.float32)
    block = SAMPLE_RATE // 2
    conv = Convolver(ir, block=block)
    streamed = np.concatenate([conv.process(x[:, a:a + block]) for a in range(0, x.shape[1], block)], axis=1)
    whole = np.stack([sum(fftconvolve(x[i].astype(np.float64), ir[i, o].astype(np.float64))[:x.shape[1]]
                          for i in range(2)) for o in range(2)])
    assert np.max(np.abs(streamed - whole)) < 1e-4 * np.max(np.abs(whole))
    again = Convolver(ir, block=block)
    assert np.array_equal(streamed, np.concatenate([again.process(x[:, a:a + block])
                                                    for a in range(0, x.shape[1], block)], axis=1))


def _seated_score(parts):
    """One 4 s cue whose parts each hold a chord for 3 s."""
    from scorer.timebase import frame_to_s
    from scorer.types import Cue, CueScore, Note, Part, Score, Source, TempoMap

    fps = 24
    tm = TempoMap.constant(0.5, 120.0, 4)
    cue = Cue("1M1", 0.5, 4.5, "wonder", 0.3, 0.2, ((0.5, 0.3),), ())
    made = tuple(Part(name, group, program, drums,
                      tuple(Note(0.5, 3.5, p, 90) for p in pitches)) for name, group, program, drums, pitches in parts)
    cs = CueScore(cue, tm, "C major", ((0.5, "C"),), made, (), 1.0)
    return Score(Source("x.mp4", fps, frame_to_s(144, fps), 144, 320, 180, False), (cs,), seed=1)


def test_each_group_sits_at_its_declared_seat():
    from scorer.render import get_backend
    from scorer.timebase import s_to_sample

    parts = [("a", "strings", 40, False, (67, 74)), ("b", "bass", 43, False, (36, 43)),
             ("c", "brass", 60, False, (55, 62)), ("d", "woodwinds", 73, False, (79,)),
             ("e", "keys", 46, False, (60, 64))]
    stems = get_backend("soundfont").render(_seated_score(parts), workers=1, hall=None)
    for name, group, program, _, _ in parts:
        (clip,) = stems.groups[group]
        y = clip.samples[:, s_to_sample(0.1):s_to_sample(3.0)]
        seat = seat_for(program)
        theta = (seat.pan + 1) * np.pi / 4
        # A point (width ≤ 0.3 keeps little of the samples' spread): its balance is the pan law's.
        assert _balance_db(y) == pytest.approx(20 * np.log10(np.tan(theta)), abs=2.0), group
        assert np.sign(_balance_db(y)) == np.sign(seat.pan), group


def test_every_stem_plays_in_the_same_one_hall(monkeypatch):
    """One impulse response per render, reached by every group that sends, and the hall is
    what widens a stem: with it, a panned point source is no longer mono."""
    import importlib
    sf = importlib.import_module("scorer.render.soundfont")
    from scorer.render import get_backend

    built = []
    real = sf.hall_convolver

    def counting(hall, block):
        conv = real(hall, block)
        built.append((hall, id(conv.spectrum)))
        return conv

    monkeypatch.setattr(sf, "hall_convolver", counting)
    parts = [("a", "strings", 48, False, (60, 67)), ("d", "woodwinds", 73, False, (79,)),
             ("k", "percussion", 0, True, (36, 38))]
    score = _seated_score(parts)
    wet = get_backend("soundfont").render(score, workers=1)
    assert len(built) == 3 and len({b for b in built}) == 1          # one room, one response
    dry = get_backend("soundfont").render(score, workers=1, hall=None)
    (w,), (d,) = wet.groups["woodwinds"], dry.groups["woodwinds"]
    corr = lambda y: float(np.corrcoef(y[0], y[1])[0, 1])
    assert corr(d.samples) > 0.85 and corr(w.samples) < corr(d.samples) - 0.1
    # after the notes end, the hall rings on in every stem that sends
    for g in ("strings", "woodwinds", "percussion"):
        tail = lambda st: float(np.mean(st.groups[g][0].samples[:, -int(1.2 * SAMPLE_RATE):-int(0.4 * SAMPLE_RATE)] ** 2))
        assert tail(wet) > 10 * tail(dry), g


def test_a_long_clip_streamed_in_blocks_sounds_as_one_rendered_whole(monkeypatch):
    """A clip longer than the render block streams part by part through its file (the
    chain's, the compressor's and the hall's state carried across blocks); a short one is
    summed in memory. Both give the same stem."""
    import importlib
    sf = importlib.import_module("scorer.render.soundfont")
    from scorer.render import get_backend

    parts = [("a", "strings", 48, False, (60, 67)), ("b", "strings", 42, False, (43,)),
             ("k", "percussion", 0, True, (36, 38, 49))]
    score = _seated_score(parts)
    whole = get_backend("soundfont").render(score, workers=1)
    monkeypatch.setattr(sf, "RENDER_BLOCK", SAMPLE_RATE // 3)            # 15 blocks of ≤ 1/3 s
    assert sf.clip_block(whole.groups["strings"][0].n_samples) <= SAMPLE_RATE // 3
    streamed = get_backend("soundfont").render(score, workers=1)
    for g in ("strings", "percussion"):
        a, b = whole.groups[g][0].samples, streamed.groups[g][0].samples
        assert a.shape == b.shape and np.abs(a).max() > 0.01
        # float32 transforms of other lengths in the hall: equal to rounding
        assert np.abs(a - b).max() < 1e-4 * np.abs(a).max(), g


def test_a_clips_blocks_are_even():
    import importlib
    sf = importlib.import_module("scorer.render.soundfont")

    for n in (1, 1000, sf.RENDER_BLOCK, sf.RENDER_BLOCK + 1, 5 * sf.RENDER_BLOCK - 3):
        block = sf.clip_block(n)
        blocks = -(-n // block)
        assert block <= sf.RENDER_BLOCK and blocks == -(-n // sf.RENDER_BLOCK)
        assert n - (blocks - 1) * block > block - blocks            # the last block is not a sliver
