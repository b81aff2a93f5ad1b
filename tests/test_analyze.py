"""Analysis on generated media whose cut frames, flashes, clicks and speech are known."""
import os
import signal
from fractions import Fraction

import numpy as np
import pytest

from media import (BAD_INPUTS, SR, click, faststart, make_cut, scramble_media_data, speech_like,
                   truncate)
from scorer.analyze import analyze
from scorer.analyze.picture import MAX_LAG, PictureFeatures
from scorer.analyze.shots import find_cuts
from scorer.analyze.sound import dialogue_spans, loudness_curve, onsets
from scorer.errors import InputError
from scorer.timebase import frame_to_s

NTSC_FILM = Fraction(24000, 1001)


# --- a 23.976 fps cut with a flash, clicks and a line of (synthetic) speech ---------------------

@pytest.fixture(scope="module")
def cut_2398(tmp_path_factory):
    path = tmp_path_factory.mktemp("a") / "cut.mp4"
    truth = make_cut(path, shot_frames=(48, 31, 55, 40, 44), flash_frames=(150, 151),
                     clicks_s=(1.0, 4.6, 6.9), speech_spans_s=((2.0, 3.6),))
    calls = []
    analysis = analyze(path, progress=lambda stage, done, total: calls.append((stage, done, total)))
    return path, truth, analysis, calls


def test_cuts_found_to_the_frame_at_23976(cut_2398):
    _, truth, a, _ = cut_2398
    assert a.source.fps == NTSC_FILM
    assert a.source.n_frames == truth["n_frames"] == len(a.frame_times_s)
    assert a.source.duration_s == frame_to_s(truth["n_frames"], NTSC_FILM)
    assert [s.start_frame for s in a.shots[1:]] == truth["cuts"]
    for s in a.shots:
        assert s.start_s == frame_to_s(s.start_frame, NTSC_FILM)
    for s, nxt in zip(a.shots, a.shots[1:]):
        assert s.end_s == nxt.start_s
    assert a.shots[-1].end_s == a.source.duration_s
    assert a.shots[0].transition_in == "start" and all(s.transition_in == "cut" for s in a.shots[1:])


def test_same_brightness_shots_are_told_apart(cut_2398):
    # Every shot has mean luma ~115/255; shots 1 and 2 also share one palette.
    _, truth, a, _ = cut_2398
    means = [s.brightness for s in a.shots if s.start_frame != 134]   # 134…173 holds the flash
    assert max(means) - min(means) < 0.03
    assert truth["cuts"][1] in [s.start_frame for s in a.shots]


def test_flash_is_a_flash_not_a_cut(cut_2398):
    _, _, a, _ = cut_2398
    assert 150 not in [s.start_frame for s in a.shots] and 152 not in [s.start_frame for s in a.shots]
    assert a.flashes == (150,)
    assert a.brightness[150] > 0.9 and a.brightness[149] < 0.6


def test_picture_curves(cut_2398):
    _, truth, a, _ = cut_2398
    n = truth["n_frames"]
    for curve in (a.motion, a.brightness, a.warmth, a.saturation, a.cut_score):
        assert curve.shape == (n,) and curve.dtype == np.float32
    within = np.ones(n, bool)
    within[[0, *truth["cuts"], 150, 151, 152]] = False
    # A slow pan moves little; a cut changes everything.
    assert np.median(a.motion[within]) < 0.05
    assert min(a.cut_score[truth["cuts"]]) > 3 * np.percentile(a.cut_score[within], 99)
    assert np.all((a.saturation >= 0) & (a.saturation <= 1)) and np.all(np.abs(a.warmth) <= 1)


def test_onsets_within_10ms_of_clicks(cut_2398):
    _, truth, a, _ = cut_2398
    times = np.array([t for t, _ in a.onsets])
    for t in truth["clicks_s"]:
        err = np.min(np.abs(times - t))
        assert err < 0.010, (t, err)
        assert dict(a.onsets)[float(times[np.argmin(np.abs(times - t))])] > 0.8
    # Nothing fires in the quiet stretches (4.9–6.8 s holds only noise).
    assert not [t for t in times if 4.75 < t < 6.85]


