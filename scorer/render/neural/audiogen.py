"""The `audiogen` backend: an AudioGen ambience bed per cue, as an `ambience` stem.

Each cue's bed is generated from its preset's ambience prompt plus the user's words, then
made as long as the cue: looped seamlessly (default: one window, its end crossfaded into
its start) or extended by continuation windows joined with equal-power crossfades. Like
the procedural beds (render/ambience.py) a bed runs from the cue's start to CROSSFADE_S
after its end, sits at the preset's level_db (RMS) and fades in and out over CROSSFADE_S
with equal-power curves. No torch at module import.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scorer.errors import InputError
from scorer.io.clipstore import ClipStore
from scorer.render.ambience import CROSSFADE_S
from scorer.timebase import SAMPLE_RATE, s_to_sample, sample_to_s
from scorer.types import Clip, Score, Stems

DEFAULT_MODEL = "facebook/audiogen-medium"
EXTEND = ("loop", "continue")


def shape_bed(y: np.ndarray, *, level_db: float) -> np.ndarray:
    """(2, n) bed at level_db RMS with CROSSFADE_S equal-power fades at both ends."""
    n = y.shape[1]
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if n else 0.0
    out = y * np.float32(10 ** (level_db / 20) / rms) if rms > 0 else y.copy()
    fade = min(s_to_sample(CROSSFADE_S), n // 2)
    ramp = np.sin(np.linspace(0, np.pi / 2, fade, dtype=np.float32))
    out[:, :fade] *= ramp
    out[:, n - fade:] *= ramp[::-1]
    return out.astype(np.float32)


@dataclass(frozen=True)
class AudioGenBackend:
    name: str = "audiogen"

    def render(self, score: Score, *, progress=None, presets=None, store=None, model=DEFAULT_MODEL,
               model_path=None, device=None, prompt=None, seed: int | None = None, extend: str = "loop",
               window_s: float | None = None, context_s: float | None = None, crossfade_s: float = 1.0, top_k: int = 250,
               top_p: float = 0.0, temperature: float = 1.0, cfg_coef: float = 3.0, keep_model: bool = True,
               **options) -> Stems:
        """One `ambience` clip per cue. model/model_path/device/prompt/seed/keep_model as for
        the musicgen backend. extend: "loop" (one window, looped without a seam) or
        "continue" (continuation windows of window_s with context_s — default the
        smaller of 3 s and half a window — crossfaded over crossfade_s)."""
        if options:
            raise InputError(f"unknown options for the audiogen backend: {sorted(options)}")
        if extend not in EXTEND:
            raise InputError(f"extend must be one of {EXTEND}, got {extend!r}")
        from scorer.render.neural import models
        from scorer.render.neural.musicgen import MusicParams, _number, generate_take, resample, resolve_model
        from scorer.render.neural.prompt import ambience_prompt, user_text_for
        from scorer.render.neural.take import TAKE_SCHEMA, cue_seed
        from scorer.render.neural.windows import exact_length, seamless_loop
        from scorer.render.soundfont import cue_presets

        if not (prompt is None or isinstance(prompt, (str, dict))):
            raise InputError(f"prompt must be a string or a cue id → string mapping, got {prompt!r}")
        by_cue = cue_presets(score, presets)
        loaded = resolve_model("audiogen", model, model_path=model_path, device=device)
        max_s = loaded.max_duration_s
        window_s = max_s if window_s is None else _number("window_s", window_s, 0.5, max_s)
        context_s = _number("context_s", min(3.0, window_s / 2) if context_s is None else context_s, 0.1, window_s)
        if extend == "continue" and context_s >= window_s:
            raise InputError(f"context_s ({context_s}) must be shorter than window_s ({window_s})")
        crossfade_s = _number("crossfade_s", crossfade_s, 0.0, window_s / 2)
        params = MusicParams(window_s, min(context_s, window_s * 0.99), 0.0, min(crossfade_s, context_s),
                             _number("top_k", top_k, 0, 1 << 16, integer=True), _number("top_p", top_p, 0.0, 1.0),
                             _number("temperature", temperature, 0.01, 10.0), _number("cfg_coef", cfg_coef, 0.0, 20.0),
                             False, False, 0.0, False, ("other",), ())
        base_seed = score.seed if seed is None else int(seed)
        store = ClipStore() if store is None else store
        sr = loaded.sample_rate
        clips, takes = [], {}
        with models.job(loaded, keep=keep_model, what="generating ambience"):
            for i, cs in enumerate(score.cues):
                preset = by_cue[cs.cue.id]
                text = user_text_for(prompt, cs.cue.id) if prompt is not None else ""
                description = ambience_prompt(preset, user_text=text)
                start = s_to_sample(cs.cue.start_s)
                n = s_to_sample(cs.cue.end_s + CROSSFADE_S) - start
                need_s = sample_to_s(n)
                seed_c = cue_seed(base_seed, cs.cue.id, "audiogen")
                gen_s = min(need_s, window_s) if extend == "loop" else need_s
                take, windows = generate_take(loaded, total_s=gen_s, params=params, seed=seed_c,
                                              describe=lambda a, b, d=description: d)
                y = resample(take, sr, SAMPLE_RATE)
                if y.shape[0] == 1:
                    y = np.repeat(y, 2, axis=0)
                if extend == "loop":
                    y = seamless_loop(y, n, crossfade=s_to_sample(params.crossfade_s))
                y = shape_bed(exact_length(y, n), level_db=preset.ambience.level_db)
                raw = store.write(f"{cs.cue.id}-ambience", [y])
                clips.append(Clip(start, raw, label=cs.cue.id))
                takes[cs.cue.id] = {
                    "schema": TAKE_SCHEMA, "backend": self.name, "cue": cs.cue.id, "preset": preset.name,
                    "model": loaded.describe(), "seed": seed_c, "base_seed": base_seed, "prompt": description,
                    "user_text": text, "windows": windows,
                    "params": {**params.to_dict(), "extend": extend, "level_db": preset.ambience.level_db},
                    "start_sample": start, "n_samples": n, "sample_rate_hz": SAMPLE_RATE,
                    "files": {"ambience": raw.path},
                }
                if progress:
                    progress("ambience", i + 1, len(score.cues))
        from scorer.render.neural.models import LICENCE_NOTE
        return Stems(groups={"ambience": tuple(clips)}, duration_s=score.source.duration_s, backend=self.name,
                     info={"model": loaded.describe(), "licence": LICENCE_NOTE, "takes": takes})


BACKEND = AudioGenBackend()
