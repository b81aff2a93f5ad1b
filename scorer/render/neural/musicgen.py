"""The `musicgen` backend: a MusicGen take per cue, steered by the score.

Per cue: the cue's pitched parts are rendered with the soundfont backend and fed to
musicgen-melody as the melody wav (its chroma follows scorer's harmony and tempo map);
each window's text is the preset's prompt, the user's words and the cue's intensity,
tempo and key there. Cues longer than one window are generated as overlapping windows
(windows.py) joined with equal-power crossfades; the take is resampled to the project
rate, measured against the tempo map and conformed where it drifts (conform.py), ended
with a designed tail at the cue's end, and split into drums/bass/other stems by demucs
(separate.py). Score groups named in `symbolic_groups` are rendered by the soundfont
backend alongside (e.g. symbolic percussion on the hits over a neural bed).

Clips run from the cue's start to the end of its tail, exactly as the soundfont
backend's, and are parked in the ClipStore. Stems.info["takes"][cue] records each take
(take.py). Nothing here imports torch at module import.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from scorer.errors import InputError
from scorer.io.clipstore import ClipStore
from scorer.timebase import (SAMPLE_RATE, frame_to_s, frames_covering, n_samples, nearest_frame, parse_fps,
                             s_to_sample, sample_to_s)
from scorer.types import Clip, CueScore, Score, Stems

DEFAULT_MODEL = "facebook/musicgen-melody"
DEFAULT_CONTEXT_S = 10.0
DEFAULT_CROSSFADE_S = 0.5


@dataclass(frozen=True)
class MusicParams:
    """Generation settings of one render (validated)."""
    window_s: float
    context_s: float
    anchor_s: float
    crossfade_s: float
    top_k: int
    top_p: float
    temperature: float
    cfg_coef: float
    melody: bool
    conform: bool
    tolerance_s: float
    separate: bool
    stems: tuple[str, ...]
    symbolic_groups: tuple[str, ...]

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["stems"], d["symbolic_groups"] = list(self.stems), list(self.symbolic_groups)
        return d


def _number(name: str, value, lo: float, hi: float, *, integer: bool = False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (lo <= value <= hi) \
            or (integer and int(value) != value):
        raise InputError(f"{name} must be a {'whole ' if integer else ''}number in [{lo}, {hi}], got {value!r}")
    return int(value) if integer else float(value)


def resolve_model(kind: str, model, *, model_path, device):
    """A LoadedModel from a name (loaded offline, cached), a LoadedModel, or a built
    audiocraft model object."""
    from scorer.render.neural import models

    if isinstance(model, models.LoadedModel):
        return model
    if isinstance(model, str):
        return models.load(kind, model, model_path=model_path, device=device)
    if hasattr(model, "lm") and hasattr(model, "compression_model"):
        return models.wrap(kind, model)
    raise InputError(f"model must be a model name (e.g. {DEFAULT_MODEL}) or a loaded model, got {model!r}")


def symbolic_render(score: Score, *, keep, presets, store, soundfont) -> Stems | None:
    """The score's parts for which keep(part) holds, rendered by the soundfont backend (None
    if there are none)."""
    from scorer.render.soundfont import SoundFontBackend

    cues = tuple(replace(cs, parts=tuple(p for p in cs.parts if keep(p))) for cs in score.cues)
    if not any(cs.parts for cs in cues):
        return None
    return SoundFontBackend().render(replace(score, cues=cues), presets=presets, store=store, workers=1,
                                     **({"soundfont": soundfont} if soundfont is not None else {}))


def cue_audio(stems: Stems | None, cue_id: str, start: int, n: int) -> np.ndarray:
    """The sum of every clip of `cue_id` in `stems` over the clip span [start, start + n), (2, n)."""
    out = np.zeros((2, n), np.float32)
    if stems is not None:
        for clips in stems.groups.values():
            for clip in clips:
                if clip.label == cue_id:
                    clip.add_to(out, start)
    return out


def resample(y: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    from scipy.signal import resample_poly

    if from_hz == to_hz:
        return y.astype(np.float32)
    g = int(np.gcd(from_hz, to_hz))
    return resample_poly(y, to_hz // g, from_hz // g, axis=1).astype(np.float32)


def generate_take(loaded, *, total_s: float, params: MusicParams, seed: int, describe, melody_wav=None,
                  on_frames=None) -> tuple[np.ndarray, list[dict]]:
    """(channels, n) audio at the model's rate covering [0, total_s), generated window by
    window, and a record per window. describe(start_s, end_s) → the window's text;
    melody_wav: (1, ≥ total samples) at the model rate or None; on_frames(k): k more
    decoding frames done."""
    import torch

    from scorer.render.neural.take import window_seed
    from scorer.render.neural.windows import join, plan_windows

    model = loaded.model
    fr, sr = parse_fps(model.frame_rate), loaded.sample_rate
    hop = n_samples(frame_to_s(1, fr), sr)

    def frames(s: float) -> int:
        return nearest_frame(s, fr)

    total_f = frames_covering(total_s, fr)
    plan = plan_windows(frame_to_s(total_f, fr), window_s=frame_to_s(frames(params.window_s), fr),
                        context_s=frame_to_s(frames(params.context_s), fr),
                        anchor_s=frame_to_s(frames(params.anchor_s), fr))
    if melody_wav is not None and melody_wav.shape[1] < total_f * hop:      # whole frames of melody
        melody_wav = np.pad(melody_wav, ((0, 0), (0, total_f * hop - melody_wav.shape[1])))
    material = None
    records = []
    for w in plan:
        start_f, end_f = frames(w.start_s), frames(w.end_s)
        ctx_f, anc_f = frames(w.context_s), frames(w.anchor_s)
        prompt_f = ctx_f + anc_f
        text = describe(w.start_s + w.context_s if w.index else 0.0, w.end_s)
        prompt = None
        if w.index:
            parts = ([material[:, :anc_f * hop]] if anc_f else []) + [material[:, start_f * hop:(start_f + ctx_f) * hop]]
            prompt = torch.from_numpy(np.concatenate(parts, axis=1))[None]
        melody = None
        if melody_wav is not None:
            spans = ([(0, anc_f)] if anc_f else []) + [(start_f, end_f)]
            melody = np.concatenate([melody_wav[:, a * hop:b * hop] for a, b in spans], axis=1)
            melody = torch.from_numpy(np.ascontiguousarray(melody))
        gen_f = prompt_f + (end_f - start_f - ctx_f)
        seed_k = window_seed(seed, w.index)
        done = [0]

        def callback(generated: int, to_generate: int) -> None:
            if on_frames is not None and generated > done[0]:
                on_frames(generated - done[0])
                done[0] = generated

        with loaded.lock:
            model.set_generation_params(use_sampling=True, top_k=params.top_k, top_p=params.top_p,
                                        temperature=params.temperature, duration=frame_to_s(gen_f, fr),
                                        cfg_coef=params.cfg_coef, extend_stride=min(18.0, model.max_duration / 2))
            model.set_custom_progress_callback(callback)
            torch.manual_seed(seed_k)
            try:
                with torch.no_grad():
                    # AudioGen's takes no melody argument; MusicGen's takes None for "no melody".
                    extra = {} if melody is None else {"melody_wavs": [melody]}
                    attributes, prompt_tokens = model._prepare_tokens_and_attributes([text], prompt, **extra)
                    tokens = model._generate_tokens(attributes, prompt_tokens, progress=on_frames is not None)
                    audio = model.generate_audio(tokens)[0].float().cpu().numpy()
            finally:
                model.set_custom_progress_callback(None)
        if on_frames is not None and gen_f - prompt_f > done[0]:
            on_frames(gen_f - prompt_f - done[0])
        audio = audio[:, :gen_f * hop]
        if w.index == 0:
            material = audio
        else:
            p, xf = prompt_f * hop, min(n_samples(params.crossfade_s, sr), ctx_f * hop)
            material = join(material, audio[:, p - xf:p], audio[:, p:])
        records.append({"index": w.index, "start_s": round(frame_to_s(start_f, fr), 6),
                        "end_s": round(frame_to_s(end_f, fr), 6), "context_s": frame_to_s(ctx_f, fr),
                        "anchor_s": frame_to_s(anc_f, fr), "seed": seed_k, "prompt": text})
    return material[:, :n_samples(total_s, sr)], records


def _options(loaded, *, window_s, context_s, anchor_s, crossfade_s, top_k, top_p, temperature, cfg_coef, melody,
             conform, tolerance_s, separate, stems, symbolic_groups) -> MusicParams:
    max_s = loaded.max_duration_s
    window_s = max_s if window_s is None else _number("window_s", window_s, 1.0, max_s)
    context_s = _number("context_s", context_s, 0.1, window_s)
    anchor_s = _number("anchor_s", anchor_s, 0.0, window_s)
    if context_s + anchor_s >= window_s:
        raise InputError(f"context_s + anchor_s ({context_s} + {anchor_s}) must be shorter than window_s ({window_s})")
    crossfade_s = _number("crossfade_s", crossfade_s, 0.0, context_s)
    if melody is None:
        melody = loaded.has_melody
    elif melody and not loaded.has_melody:
        raise InputError(f"melody conditioning needs a melody model (e.g. facebook/musicgen-melody); "
                         f"{loaded.name} has none")
    from scorer.render.neural.separate import STEMS
    stems = tuple(stems)
    if not stems or any(s not in STEMS for s in stems):
        raise InputError(f"stems must be a non-empty selection of {STEMS}, got {stems!r}")
    return MusicParams(window_s, context_s, anchor_s, crossfade_s, _number("top_k", top_k, 0, 1 << 16, integer=True),
                       _number("top_p", top_p, 0.0, 1.0), _number("temperature", temperature, 0.01, 10.0),
                       _number("cfg_coef", cfg_coef, 0.0, 20.0), bool(melody), bool(conform),
                       _number("tolerance_s", tolerance_s, 0.0, 1.0), bool(separate), stems,
                       tuple(symbolic_groups))


@dataclass(frozen=True)
class MusicGenBackend:
    name: str = "musicgen"

    def render(self, score: Score, *, progress=None, presets=None, store=None, model=DEFAULT_MODEL,
               model_path=None, device=None, prompt=None, seed: int | None = None, melody: bool | None = None,
               window_s: float | None = None, context_s: float = DEFAULT_CONTEXT_S, anchor_s: float = 0.0,
               crossfade_s: float = DEFAULT_CROSSFADE_S, top_k: int = 250, top_p: float = 0.0,
               temperature: float = 1.0, cfg_coef: float = 3.0, conform: bool = True, tolerance_s: float = 0.02,
               separate: bool = True, separation_path=None, stems=("drums", "bass", "other"),
               symbolic_groups=(), soundfont=None, keep_model: bool = True, **options) -> Stems:
        """A MusicGen take per cue. model: a name (default facebook/musicgen-melody; weights
        from model_path, $SCORER_MODEL_PATH or the Hugging Face cache, never downloaded) or
        a loaded model; device: "cpu", "cuda", "mps" (default: the best available). prompt:
        the user's words, one string or cue id → string. seed: default the score's.
        melody: chroma-condition on the cue's rendered parts (default: if the model can).
        window_s (default: the model's maximum), context_s, anchor_s, crossfade_s: the
        window plan. conform, tolerance_s: stretch bars onto the tempo map where a bar
        drifts more. separate: demucs stems (else one 'music' stem); stems: which of
        drums/bass/other to keep; symbolic_groups: score groups rendered by the soundfont
        backend alongside. keep_model: keep the weights loaded for later renders."""
        if options:
            raise InputError(f"unknown options for the musicgen backend: {sorted(options)}")
        from scorer.render.neural import models
        from scorer.render.neural.conform import conform as conform_take
        from scorer.render.neural.prompt import music_prompt, user_text_for
        from scorer.render.neural.take import TAKE_SCHEMA, cue_seed
        from scorer.render.neural.windows import designed_tail, exact_length
        from scorer.render.soundfont import cue_presets

        if isinstance(prompt, (str, dict)) or prompt is None:
            for cs in score.cues:
                try:
                    user_text_for(prompt, cs.cue.id)
                except TypeError as exc:
                    raise InputError(str(exc))
        else:
            raise InputError(f"prompt must be a string or a cue id → string mapping, got {prompt!r}")
        by_cue = cue_presets(score, presets)
        loaded = resolve_model("musicgen", model, model_path=model_path, device=device)
        params = _options(loaded, window_s=window_s, context_s=context_s, anchor_s=anchor_s,
                          crossfade_s=crossfade_s, top_k=top_k, top_p=top_p, temperature=temperature,
                          cfg_coef=cfg_coef, melody=melody, conform=conform, tolerance_s=tolerance_s,
                          separate=separate, stems=stems, symbolic_groups=symbolic_groups)
        base_seed = score.seed if seed is None else int(seed)
        store = ClipStore() if store is None else store
        separator = None
        if params.separate:
            from scorer.render.neural.separate import load_separator
            separator = load_separator(separation_path=separation_path, device=loaded.device,
                                       loader=models.LOADER)
        # The score's own sound: pitched parts as the melody wav, chosen groups as stems.
        melody_stems = symbolic_render(score, keep=lambda p: not p.is_drums, presets=presets, store=ClipStore(),
                                       soundfont=soundfont) if params.melody else None
        symbolic = symbolic_render(score, keep=lambda p: p.group in params.symbolic_groups, presets=presets,
                                   store=store, soundfont=soundfont) if params.symbolic_groups else None

        fr = parse_fps(loaded.model.frame_rate)
        total_frames = sum(_frames_needed(cs, params, fr) for cs in score.cues)
        done = [0]

        def on_frames(k: int) -> None:
            done[0] += k
            if progress:
                progress("generate", min(done[0], total_frames), total_frames)

        groups: dict[str, list[Clip]] = {}
        takes: dict[str, dict] = {}
        with models.job(loaded, keep=keep_model, what="generating music"):
            for i, cs in enumerate(score.cues):
                preset = by_cue[cs.cue.id]
                start = s_to_sample(cs.cue.start_s)
                n = s_to_sample(cs.cue.end_s + cs.tail_s) - start
                end = s_to_sample(cs.cue.end_s) - start
                seed_c = cue_seed(base_seed, cs.cue.id, "musicgen")
                text = user_text_for(prompt, cs.cue.id)

                def describe(a_s: float, b_s: float, cs=cs, preset=preset, text=text) -> str:
                    mid = cs.cue.start_s + (a_s + b_s) / 2
                    return music_prompt(preset, intensity=cs.cue.intensity_at(mid),
                                        tempo_bpm=cs.tempo_map.tempo_at_s(cs.cue.start_s + a_s), key=cs.key,
                                        user_text=text)

                melody_wav = None
                if params.melody:
                    mono = cue_audio(melody_stems, cs.cue.id, start, n).mean(axis=0, keepdims=True)
                    melody_wav = exact_length(resample(mono, SAMPLE_RATE, loaded.sample_rate),
                                              n_samples(sample_to_s(n), loaded.sample_rate) + 1)
                take, windows = generate_take(loaded, total_s=sample_to_s(n), params=params, seed=seed_c,
                                              describe=describe, melody_wav=melody_wav,
                                              on_frames=on_frames)
                y = exact_length(resample(take, loaded.sample_rate, SAMPLE_RATE), n)
                if y.shape[0] == 1:
                    y = np.repeat(y, 2, axis=0)
                report = None
                if params.conform:
                    if progress:
                        progress("conform", i, len(score.cues))
                    y, rep = conform_take(y, SAMPLE_RATE, cs, start_timeline_s=sample_to_s(start),
                                          end_s=sample_to_s(end), tolerance_s=params.tolerance_s)
                    report = rep.to_dict()
                beat_s = 60.0 / cs.tempo_map.tempo_at_s(cs.cue.end_s)
                y = designed_tail(y, sample_rate=SAMPLE_RATE, end=end, decay_s=max(cs.tail_s, 0.05),
                                  ring_s=min(beat_s, 0.5))
                residual_db = None
                if separator is not None:
                    if progress:
                        progress("separate", i, len(score.cues))
                    from scorer.render.neural.separate import separate as split
                    parts, residual_db = split(y, SAMPLE_RATE, model=separator, device=loaded.device)
                    parts = {k: parts[k] for k in params.stems}
                else:
                    parts = {"music": y}
                files = {}
                for group, audio in parts.items():
                    raw = store.write(f"{cs.cue.id}-{group}", [audio])
                    groups.setdefault(group, []).append(Clip(start, raw, label=cs.cue.id))
                    files[group] = raw.path
                takes[cs.cue.id] = {
                    "schema": TAKE_SCHEMA, "backend": self.name, "cue": cs.cue.id, "preset": preset.name,
                    "model": loaded.describe(), "seed": seed_c, "base_seed": base_seed,
                    "prompt": windows[0]["prompt"], "user_text": text, "windows": windows,
                    "params": params.to_dict(),
                    "melody": {"source": "soundfont", "parts": "pitched parts of the cue"} if params.melody else None,
                    "conform": report,
                    "separation": {"model": "htdemucs", "residual_db": residual_db} if separator is not None else None,
                    "start_sample": start, "n_samples": n, "sample_rate_hz": SAMPLE_RATE, "files": files,
                }
        if symbolic is not None:
            for group, clips in symbolic.groups.items():
                groups.setdefault(group, []).extend(clips)
        if progress:
            progress("generate", total_frames, total_frames)
        from scorer.render.neural.models import LICENCE_NOTE
        return Stems(groups={g: tuple(c) for g, c in groups.items()}, duration_s=score.source.duration_s,
                     backend=self.name, info={"model": loaded.describe(), "licence": LICENCE_NOTE,
                                              "takes": takes,
                                              "symbolic_groups": list(params.symbolic_groups)})


def _frames_needed(cs: CueScore, params: MusicParams, frame_rate: float) -> int:
    """Decoding frames a cue's take costs (new frames of every window): for progress."""
    return frames_covering(cs.cue.duration_s + cs.tail_s, frame_rate)


BACKEND = MusicGenBackend()
