"""Analysis on generated cuts whose cut frames, flashes, clicks and speech are known."""
import os
from fractions import Fraction

import numpy as np
import pytest

from media import make_audio_only, make_cut, make_text_as_mp4
from scorer.analyze import analyze
from scorer.errors import InputError


@pytest.fixture(scope="module")
def cut_2398(tmp_path_factory):
    path = tmp_path_factory.mktemp("a") / "cut.mp4"
    truth = make_cut(path, shot_frames=(48, 31, 55, 40, 44), flash_frames=(150, 151),
                     clicks_s=(1.0, 3.7, 6.2), speech_at=((2.0, "Where were you last night?"),))
    return path, truth


def test_cuts_found_to_the_frame_at_23976(cut_2398):
    path, truth = cut_2398
    a = analyze(path)
    assert a.source.fps == Fraction(24000, 1001)
    assert a.source.n_frames == truth["n_frames"]
    assert [s.start_frame for s in a.shots[1:]] == truth["cuts"]
    for s in a.shots:
        assert s.start_s == s.start_frame * 1001 / 24000
    assert a.shots[0].transition_in == "start" and all(s.transition_in == "cut" for s in a.shots[1:])


def test_flash_is_not_a_cut(cut_2398):
    path, truth = cut_2398
    a = analyze(path)
    assert 150 not in [s.start_frame for s in a.shots]
    assert a.flashes == (150,)


def test_onsets_within_10ms_of_clicks(cut_2398):
    path, truth = cut_2398
    a = analyze(path)
    times = np.array([t for t, _ in a.onsets])
    for t in truth["clicks_s"]:
        assert np.min(np.abs(times - t)) < 0.010, t
    strong = [t for t, s in a.onsets if s > 0.5]
    assert strong, "the clicks should read as strong onsets"


def test_dialogue_spans_cover_the_speech_and_nothing_else(cut_2398):
    path, truth = cut_2398
    a = analyze(path)
    (s0, s1), = truth["speech"]
    assert a.dialogue, "speech was not detected"
    covered = sum(max(0.0, min(d.end_s, s1) - max(d.start_s, s0)) for d in a.dialogue)
    assert covered > 0.6 * (s1 - s0)
    for d in a.dialogue:
        assert d.start_s >= s0 - 0.3 and d.end_s <= s1 + 0.5, d


def test_cuts_at_25fps_and_progress(tmp_path):
    path = tmp_path / "pal.mp4"
    truth = make_cut(path, fps=Fraction(25), shot_frames=(30, 26, 33), audio=False)
    calls = []
    a = analyze(path, progress=lambda stage, done, total: calls.append((stage, done, total)))
    assert a.source.fps == 25
    assert [s.start_frame for s in a.shots[1:]] == truth["cuts"]
    assert a.dialogue == () and a.onsets == ()
    assert any(stage == "video" and done == total for stage, done, total in calls)


def test_decoding_runs_in_a_worker_process(cut_2398):
    from scorer.io.video import VideoJob

    path, _ = cut_2398
    job = VideoJob(path, duration_s=10)
    assert job.worker_pid != os.getpid()
    assert len(job.result()["pts_s"]) > 0


@pytest.mark.parametrize("maker,needle", [
    (None, "file not found"),
    (make_text_as_mp4, "not a video file"),
    (make_audio_only, "no video stream"),
])
def test_bad_input_names_the_file(tmp_path, maker, needle):
    path = tmp_path / "bad.mp4"
    if maker:
        maker(path)
    with pytest.raises(InputError, match=needle) as info:
        analyze(path)
    assert str(path) in str(info.value)
