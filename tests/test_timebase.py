from fractions import Fraction

import pytest
from hypothesis import given, strategies as st

from scorer.errors import InputError
from scorer.timebase import (frame_to_s, frame_to_smpte, nearest_frame, parse_fps, s_to_frame,
                             smpte_to_frame)

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
