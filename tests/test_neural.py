"""The neural backends' plumbing, driven by tiny randomly initialised audiocraft models.

The models are built from audiocraft's own builders and classes (random_models.py) and
demucs' own HTDemucs; their output is untrained noise, so nothing here judges it as
music. What is checked: prompts reach the model, the chroma conditioning is the cue's own
rendered parts, long cues go window by window with continuation, seams do not click,
clips are exactly the cue's length, stems come from the separation model and sum to the
take, metadata is complete, missing weights fail fast and clearly, memory is released.
Known-answer signals (click tracks, sines) check conform and crossfades.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import weakref
from fractions import Fraction

import numpy as np
import pytest

from scorer.render.neural._torchaudio import import_torchaudio  # noqa: E402

try:
    import_torchaudio()        # torchaudio's CUDA-only extension must be stubbed before audiocraft imports it
except ImportError:
    pass                       # no torch/torchaudio: audiocraft is not importable either, and we skip
pytest.importorskip("audiocraft")

from scorer.config import Config, using  # noqa: E402
from scorer.errors import BackendUnavailable, InputError  # noqa: E402
from scorer.render import get_backend  # noqa: E402
from scorer.render.neural import models, random_models as R, windows  # noqa: E402
from scorer.timebase import SAMPLE_RATE, s_to_sample  # noqa: E402
from scorer.types import Cue, CueScore, Hit, HitFit, Note, Part, Score, Source, TempoMap  # noqa: E402

pytestmark = pytest.mark.neural

FPS = Fraction(24, 1)
WIN = dict(window_s=3.0, context_s=1.0, crossfade_s=0.25)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)      # first calls otherwise stall for seconds on 2 cores
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def htdemucs():
    return R.tiny_htdemucs()


@pytest.fixture(scope="module")
def melody_model(htdemucs):
    return R.build("musicgen", R.lm_config(lm=R.TINY_LM, max_duration_s=20, melody=True, chroma_radix2_exp=12),
                   R.compression_config(seanet=R.TINY_SEANET, rvq=R.TINY_RVQ, sample_rate=32000),
                   name="tiny-musicgen-melody", chroma_demucs=htdemucs)


@pytest.fixture(scope="module")
def text_model():
    return R.build("musicgen", R.lm_config(lm=R.TINY_LM, max_duration_s=20),
                   R.compression_config(seanet=R.TINY_SEANET, rvq=R.TINY_RVQ, sample_rate=32000),
                   name="tiny-musicgen")


@pytest.fixture(scope="module")
def audiogen_model():
    return R.build("audiogen", R.lm_config(lm=R.TINY_LM, max_duration_s=20),
                   R.compression_config(seanet=dict(R.TINY_SEANET, ratios=[10, 8, 8]), rvq=R.TINY_RVQ,
                                        sample_rate=16000), name="tiny-audiogen")


@pytest.fixture()
def separator(monkeypatch, htdemucs):
    """The separation model the backend loads: the tiny HTDemucs."""
    from scorer.render.neural import separate
    monkeypatch.setattr(separate, "load_separator", lambda **kw: htdemucs)
    return htdemucs


def cue_score(cue_id="1M1", start_s=1.2345, bars=3, tempo=120.0, tail_s=0.75, preset="tension") -> CueScore:
    """A cue at a non-round start with a D minor pad, a bass line and a drum hit on a
    scored hit at the start of bar 2."""
    tm = TempoMap.constant(start_s, tempo)
    end = tm.bar_to_s(bars) - 0.0107            # ends off the beat grid: lengths must still be exact
    hit_t = tm.bar_to_s(1)
    hit = Hit(hit_t, round(hit_t * 24), 0.9, "cut", True)
    cue = Cue(cue_id, start_s, end, preset, -0.3, 0.2, ((start_s, 0.2), (end, 0.9)), (hit,))
    pad = Part("pad", "strings", 48, False, tuple(Note(start_s, end, p, 80) for p in (62, 65, 69)))
    bass = Part("bass", "bass", 32, False, tuple(Note(tm.beat_to_s(b), tm.beat_to_s(b + 1), 38, 90)
                                                  for b in range(bars * 4)))
    drum = Part("hits", "percussion", 0, True, (Note(hit_t, hit_t + 0.2, 49, 120),))
    return CueScore(cue, tm, "D minor", ((start_s, "Dm"),), (pad, bass, drum), (HitFit(hit, 4.0, 0.0, True),),
                    tail_s=tail_s)


def make_score(*cues: CueScore) -> Score:
    end = max(cs.cue.end_s + cs.tail_s for cs in cues) + 1
    return Score(Source("x.mp4", FPS, end, int(end * 24)), tuple(cues), seed=11)


class Spy:
    """Records what reaches the model's conditioning (texts, melody wavs, prompts)."""

    def __init__(self, monkeypatch, model):
        self.calls = []
        original = model._prepare_tokens_and_attributes

        def spy(descriptions, prompt, melody_wavs=None):   # noqa: E306
            self.calls.append({"texts": list(descriptions),
                               "prompt": None if prompt is None else prompt.detach().cpu().numpy().copy(),
                               "melody": None if melody_wavs is None else melody_wavs[0].detach().cpu().numpy().copy()})
            extra = {} if melody_wavs is None else {"melody_wavs": melody_wavs}
            return original(descriptions, prompt, **extra)

        monkeypatch.setattr(model, "_prepare_tokens_and_attributes", spy)