def test_dialogue_covers_the_speech_and_nothing_else(cut_2398):
    _, truth, a, _ = cut_2398
    (s0, s1), = truth["speech"]
    assert a.dialogue, "speech was not detected"
    covered = sum(max(0.0, min(d.end_s, s1) - max(d.start_s, s0)) for d in a.dialogue)
    assert covered > 0.8 * (s1 - s0)
    for d in a.dialogue:   # clicks and silence are not dialogue
        assert s0 - 0.1 <= d.start_s and d.end_s <= s1 + 0.1, d


def test_loudness_curve_follows_the_sound(cut_2398):
    _, truth, a, _ = cut_2398
    t, db = a.loudness_t_s, a.loudness_db
    assert t[0] == 0 and abs(t[-1] - truth["duration_s"]) < 0.1
    assert db[np.argmin(np.abs(t - 2.8))] > -30          # speech
    assert db[np.argmin(np.abs(t - 5.7))] < -45          # noise floor (−54 dBFS)


def test_progress_and_timings(cut_2398):
    _, truth, a, calls = cut_2398
    video = [(d, t) for s, d, t in calls if s == "video"]
    assert video and video[-1] == (truth["n_frames"], truth["n_frames"])
    assert [d for s, d, _ in calls if s == "audio"] == [1, 2, 3]
    assert a.timings_s["video"] > 0 and a.timings_s["audio"] > 0


# --- other rates, timing and sound layouts ----------------------------------------------------

def test_cuts_at_25fps_without_sound(tmp_path):
    path = tmp_path / "pal.mp4"
    truth = make_cut(path, fps=Fraction(25), shot_frames=(30, 26, 33), audio=False, preset="ultrafast")
    a = analyze(path)
    assert a.source.fps == 25 and not a.source.has_audio
    assert [s.start_frame for s in a.shots[1:]] == truth["cuts"] == [30, 56]
    assert [s.start_s for s in a.shots[1:]] == [1.2, 2.24]
    assert a.dialogue == () and a.onsets == ()
    assert np.all(a.loudness_db == -120.0) and abs(a.loudness_t_s[-1] - 3.56) < 0.1


def test_variable_frame_rate_uses_pts_times(tmp_path):
    path = tmp_path / "vfr.mp4"
    truth = make_cut(path, vfr=True, shot_frames=(40, 33, 45), clicks_s=(2.0,))
    a = analyze(path)
    assert [s.start_frame for s in a.shots[1:]] == truth["cuts"]
    np.testing.assert_allclose(a.frame_times_s, truth["frame_times_s"], rtol=0, atol=1e-9)
    assert [s.start_s for s in a.shots[1:]] == pytest.approx(truth["cut_times_s"], abs=1e-9)
    # …which frame × fps would get wrong: the rate varies.
    assert any(abs(s.start_s - frame_to_s(s.start_frame, a.source.fps)) > 0.005 for s in a.shots[1:])
    assert a.source.duration_s == pytest.approx(truth["duration_s"], abs=1e-6)


