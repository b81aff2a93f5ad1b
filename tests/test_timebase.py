import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, strategies as st

from scorer.errors import InputError
from scorer.timebase import (beat_s, frame_to_s, frame_to_smpte, frames_covering, frames_in, n_samples,
                             nearest_frame, nearest_index, parse_fps, s_to_frame, s_to_sample, sample_to_s,
                             smpte_to_frame, snap_to_frame, tempo_bpm_for)

NTSC = Fraction(30000, 1001)
FILM = Fraction(24000, 1001)


@pytest.mark.parametrize("text,fps", [
    ("24000/1001", FILM), ("23.976", FILM), (23.976, FILM), ("29.97", NTSC), ("25", Fraction(25)),
    (24, Fraction(24)), ("59.94", Fraction(60000, 1001)), ("30/1", Fraction(30)),
])
def test_parse_fps(text, fps):
    assert parse_fps(text) == fps


@pytest.mark.parametrize("bad", ["abc", "0", "-24", "23.5", "1/0"])
def test_parse_fps_rejects(bad):
    with pytest.raises(InputError):
        parse_fps(bad)


@pytest.mark.parametrize("frame,fps,tc", [
    (0, NTSC, "00:00:00;00"), (1799, NTSC, "00:00:59;29"), (1800, NTSC, "00:01:00;02"),
    (17982, NTSC, "00:10:00;00"), (107892, NTSC, "01:00:00;00"),
    (86400, Fraction(24), "01:00:00:00"), (86399, FILM, "00:59:59:23"),
    (90000, Fraction(25), "01:00:00:00"), (215784, Fraction(60000, 1001), "01:00:00;00"),
])
def test_smpte_table(frame, fps, tc):
    assert frame_to_smpte(frame, fps) == tc
    assert smpte_to_frame(tc, fps) == frame


def test_drop_frame_numbers_that_do_not_exist():
    with pytest.raises(InputError):
        smpte_to_frame("00:01:00;00", NTSC)


def test_film_rate_drift_is_not_24():
    # 90 minutes at 23.976 is 129 470 frames; counted as 24 fps they last 5.4 s less.
    assert s_to_frame(5400.0, FILM) == 129_470
    assert frame_to_s(129_470, FILM) - frame_to_s(129_470, Fraction(24)) == pytest.approx(5.39, abs=0.01)


# 24 h of drop-frame timecode is 2 589 408 frames at 29.97; the clock wraps after that.
@given(st.integers(0, 2_589_407), st.sampled_from([NTSC, Fraction(60000, 1001)]))
def test_drop_frame_round_trip(frame, fps):
    assert smpte_to_frame(frame_to_smpte(frame, fps), fps) == frame


@given(st.integers(0, 10_000_000), st.sampled_from([FILM, Fraction(24), Fraction(25), NTSC]))
def test_frame_seconds_round_trip(frame, fps):
    assert s_to_frame(frame_to_s(frame, fps), fps) == frame
    assert nearest_frame(frame_to_s(frame, fps), fps) == frame


# --- the rounding rule, scalars and arrays ---------------------------------------------------

@pytest.mark.parametrize("x,index", [
    (2.5, 3), (3.5, 4), (-2.5, -2), (-3.5, -3), (2.4999999999999996, 2), (0.49999999999999994, 0),
    (2.5000000000000004, 3), (-0.5, 0), (0.0, 0), (Fraction(5, 2), 3), (Fraction(-5, 2), -2),
])
def test_nearest_index_ties_go_to_the_later_index(x, index):
    assert nearest_index(x) == index
    assert type(nearest_index(x)) is int
    assert nearest_index(np.array([x], dtype=np.float64))[0] == index


def test_exact_ties_round_late_for_samples_frames_and_durations():
    # t_s · rate exactly k + ½: the later sample or frame (round() would say 2 for 2.5).
    assert s_to_sample(0.625, 4) == 3 and s_to_sample(0.375, 4) == 2
    assert n_samples(0.625, 4) == 3
    assert nearest_frame(0.625, Fraction(4)) == 3 and nearest_frame(-0.625, Fraction(4)) == -2
    assert s_to_sample(Fraction(1, 96000)) == 1            # half a sample at 48 kHz, exactly
    assert s_to_sample(np.array([0.625, 0.375, 0.875]), 4).tolist() == [3, 2, 4]


@pytest.mark.parametrize("t_s,fps,showing,nearest", [
    (0.29, Fraction(100), 29, 29),     # 0.29 · 100 = 28.999999999999996: still frame 29
    (0.1, Fraction(30), 3, 3),         # 3.0000000000000004
    (1 / 24 - 1e-3, Fraction(24), 0, 1),
    (0.5, Fraction(24000, 1001), 11, 12),
])
def test_the_frame_showing_floors_and_the_nearest_rounds(t_s, fps, showing, nearest):
    assert s_to_frame(t_s, fps) == showing and nearest_frame(t_s, fps) == nearest