# --- installation and import -------------------------------------------------------------------

def test_torchaudio_imports_on_this_torch_through_the_shim():
    from scorer.render.neural._torchaudio import TESTED_TORCHAUDIO, import_torchaudio, native_extension
    ta = import_torchaudio()
    assert ta.__version__.split("+")[0] == TESTED_TORCHAUDIO
    assert native_extension() in (True, False)
    import torch
    spec = ta.transforms.Spectrogram(n_fft=256)(torch.randn(1, 4096))      # what the chroma uses
    assert spec.shape[1] == 129


def test_backends_register_without_importing_torch():
    code = ("import sys; from scorer.render import get_backend; b = get_backend('musicgen'); "
            "a = get_backend('audiogen'); assert b.name == 'musicgen' and a.name == 'audiogen'; "
            "print('torch' in sys.modules, 'audiocraft' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_unknown_and_bad_options_are_input_errors(text_model):
    score = make_score(cue_score())
    with pytest.raises(InputError, match="unknown options"):
        get_backend("musicgen").render(score, model=text_model, colour="blue")
    with pytest.raises(InputError, match="melody model"):
        get_backend("musicgen").render(score, model=text_model, melody=True, separate=False)
    with pytest.raises(InputError, match="window_s"):
        get_backend("musicgen").render(score, model=text_model, window_s=99.0, separate=False)
    with pytest.raises(InputError, match="unknown options"):
        get_backend("audiogen").render(score, model=text_model, loops=3)


# --- weights ----------------------------------------------------------------------------------------

def test_missing_weights_fail_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    import huggingface_hub.constants as hc
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    t = time.perf_counter()
    with using(Config()), pytest.raises(BackendUnavailable) as err:      # no SCORER_MODEL_PATH
        get_backend("musicgen").render(make_score(cue_score()))
    assert time.perf_counter() - t < 5.0
    msg = str(err.value)
    assert "facebook/musicgen-melody" in msg and "hf download" in msg and "SCORER_MODEL_PATH" in msg
    assert "CC-BY-NC" in msg
    with pytest.raises(BackendUnavailable, match="holds no state_dict.bin"):
        models.load("musicgen", "facebook/musicgen-small", model_path=tmp_path)
    with using(Config(model_path=tmp_path)), pytest.raises(BackendUnavailable, match="SCORER_MODEL_PATH"):
        get_backend("audiogen").render(make_score(cue_score()))


def test_separation_weights_missing_is_clear(tmp_path, monkeypatch):
    from scorer.render.neural.separate import find_htdemucs
    import huggingface_hub.constants as hc
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with using(Config()), pytest.raises(BackendUnavailable, match="separate=False"):   # no SCORER_SEPARATION_PATH
        find_htdemucs()


def test_a_checkpoint_folder_loads_once_and_is_released(tmp_path, monkeypatch):
    """A tiny model saved as an audiocraft checkpoint folder loads through the real path
    (offline, weights_only torch.load with the OmegaConf config allowed), is cached, and
    its memory goes when released or when a job runs with keep_model=False."""
    m = R.build("musicgen", R.lm_config(lm=R.TINY_LM, max_duration_s=20),
                R.compression_config(seanet=R.TINY_SEANET, rvq=R.TINY_RVQ, sample_rate=32000))
    R.save_checkpoint(m, tmp_path / "musicgen-small")
    monkeypatch.setattr(models, "LOADER", models.ModelLoader())      # this test's own, empty
    with using(Config(model_path=tmp_path)):                         # as SCORER_MODEL_PATH sets it
        loaded = models.load("musicgen", "facebook/musicgen-small", device="cpu")
        assert loaded.source == "SCORER_MODEL_PATH" and loaded.version.startswith("sha256")
        assert models.load("musicgen", "facebook/musicgen-small", device="cpu") is loaded   # once per process
        assert models.load_count() == 1
        ref = weakref.ref(loaded.model)
        score = make_score(cue_score(bars=1))
        stems = get_backend("musicgen").render(score, model="facebook/musicgen-small", device="cpu",
                                               separate=False, conform=False, keep_model=False, **WIN)
    assert stems.info["model"]["source"] == "SCORER_MODEL_PATH"
    del loaded
    assert models.cached() == ()
    assert ref() is None


def test_loaders_are_separate(tmp_path):
    """A ModelLoader holds its own models: another loader, or the process's, loads its own copy."""
    m = R.build("musicgen", R.lm_config(lm=R.TINY_LM, max_duration_s=20),
                R.compression_config(seanet=R.TINY_SEANET, rvq=R.TINY_RVQ, sample_rate=32000))
    R.save_checkpoint(m, tmp_path / "musicgen-small")
    a, b = models.ModelLoader(), models.ModelLoader()
    one = a.load("musicgen", "facebook/musicgen-small", model_path=tmp_path, device="cpu")
    assert a.load("musicgen", "facebook/musicgen-small", model_path=tmp_path, device="cpu") is one
    assert b.load("musicgen", "facebook/musicgen-small", model_path=tmp_path, device="cpu") is not one
    assert (a.load_count(), b.load_count()) == (1, 1) and one not in models.cached()
    sep = a.keep(("htdemucs", "x", "cpu"), lambda: object())
    assert a.keep(("htdemucs", "x", "cpu"), lambda: object()) is sep
    a.release()
    assert a.cached() == () and a.keep(("htdemucs", "x", "cpu"), lambda: None) is None   # all dropped
    assert b.cached() != ()


def test_out_of_memory_unloads_the_model_and_says_so(monkeypatch, tmp_path):
    import torch
    m = R.build("musicgen", R.lm_config(lm=R.TINY_LM, max_duration_s=20),
                R.compression_config(seanet=R.TINY_SEANET, rvq=R.TINY_RVQ, sample_rate=32000))
    R.save_checkpoint(m, tmp_path / "musicgen-small")
    loaded = models.load("musicgen", "facebook/musicgen-small", model_path=tmp_path, device="cpu")

    def oom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(loaded.model.lm, "generate", oom)
    with pytest.raises(BackendUnavailable, match="out of memory.*unloaded"):
        get_backend("musicgen").render(make_score(cue_score(bars=1)), model="facebook/musicgen-small",
                                       model_path=tmp_path, separate=False, conform=False, **WIN)
    assert loaded not in models.cached()


# --- the take ---------------------------------------------------------------------------------------

def test_prompts_melody_windows_lengths_and_metadata(monkeypatch, melody_model, separator):
    spy = Spy(monkeypatch, melody_model)
    cs = cue_score(bars=4)                        # 8 s + tail: four 3 s windows
    score = make_score(cs)
    stages = []
    stems = get_backend("musicgen").render(score, model=melody_model, prompt="with a lonely oboe",
                                           conform=False, progress=lambda s, d, t: stages.append((s, d, t)), **WIN)
    take = stems.info["takes"]["1M1"]
    n = s_to_sample(cs.cue.end_s + cs.tail_s) - s_to_sample(cs.cue.start_s)
    # Exact length, to the sample, in every stem; stems from the separation model.
    assert set(stems.groups) == {"drums", "bass", "other"}
    for clips in stems.groups.values():
        (clip,) = clips
        assert clip.start_sample == s_to_sample(cs.cue.start_s) and clip.n_samples == n and clip.channels == 2
    # Windows: the first from text + melody alone, the rest continuing from the material.
    w = take["windows"]
    assert len(w) == len(spy.calls) >= 3
    assert spy.calls[0]["prompt"] is None and all(c["prompt"] is not None for c in spy.calls[1:])
    assert all(abs(c["prompt"].shape[-1] / 32000 - WIN["context_s"]) < 1e-9 for c in spy.calls[1:])
    # Prompt plumbing: preset prompt, the user's words and intensity reach the model per window.
    for call, rec in zip(spy.calls, w):
        assert call["texts"] == [rec["prompt"]]
        assert "with a lonely oboe" in rec["prompt"] and "120 bpm, D minor" in rec["prompt"]
    assert "restrained" in w[0]["prompt"] and "powerful" in w[-1]["prompt"]      # intensity 0.2 → 0.9
    # Metadata next to the audio.
    from scorer.render.neural.take import cue_seed, window_seed
    assert take["seed"] == cue_seed(11, "1M1", "musicgen") and take["base_seed"] == 11
    assert [rec["seed"] for rec in w] == [window_seed(take["seed"], k) for k in range(len(w))]
    assert take["model"]["name"] == "tiny-musicgen-melody" and take["model"]["audiocraft"] == "1.3.0"
    assert take["params"]["window_s"] == 3.0 and take["params"]["melody"] is True
    assert take["separation"]["model"] == "htdemucs" and take["files"].keys() == {"drums", "bass", "other"}
    assert {s for s, _, _ in stages} >= {"generate", "separate"}
    assert stages[-1][1] == stages[-1][2]


def test_melody_wav_is_the_cues_own_rendered_harmony(monkeypatch, melody_model, separator):
    """The melody wav handed to the chroma conditioner is the cue's pitched parts as the
    soundfont renders them: its chroma peaks on D, F and A (the pad) and it leaves out
    the drums."""
    import librosa
    spy = Spy(monkeypatch, melody_model)
    cs = cue_score(bars=1)
    get_backend("musicgen").render(make_score(cs), model=melody_model, separate=False, conform=False, **WIN)
    wav = spy.calls[0]["melody"][0]
    n_model = int(np.ceil((cs.cue.end_s + cs.tail_s - cs.cue.start_s) * 25)) * 32000 // 25    # one window, whole frames
    assert wav.shape[-1] == n_model and np.sqrt(np.mean(wav ** 2)) > 1e-3
    chroma = librosa.feature.chroma_stft(y=wav, sr=32000, n_fft=8192).mean(axis=1)
    top3 = set(np.argsort(chroma)[-3:])
    assert top3 == {2, 5, 9}          # D, F, A
    # The drum hit (a crash at the start of bar 2 = 2 s into the cue) is not in it.
    hit = int((cs.hit_fits[0].hit.t_s - cs.cue.start_s) * 32000)
    before, after = wav[hit - 3200:hit], wav[hit:hit + 3200]
    assert np.abs(after).max() < 3 * np.abs(before).max() + 1e-3


def test_seams_do_not_click_and_takes_repeat_by_seed(monkeypatch, text_model):
    cs = cue_score(bars=4)
    score = make_score(cs)
    a = get_backend("musicgen").render(score, model=text_model, separate=False, conform=False, seed=5, **WIN)
    y = a.groups["music"][0].samples[0]
    take = a.info["takes"]["1M1"]
    jumps = np.abs(np.diff(y))
    end = s_to_sample(cs.cue.end_s) - s_to_sample(cs.cue.start_s)
    seams = [s_to_sample(rec["start_s"] + rec["context_s"]) for rec in take["windows"][1:]]
    xf = s_to_sample(WIN["crossfade_s"])
    near = np.zeros(len(jumps), bool)
    for s in seams:
        near[max(s - xf - 64, 0):s + 64] = True
    material = jumps[:end][~near[:end]]
    assert seams and material.size
    for s in seams:                      # no sample-to-sample jump above the material's own
        assert jumps[max(s - xf - 64, 0):s + 64].max() <= material.max()
    b = get_backend("musicgen").render(score, model=text_model, separate=False, conform=False, seed=5, **WIN)
    c = get_backend("musicgen").render(score, model=text_model, separate=False, conform=False, seed=6, **WIN)
    assert np.array_equal(b.groups["music"][0].samples, a.groups["music"][0].samples)
    assert not np.array_equal(c.groups["music"][0].samples, a.groups["music"][0].samples)


def test_designed_tail_decays_to_silence_after_the_cue_end():
    sr = 8000
    t = np.arange(sr * 3) / sr
    y = (0.5 * np.sin(2 * np.pi * 220 * t))[None].astype(np.float32)
    out = windows.designed_tail(y, sample_rate=sr, end=sr * 2, decay_s=0.5, ring_s=0.25)
    assert np.array_equal(out[:, :sr * 2 - 1], y[:, :sr * 2 - 1])
    assert np.abs(out[:, int(sr * 2.6):]).max() < 1e-3 * np.abs(y).max() * 10
    assert out[0, -1] == 0.0
    assert np.abs(np.diff(out[0])).max() <= np.abs(np.diff(y[0])).max() * 1.5


def test_equal_power_join_keeps_a_steady_tone_steady():
    sr = 8000
    t = np.arange(sr) / sr
    tone = np.sin(2 * np.pi * 100 * t)[None].astype(np.float32)
    out_f, in_f = windows.equal_power(400)
    assert np.allclose(out_f ** 2 + in_f ** 2, 1.0, atol=1e-6)
    for rho in (0.0, 0.5, 1.0):
        g_out, g_in = windows.constant_power(400, rho)
        assert np.allclose(g_out ** 2 + g_in ** 2 + 2 * rho * g_out * g_in, 1.0, atol=1e-6)
    noise_a, noise_b = np.random.default_rng(0).standard_normal((2, 1, 4000)).astype(np.float32)
    joined = windows.join(noise_a, noise_b[:, :400], noise_b[:, 400:])
    assert joined.shape[1] == 4000 + 3600
    seam_rms = np.sqrt(np.mean(joined[:, 3600:4000] ** 2))
    assert 0.85 < seam_rms < 1.15                  # uncorrelated: constant power
    # The same tone on both sides (a re-rendered prompt): the join is the tone itself, no bulge.
    same = windows.join(tone[:, :4000], tone[:, 3600:4000], tone[:, 4000:])
    assert same.shape == tone.shape and np.abs(same - tone).max() < 1e-5


def test_plan_windows_covers_the_take_and_respects_the_window():
    plan = windows.plan_windows(65.0, window_s=30.0, context_s=10.0, anchor_s=5.0)
    assert plan[0].start_s == 0 and plan[-1].end_s == pytest.approx(65.0)
    assert all(w.end_s - w.start_s + w.anchor_s <= 30.0 + 1e-9 for w in plan)
    assert sum(w.new_s for w in plan[1:]) + plan[0].end_s == pytest.approx(65.0)
    assert windows.plan_windows(12.0, window_s=30.0, context_s=10.0) == (windows.Window(0, 0.0, 12.0, 0.0, 0.0),)


def test_separation_stems_sum_to_the_take(htdemucs):
    from scorer.render.neural.separate import STEMS, separate
    rng = np.random.default_rng(1)
    y = (0.1 * rng.standard_normal((2, SAMPLE_RATE * 3))).astype(np.float32)
    stems, residual_db = separate(y, SAMPLE_RATE, model=htdemucs)
    assert tuple(stems) == STEMS and all(s.shape == y.shape for s in stems.values())
    assert np.allclose(sum(stems.values()), y, atol=1e-5)
    assert np.isfinite(residual_db)


# --- conform on a known answer ---------------------------------------------------------------------

def click_track(times_s, n, sr):
    y = np.zeros(n, np.float32)
    burst = (np.random.default_rng(0).standard_normal(int(0.015 * sr)) * np.hanning(int(0.015 * sr))).astype(np.float32)
    for t in times_s:
        i = int(round(t * sr))
        if i + len(burst) < n:
            y[i:i + len(burst)] += burst
    return np.stack([y, y])


def test_conform_brings_a_dragging_take_onto_the_tempo_map():
    from scorer.render.neural.conform import conform
    sr = 22050
    cs = cue_score(start_s=0.0, bars=6, tempo=120.0)
    played = [b * 0.5 * 1.03 + 0.01 for b in range(48)]          # 3 % slow: drifts to ~0.35 s at bar 6
    y = click_track(played, int(13 * sr), sr)
    out, rep = conform(y, sr, cs, start_timeline_s=0.0, end_s=12.0)
    assert rep.applied and rep.max_drift_s > 0.1
    (before,), (after,) = rep.hits_before, rep.hits_after
    assert abs(before.error_s) > 0.01
    assert abs(after.error_s) < 0.02
    assert out.shape == y.shape
    same, rep2 = conform(click_track([b * 0.5 for b in range(24)], int(13 * sr), sr), sr, cs,
                         start_timeline_s=0.0, end_s=12.0)
    assert not rep2.applied and "within tolerance" in rep2.reason


# --- ambience, layering, sidecars ------------------------------------------------------------------

def test_audiogen_beds_loop_seamlessly_to_the_cue_length(audiogen_model):
    from scorer.render.ambience import CROSSFADE_S
    from scorer.music.presets import load_presets
    cs = cue_score(bars=4)
    stems = get_backend("audiogen").render(make_score(cs), model=audiogen_model, window_s=2.0, crossfade_s=0.5,
                                           prompt={"1M1": "rain on a tin roof"})
    (clip,) = stems.groups["ambience"]
    assert clip.n_samples == s_to_sample(cs.cue.end_s + CROSSFADE_S) - s_to_sample(cs.cue.start_s)
    take = stems.info["takes"]["1M1"]
    preset = load_presets()["tension"]
    assert take["prompt"] == f"{preset.ambience.prompt}, rain on a tin roof"
    y = clip.samples
    rms = np.sqrt(np.mean(y ** 2))
    assert 10 ** ((preset.ambience.level_db - 3) / 20) < rms < 10 ** ((preset.ambience.level_db + 1) / 20)
    assert np.abs(y[:, 0]).max() < 1e-3 and np.abs(y[:, -1]).max() < 1e-3
    # The loop seam (every 1.5 s after the first pass) is no jump above the bed's own.
    jumps = np.abs(np.diff(y[0]))
    inner = jumps[SAMPLE_RATE:-SAMPLE_RATE]
    assert inner.max() < 5 * np.percentile(inner, 99.9)


def test_audiogen_continue_mode_and_windows(audiogen_model):
    cs = cue_score(bars=2)
    stems = get_backend("audiogen").render(make_score(cs), model=audiogen_model, extend="continue", window_s=2.0,
                                           context_s=0.5, crossfade_s=0.2)
    assert len(stems.info["takes"]["1M1"]["windows"]) >= 3


def test_plan_mixes_backends_per_cue_and_layers_symbolic_percussion(text_model, audiogen_model, tmp_path):
    from scorer.render.plan import render_plan
    from scorer.io.takes import write_sidecars
    a, b = cue_score("1M1", bars=1), cue_score("1M2", start_s=6.5, bars=1)
    stems = render_plan(make_score(a, b), backend_by_cue={"1M1": "musicgen"}, default="soundfont",
                        layers=("audiogen",),
                        options={"musicgen": dict(model=text_model, separate=False, conform=False,
                                                  symbolic_groups=("percussion",), **WIN),
                                 "audiogen": dict(model=audiogen_model, window_s=2.0)})
    assert stems.info["backend_by_cue"] == {"1M1": "musicgen", "1M2": "soundfont"}
    labels = {g: sorted(c.label for c in clips) for g, clips in stems.groups.items()}
    assert labels["music"] == ["1M1"] and labels["percussion"] == ["1M1", "1M2"]
    assert labels["strings"] == ["1M2"] and labels["ambience"] == ["1M1", "1M2"]
    paths = write_sidecars(stems, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == ["1M1.audiogen.take.json", "1M1.musicgen.take.json", "1M2.audiogen.take.json"]
    rec = json.loads((tmp_path / "1M1.musicgen.take.json").read_text())
    assert rec["schema"] == "NeuralTake.1" and rec["seed"] and rec["model"]["name"] == "tiny-musicgen"
    assert rec["prompt"] and rec["params"]["symbolic_groups"] == ["percussion"]
    with pytest.raises(InputError, match="not in the score"):
        render_plan(make_score(a), backend_by_cue={"9M9": "musicgen"})
    with pytest.raises(BackendUnavailable, match="unknown render backend"):
        render_plan(make_score(a), default="nope")


def test_device_choice_is_automatic_and_checked():
    assert models.choose_device() in ("cpu", "cuda", "mps")
    assert models.choose_device("cpu") == "cpu"
    import torch
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailable, match="no CUDA"):
            models.choose_device("cuda")
    with pytest.raises(InputError):
        models.choose_device("tpu")


# --- through the whole pipeline ----------------------------------------------------------------

def test_the_pipeline_scores_a_cut_with_a_neural_cue_and_neural_ambience(text_model, audiogen_model, tmp_path):
    import soundfile as sf

    import scorer
    from media import make_cut

    cut = tmp_path / "cut.mp4"
    make_cut(cut, shot_frames=(96, 72, 120), clicks_s=(4.0,))
    out = tmp_path / "out"
    report = scorer.score(cut, out, seed=3, preview=False, backend_by_cue=None, layers=("audiogen",),
                          backend="soundfont",
                          backend_options={"audiogen": dict(model=audiogen_model, window_s=2.0)})
    first = report["cues"][0]["id"]
    again = scorer.score(cut, tmp_path / "out2", seed=3, preview=False, cues=out / "cues.json",
                         backend_by_cue={first: "musicgen"}, layers=("audiogen",),
                         backend_options={"musicgen": dict(model=text_model, separate=False, conform=False, **WIN),
                                          "audiogen": dict(model=audiogen_model, window_s=2.0)})
    files = again["files"]
    assert f"stems/{first}.musicgen.take.json" in files["neural_takes"]
    assert "music" in files["stems"] and "ambience" in files["stems"]
    rec = json.loads((tmp_path / "out2" / f"stems/{first}.musicgen.take.json").read_text())
    assert rec["model"]["name"] == "tiny-musicgen" and rec["prompt"] and isinstance(rec["seed"], int)
    n = s_to_sample(again["source"]["duration_s"])
    assert sf.info(tmp_path / "out2" / "mix.wav").frames == n              # full length, to the sample


def test_the_cli_says_how_to_get_weights_when_they_are_missing(tmp_path, monkeypatch):
    import subprocess
    import sys

    from media import make_cut

    cut = tmp_path / "cut.mp4"
    make_cut(cut, shot_frames=(96, 72), clicks_s=())
    env = {**__import__("os").environ, "SCORER_MODEL_PATH": str(tmp_path / "no-weights"), "HF_HOME": str(tmp_path / "hf")}
    r = subprocess.run([sys.executable, "-m", "scorer.cli", "score", str(cut), "-o", str(tmp_path / "o"),
                        "--backend", "musicgen", "--no-preview", "-q"], capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "weights" in r.stderr.lower() and "CC-BY-NC" in r.stderr


def test_a_studio_export_delivers_the_neural_take_auditioned_unless_its_cue_changed(text_model, tmp_path):
    """A MusicGen take keeps its stems: the export mixes them (no model needed, the same
    performance); once the cue is moved, the export generates it again and says so."""
    import soundfile as sf

    from media import correlation, make_cut
    from scorer import studio

    cut = tmp_path / "cut.mp4"
    make_cut(cut, shot_frames=(96, 72, 120), clicks_s=(4.0,))
    p = studio.new_project(tmp_path / "proj", cut, seed=2)
    cue = p.cue_sheet().cues[0]
    options = dict(model=text_model, separate=False, conform=False, device="cpu", **WIN)
    take = studio.make_take(p, cue.id, studio.take_params(seed=11), backend="musicgen", options=options)
    kept = json.loads(studio.take_file(p, take, "take.json").read_text())["stems"]
    assert set(kept["files"]) == {"music"} and sf.info(studio.take_file(p, take, "stem-music.flac")).channels == 2
    p.select(cue.id, take.id)

    z = studio.export(p, preview=False)                  # no model given: none needed
    said = json.loads((z.parent / z.stem / "chosen_takes.json").read_text())
    assert said[cue.id]["audio"] == "the take's own stems, as auditioned" and said[cue.id]["take"] == take.id
    (music,) = (z.parent / z.stem / "stems").glob("*_ALL_Music_v01.wav")
    y, _ = sf.read(music, dtype="float32", always_2d=True)
    rec, _ = sf.read(studio.take_file(p, take, "stem-music.flac"), dtype="float32", always_2d=True)
    lo, hi = s_to_sample(cue.start_s + 0.5), s_to_sample(cue.end_s - 0.5)
    recorded = (rec.T * kept["files"]["music"]["gain"])[:, lo - kept["start_sample"]:hi - kept["start_sample"]]
    assert correlation(y[lo:hi].T, recorded) > 0.99

    studio.save_edit(p, studio.move_cue(p.cue_sheet(), cue.id, end_s=cue.end_s - 1.0), touched=[cue.id])
    exports = sorted((p.folder / "exports").iterdir())
    with pytest.raises(BackendUnavailable):              # the default model's weights are not here
        studio.export(p, preview=False)
    assert sorted((p.folder / "exports").iterdir()) == exports          # nothing half-made left
    z2 = studio.export(p, preview=False, options={"musicgen": options})
    said = json.loads((z2.parent / z2.stem / "chosen_takes.json").read_text())
    assert said[cue.id]["audio"].startswith("generated again with the take's seed: the cue was moved")