def test_audio_starting_late_is_aligned_to_the_first_frame(tmp_path):
    from scorer.io.video import decode_audio

    path = tmp_path / "late.mp4"
    truth = make_cut(path, shot_frames=(40, 40), clicks_s=(1.0, 2.6), audio_start_s=0.5)
    y = decode_audio(path, sample_rate=SR, mono=True)[0]
    assert np.abs(y[:int(0.45 * SR)]).max() == 0           # padded, not shifted
    k = 0.6 * click()
    for t in truth["clicks_s"]:
        i = round(t * SR)
        lag = int(np.argmax(np.correlate(y[i - 2000:i + 2000 + len(k)], k, mode="valid"))) - 2000
        assert abs(lag) <= 48, (t, lag)                    # within 1 ms
    stereo = decode_audio(path, sample_rate=SR, mono=False)
    assert stereo.shape[0] == 2 and stereo.dtype == np.float32
    # Streamed by the worker straight into a clip store: the same samples, read in windows.
    from scorer.io.clipstore import ClipStore
    with ClipStore(tmp_path / "work") as store:
        raw = decode_audio(path, sample_rate=SR, mono=False, into=store)
        assert (raw.channels, raw.n_samples) == stereo.shape
        np.testing.assert_array_equal(raw.read(0, raw.n_samples), stereo)
        np.testing.assert_array_equal(raw.read(30_000, 30_100), stereo[:, 30_000:30_100])
    a = analyze(path)
    times = np.array([t for t, _ in a.onsets])
    assert all(np.min(np.abs(times - t)) < 0.010 for t in truth["clicks_s"])


# --- the worker process and bad input -------------------------------------------------------

def test_decoding_runs_in_a_worker_process(cut_2398):
    from scorer.io.video import PictureJob

    path, truth, _, _ = cut_2398
    with PictureJob(path, features=PictureFeatures) as job:
        out = job.result()
    assert job.worker_pid is not None and job.worker_pid != os.getpid()
    assert len(out["arrays"]["pts"]) == truth["n_frames"]


def test_a_dead_worker_is_an_input_error_naming_the_file(cut_2398):
    from scorer.io.video import PictureJob

    path, _, _, _ = cut_2398
    with PictureJob(path, features=PictureFeatures) as job:
        os.kill(job._proc.pid, signal.SIGKILL)
        with pytest.raises(InputError, match="killed by signal 9") as info:
            job.result()
    assert str(path) in str(info.value)


def test_a_hung_worker_is_stopped_with_an_input_error(cut_2398):
    from scorer.io.video import PictureJob

    path, _, _, _ = cut_2398
    with PictureJob(path, features=PictureFeatures, stall_timeout_s=1.0) as job:
        os.kill(job._proc.pid, signal.SIGSTOP)    # frozen: it will never report again
        with pytest.raises(InputError, match="sent nothing for 1 s") as info:
            job.result()
    assert str(path) in str(info.value) and not job._proc.is_alive()


@pytest.mark.parametrize("maker,needle", BAD_INPUTS)
def test_bad_input_names_the_file(tmp_path, maker, needle):
    path = tmp_path / "bad.mp4"
    if maker:
        maker(path)
    with pytest.raises(InputError, match=needle) as info:
        analyze(path)
    assert str(path) in str(info.value)


def test_truncated_or_damaged_files_are_input_errors(tmp_path, cut_2398):
    src = cut_2398[0]
    cut_short = tmp_path / "short.mp4"           # index (moov) at the end: it is lost
    truncate(src, cut_short, keep=0.6)
    with pytest.raises(InputError, match="truncated") as info:
        analyze(cut_short)
    assert str(cut_short) in str(info.value)

    fast = tmp_path / "faststart.mp4"            # index first: it opens, frames are missing
    faststart(src, fast)
    assert analyze(fast).source.n_frames == cut_2398[1]["n_frames"]
    half = tmp_path / "half.mp4"
    truncate(fast, half, keep=0.5)
    with pytest.raises(InputError, match="truncated") as info:
        analyze(half)
    assert str(half) in str(info.value)

    garbage = tmp_path / "garbage.mp4"           # every frame listed, none decodable
    scramble_media_data(fast, garbage)
    with pytest.raises(InputError, match="damaged") as info:
        analyze(garbage)
    assert str(garbage) in str(info.value)


# --- the parts alone: arrays in, answers out (no codec) ------------------------------------------