def test_frames_covering_a_duration():
    assert frames_covering(0.5, Fraction(24)) == 12
    assert frames_covering(0.501, Fraction(24)) == 13
    assert frames_covering(0.29, Fraction(100)) == 29      # not 30 for 28.999999999999996
    assert frames_covering(0.7, Fraction(10)) == 7         # not 8 for 7.000000000000001
    assert frames_in(0.5, Fraction(24000, 1001)) == pytest.approx(11.988, abs=1e-3)


def _same(scalar_fn, array_fn, values):
    got = array_fn(np.array(values))
    want = [scalar_fn(v) for v in values]
    assert isinstance(got, np.ndarray) and got.shape == (len(values),)
    assert got.tolist() == want, (got.tolist(), want)
    assert all(type(w) is type(want[0]) for w in want)
    return got


@given(st.lists(st.floats(-1e5, 1e7, allow_nan=False), min_size=1, max_size=20),
       st.sampled_from([FILM, Fraction(24), Fraction(25), NTSC, Fraction(60000, 1001)]),
       st.sampled_from([48000, 44100, 22050, 16000]))
def test_scalars_and_arrays_give_the_same_answers(times, fps, rate):
    for fn in (s_to_frame, nearest_frame, snap_to_frame, frames_in, frames_covering):
        got = _same(lambda t, fn=fn: fn(t, fps), lambda a, fn=fn: fn(a, fps), times)
        assert got.dtype == (np.float64 if fn in (snap_to_frame, frames_in) else np.int64)
    for fn in (s_to_sample, n_samples):
        assert _same(lambda t, fn=fn: fn(t, rate), lambda a, fn=fn: fn(a, rate), times).dtype == np.int64
    assert _same(lambda t: beat_s(t + 1e6), lambda a: beat_s(a + 1e6), times).dtype == np.float64
    assert _same(lambda t: tempo_bpm_for(t, 7.0), lambda a: tempo_bpm_for(a, 7.0), times).dtype == np.float64


@given(st.lists(st.integers(-2**40, 2**40), min_size=1, max_size=20),
       st.sampled_from([FILM, Fraction(25), NTSC]), st.sampled_from([48000, 44100]))
def test_index_to_seconds_scalars_and_arrays_agree_and_are_exact(indices, fps, rate):
    got = _same(lambda k: frame_to_s(k, fps), lambda a: frame_to_s(a, fps), indices)
    assert got.tolist() == [float(Fraction(k) / fps) for k in indices]         # correctly rounded
    got = _same(lambda k: sample_to_s(k, rate), lambda a: sample_to_s(a, rate), indices)
    assert got.tolist() == [float(Fraction(k, rate)) for k in indices]


def test_large_values():
    day_s = 24 * 3600.0
    assert s_to_sample(10 * day_s) == 41_472_000_000                     # past int32
    assert s_to_sample(np.array([10 * day_s]))[0] == 41_472_000_000
    assert s_to_sample(np.array([10 * day_s])).dtype == np.int64
    assert n_samples(day_s, 192_000) == 16_588_800_000
    assert s_to_frame(10 * day_s, FILM) == 20_715_284                     # 10 days of 23.976
    assert s_to_frame(frame_to_s(2**40, FILM), FILM) == 2**40
    assert nearest_frame(np.array([frame_to_s(2**40, FILM)]), FILM)[0] == 2**40
    assert sample_to_s(2**52, 48000) == float(Fraction(2**52, 48000))


def test_types_out_follow_types_in():
    assert type(s_to_sample(1.0)) is int and type(s_to_sample(np.float64(1.0))) is int
    assert type(frame_to_s(3, FILM)) is float and type(sample_to_s(3)) is float
    assert s_to_sample([0.5, 1.0], 4).tolist() == [2, 4]                 # a list is an array
    assert s_to_sample(np.zeros((2, 3))).shape == (2, 3)


def test_float_frame_rates_and_non_finite_times_are_refused():
    with pytest.raises(TypeError, match="parse_fps"):
        s_to_frame(1.0, 23.976)
    with pytest.raises(TypeError):
        frame_to_s(10, 29.97)
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError):
            s_to_sample(bad)
        with pytest.raises(ValueError):
            s_to_frame(bad, FILM)
    with pytest.raises(ValueError):
        s_to_sample(np.array([1.0, math.nan]))


@pytest.mark.parametrize("tempo_bpm,beat,beats,duration_s", [
    (120.0, 0.5, 8, 4.0), (60.0, 1.0, 3, 3.0), (90.0, 2 / 3, 6, 4.0), (75.0, 0.8, 5, 4.0),
])
def test_tempo_table(tempo_bpm, beat, beats, duration_s):
    assert beat_s(tempo_bpm) == pytest.approx(beat)
    assert tempo_bpm_for(beats, duration_s) == pytest.approx(tempo_bpm)