def _frames(shot_frames, *, flash=(), size=(72, 128), pan=1, cell=4, same_palette=False):
    """uint8 frames (n, h, w, 3): textures of cell × cell px squares panning `pan` px a
    frame, with equal mean brightness in every shot."""
    h, w = size
    rng = np.random.default_rng(3)
    out = []
    for s, n in enumerate(shot_frames):
        tex = rng.uniform(40, 200, (h // cell + 1, (w + pan * n) // cell + 1, 1))
        tex = np.kron(tex, np.ones((cell, cell, 1)))[:h]
        colour = np.array([1.0, 0.9, 0.8]) if same_palette else rng.uniform(0.6, 1.2, 3)
        img = tex * colour
        img *= 120 / img.mean()
        for i in range(n):
            out.append(img[:, i * pan:i * pan + w])
    frames = np.clip(np.array(out), 0, 255).astype(np.uint8)
    for k in flash:
        frames[k] = 250
    return frames


def _run(frames, fps=Fraction(24)):
    pf = PictureFeatures()
    for i in range(0, len(frames), 50):      # batches that do not line up with the shots
        pf.add(frames[i:i + 50])
    arrays = pf.arrays()
    return find_cuts(arrays["change"], fps=fps, brightness=arrays["brightness"],
                     residual=arrays["residual"]), arrays


@pytest.mark.parametrize("pan", [1, 4])
@pytest.mark.parametrize("flash_len", [1, 2, 3])
def test_flashes_of_one_to_three_frames_are_not_cuts(flash_len, pan):
    # pan 4 px at 128 px wide is a fast pan (~40 px a frame at 1280): frames 4 apart no
    # longer line up, and only the palette can say that the shot came back.
    flash = tuple(range(60, 60 + flash_len))
    found, _ = _run(_frames((40, 60), flash=flash, pan=pan, cell=4 * pan))
    assert found.cuts == (40,)
    assert found.flashes == (60,)


def test_cut_between_shots_of_one_palette_and_brightness():
    found, arrays = _run(_frames((30, 30, 30), same_palette=True))
    assert found.cuts == (30, 60)
    assert arrays["change"].shape == (90, MAX_LAG, 4)


def test_cuts_closer_than_the_minimum_shot_keep_the_stronger():
    # A 5-frame shot at 24 fps is under 0.4 s: only one of its two cuts stays.
    found, _ = _run(_frames((30, 5, 30)))
    assert len(found.cuts) == 1 and found.cuts[0] in (30, 35)
    found, _ = _run(_frames((30, 12, 30)))
    assert found.cuts == (30, 42)
    found, _ = _run(_frames((5, 40)))            # nor can the first shot be that short
    assert found.cuts == ()


@pytest.mark.parametrize("same_palette", [False, True])
def test_cuts_during_fast_pans_are_found_and_the_pans_are_not_cuts(same_palette):
    found, _ = _run(_frames((50, 50, 50), pan=8, cell=32, same_palette=same_palette))
    assert found.cuts == (50, 100)


def _stepping_shot(n, seed, *, lo, hi, cell, step_every, palette=(0.5, 0.6, 1.0)):
    """n frames of a cell-px random texture that jumps 1 px every step_every frames."""
    h, w = 72, 128
    tex = np.random.default_rng(seed).uniform(lo, hi, (h // cell + 1, (w + n) // cell + 1, 1))
    img = np.kron(tex, np.ones((cell, cell, 1)))[:h] * np.array(palette)
    return [img[:, i // step_every:i // step_every + w] for i in range(n)]


def test_a_jolt_of_a_detailed_picture_is_not_a_cut():
    # A still, finely detailed shot that jumps 2 px (analysis size; ~20 px in HD) once:
    # loud enough and sudden enough for a cut, but palette and layout stay, so it is not.
    from scorer.analyze.shots import combined_change

    h, w = 72, 128
    frames = []
    for seed, jolt_at in ((1, 20), (2, 10)):
        tex = np.random.default_rng(seed).uniform(60, 180, (h // 4 + 1, (w + 8) // 4 + 1, 1))
        img = np.kron(tex, np.ones((4, 4, 1)))[:h] * np.array((1.0, 0.8, 0.6))
        frames += [img[:, 2 * (i >= jolt_at):2 * (i >= jolt_at) + w] for i in range(48)]
    found, arrays = _run(np.clip(np.array(frames), 0, 255).astype(np.uint8))
    assert combined_change(arrays["change"])[20, 0] > 0.1      # not a quiet non-event
    assert found.cuts == (48,)


def test_a_quiet_cut_between_two_dark_look_alike_shots_is_found():
    from scorer.analyze.shots import combined_change

    shots = [_stepping_shot(40, s, lo=10, hi=30, cell=16, step_every=2) for s in (1, 2)]
    found, arrays = _run(np.clip(np.array(shots[0] + shots[1]), 0, 255).astype(np.uint8))
    assert combined_change(arrays["change"])[40, 0] < 0.3     # below the loud-cut threshold
    assert found.cuts == (40,)


def test_onsets_on_a_click_track_are_within_5ms():
    rate = 16_000
    rng = np.random.default_rng(0)
    y = (rng.standard_normal(rate * 4) * 0.002).astype(np.float32)
    truth = [0.5, 1.25, 2.0, 3.3]
    burst = (rng.standard_normal(800) * np.exp(-np.arange(800) / 120)).astype(np.float32)
    for t in truth:
        y[round(t * rate):round(t * rate) + 800] += 0.5 * burst
    found = onsets(y, sample_rate=rate)
    assert len(found) == len(truth)
    for (t, strength), want in zip(found, truth):
        assert abs(t - want) < 0.005 and strength > 0.8


def test_dialogue_spans_on_synthetic_speech():
    rate = 16_000
    import librosa
    voice = librosa.resample(speech_like(1.5, seed=2), orig_sr=SR, target_sr=rate)
    y = np.random.default_rng(1).standard_normal(rate * 5).astype(np.float32) * 0.002
    y[rate:rate + len(voice)] += voice
    spans = dialogue_spans(y, sample_rate=rate)
    assert len(spans) == 1
    assert abs(spans[0].start_s - 1.0) < 0.1 and abs(spans[0].end_s - 2.5) < 0.15
    # Silence, and a lone tone burst shorter than a word, are not dialogue.
    assert dialogue_spans(y[3 * rate:], sample_rate=rate) == ()
    with pytest.raises(InputError, match="8000"):
        dialogue_spans(y, sample_rate=44_100)


def test_loudness_curve_levels():
    rate = 16_000
    y = np.zeros(rate * 2, np.float32)
    y[rate:] = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    t, db = loudness_curve(y, sample_rate=rate)
    assert len(t) == 20 and t[1] == pytest.approx(0.1)
    assert db[3] == -120.0
    assert db[15] == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.1)


def test_a_cut_between_two_skies_of_one_palette_is_found():
    # Two smooth cloud textures in the same colours, slowly panning: the palette does not
    # move at the cut, but light, layout and detail all do, and no small shift explains it.
    h, w = 72, 128
    frames = []
    for seed in (3, 4):
        rng = np.random.default_rng(seed)
        spec = np.fft.rfft2(rng.standard_normal((h, w + 60)))
        fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w + 60)[None, :]
        tex = np.fft.irfft2(spec * np.exp(-(fx ** 2 + fy ** 2) * 12 ** 2), s=(h, w + 60))
        tex = (tex - tex.min()) / np.ptp(tex)
        img = np.array((120, 60, 40)) + tex[..., None] * np.array((135, 130, 80))
        frames += [img[:, i // 2:i // 2 + w] for i in range(48)]
    found, arrays = _run(np.clip(np.array(frames), 0, 255).astype(np.uint8))
    assert arrays["change"][48, 0, 0] < 0.1          # the colour view barely sees it
    assert found.cuts == (48,)


@pytest.mark.parametrize("residual_at_cut,is_cut", [(1.0, True), (0.1, False)])
def test_look_alike_cut_needs_a_change_no_shift_explains(residual_at_cut, is_cut):
    # The measured shape of a cut between two same-palette skies whose pan stutters
    # (bench cut, frames 1098 and 3034): the colour view stays flat, luma, layout and edges
    # stand out 4-5x, the combined change is below the loud-cut threshold. It is a cut when
    # no small shift of the previous frame explains it, and a jolt when one does.
    from scorer.analyze.picture import MAX_LAG
    from scorer.analyze.shots import find_cuts

    n, k = 96, 48
    quiet = np.array([0.02, 0.008, 0.01, 0.01], np.float32)
    cut = np.array([0.032, 0.08, 0.2, 0.332], np.float32)
    change = np.tile(quiet, (n, MAX_LAG, 1))
    for lag in range(1, MAX_LAG + 1):
        change[k:k + lag, lag - 1] = cut           # frames after k still differ from k − 1
    residual = np.ones(n, np.float32)
    residual[k] = residual_at_cut
    found = find_cuts(change, fps=Fraction(24), brightness=np.full(n, 0.4, np.float32),
                      residual=residual)
    assert found.cuts == ((k,) if is_cut else ())


def test_fade_through_black_is_one_boundary_marked_fade(tmp_path):
    from scorer.analyze.shots import boundaries, find_fades

    # Shot A, 8-frame fade to black, 4 black frames, 8-frame fade up into shot B.
    h, w = 72, 128
    rng = np.random.default_rng(0)
    a = rng.uniform(40, 200, (h, w, 3))
    b = rng.uniform(20, 120, (h, w, 3)) * np.array((0.6, 0.9, 1.2))
    frames = [a] * 30 + [a * (1 - (i + 1) / 9) for i in range(8)] + [a * 0] * 4 \
        + [b * ((i + 1) / 9) for i in range(8)] + [b] * 30
    found, arrays = _run(np.clip(np.array(frames), 0, 255).astype(np.uint8))
    fades = find_fades(arrays["brightness"], arrays["contrast"])
    assert len(fades) == 1
    start, boundary, end, kind = fades[0]
    # The boundary is the first frame that shows a picture again (the first fade-up frames
    # are still plain black at analysis precision).
    assert kind == "fade" and 29 <= start <= 31 and 42 <= boundary <= 45 and 49 <= end <= 51
    assert boundaries(found.cuts, fades) == ((boundary, "fade"),)


def test_fade_in_at_the_start_is_a_fade_but_not_a_new_shot():
    from scorer.analyze.shots import boundaries, find_fades

    bright = np.concatenate([np.zeros(5), np.linspace(0.05, 0.5, 10), np.full(30, 0.5)]).astype(np.float32)
    contrast = np.where(bright < 0.01, 0.0, 0.1).astype(np.float32)
    fades = find_fades(bright, contrast)
    assert len(fades) == 1 and fades[0][0] == 0 and fades[0][1] is None and fades[0][3] == "fade"
    assert boundaries((), fades) == ()


def _dissolve_frames(length, pan_px=0):
    h, w = 72, 128
    rng = np.random.default_rng(1)
    a = np.kron(rng.uniform(30, 220, (h // 8, (w + 400) // 8, 3)), np.ones((8, 8, 1)))
    b = np.kron(rng.uniform(30, 220, (h // 8, (w + 400) // 8, 3)), np.ones((8, 8, 1))) * np.array((1.1, 0.9, 0.8))
    frames = []
    for i in range(100):
        x = i * pan_px
        fa, fb = a[:, x:x + w], b[:, x:x + w]
        t = np.clip((i - 40) / length, 0, 1) if length else float(i >= 40)
        frames.append((1 - t) * fa + t * fb)
    return np.clip(np.array(frames), 0, 255).astype(np.uint8)


def test_a_dissolve_is_one_boundary_in_its_middle_not_a_cut():
    from scorer.analyze.shots import boundaries, find_dissolves

    found, arrays = _run(_dissolve_frames(12))
    dissolves = find_dissolves(arrays["long_change"], arrays["change"], arrays["contrast"], cuts=found.cuts)
    assert len(dissolves) == 1
    start, mid, end, kind = dissolves[0]
    assert kind == "dissolve" and abs(start - 40) <= 2 and abs(end - 52) <= 2 and abs(mid - 46) <= 2
    assert boundaries(found.cuts, dissolves) == ((mid, "dissolve"),)


def test_a_fast_pan_is_not_a_dissolve():
    from scorer.analyze.shots import find_dissolves

    h, w = 72, 128
    # 2 px a frame: every step small, frames 16 apart unrelated — a dissolve but for the
    # contrast, which a pan keeps and a blend of two pictures loses.
    tex = np.kron(np.random.default_rng(2).uniform(30, 220, (h // 8, 1200 // 8, 3)), np.ones((8, 8, 1)))
    frames = np.clip(np.array([tex[:, 2 * i:2 * i + w] for i in range(100)]), 0, 255).astype(np.uint8)
    found, arrays = _run(frames)
    assert found.cuts == ()
    assert find_dissolves(arrays["long_change"], arrays["change"], arrays["contrast"], cuts=found.cuts) == ()


def test_encoded_fade_and_dissolve_become_shots_with_their_kind(tmp_path):
    from media import write_frames

    h, w = 180, 320

    def shot(seed, tint):
        t = np.kron(np.random.default_rng(seed).uniform(40, 210, (h // 20, w // 20, 3)), np.ones((20, 20, 1)))
        return np.clip(t * np.array(tint), 0, 255)

    a, b, c = shot(1, (1, 1, 1)), shot(2, (1.2, 0.9, 0.7)), shot(3, (0.7, 0.9, 1.2))
    frames = [a] * 40                                             # shot A
    frames += [a * (1 - (i + 1) / 10) for i in range(10)] + [a * 0] * 3   # fade out to black
    frames += [b * ((i + 1) / 10) for i in range(10)] + [b] * 40          # fade up into B
    frames += [(1 - (i + 1) / 13) * b + (i + 1) / 13 * c for i in range(12)]  # dissolve B → C
    frames += [c] * 40
    path = tmp_path / "transitions.mp4"
    write_frames(path, np.clip(np.array(frames), 0, 255).astype(np.uint8))
    a_ = analyze(path)
    kinds = [(s.start_frame, s.transition_in) for s in a_.shots]
    assert [k for _, k in kinds] == ["start", "fade", "dissolve"], kinds
    assert 50 <= kinds[1][0] <= 56          # out of black: between the black frames and full B
    assert 109 <= kinds[2][0] <= 117        # the dissolve's middle (B → C over frames 103…114)
    # …and both are reported as spans with their kind.
    spans = [(round(t.start_s * 24000 / 1001), round(t.end_s * 24000 / 1001), t.kind) for t in a_.transitions]
    assert [k for _, _, k in spans] == ["fade", "dissolve"], spans
    assert spans[0][0] <= 42 and spans[0][1] >= 56 and spans[1][0] <= 104 and spans[1][1] >= 113


def test_shots_carry_their_looks_and_the_pace_around_them():
    from scorer.analyze.shots import describe_shots
    from scorer.types import Shot

    fps = 24
    # 60 s of 10 s shots, then 30 s of 1 s shots.
    bounds = [0, 240, 480, 720, 960, 1200] + list(range(1440, 2160, 24)) + [2160]
    shots = tuple(Shot(a / fps, b / fps, a, "start" if a == 0 else "cut") for a, b in zip(bounds, bounds[1:]))
    n = 2160
    arrays = {"contrast": np.full(n, 0.2, np.float32), "saturation": np.full(n, 0.5, np.float32),
              "warmth": np.linspace(-1, 1, n).astype(np.float32), "brightness": np.zeros(n, np.float32)}
    out = describe_shots(shots, arrays)
    assert out[0].contrast == pytest.approx(0.2) and out[0].saturation == pytest.approx(0.5)
    assert out[0].warmth < 0 < out[-1].warmth
    assert out[0].pace_per_min == pytest.approx(7.2)     # 3 shot starts in the 25 s around it
    assert out[-1].pace_per_min > 40
