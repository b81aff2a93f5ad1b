"""Score → stems. Backends implement one Protocol and are looked up by name.

An unknown or unavailable backend raises BackendUnavailable listing what exists and how
to get it; there is never a silent fallback to another backend.
"""
from __future__ import annotations

import importlib
from typing import Callable, Protocol

from scorer.errors import BackendUnavailable
from scorer.types import Score, Stems

ProgressFn = Callable[[str, float, float], None]


class Backend(Protocol):
    """A renderer: turns a Score into Stems at the project rate.

    Options every backend takes: presets (name → Preset, for the cues' effects) and store
    (a scorer.io.clipstore.ClipStore the clips are written to as they are rendered, so
    the Stems hold file references, not a film's worth of audio; default: a new store in
    the system's temporary folder, removed with the Stems)."""
    name: str

    def render(self, score: Score, *, progress: ProgressFn | None = None, **options) -> Stems:
        ...


# name → (module, what a user needs to make it available)
_REGISTRY: dict[str, tuple[str, str]] = {
    "soundfont": ("scorer.render.soundfont",
                  "built in; needs a General MIDI SoundFont (Debian fluid-soundfont-gm, "
                  "or --soundfont PATH / SCORER_SOUNDFONT)"),
    # The neural backends import torch/audiocraft only when they render.
    "musicgen": ("scorer.render.neural.musicgen",
                 "audiocraft (tools/install-neural.sh VENV) and MusicGen weights offline: the Hugging "
                 "Face cache, --model-path DIR or SCORER_MODEL_PATH (weights are CC-BY-NC 4.0)"),
    "audiogen": ("scorer.render.neural.audiogen",
                 "audiocraft (tools/install-neural.sh VENV) and AudioGen weights offline: the Hugging "
                 "Face cache, --model-path DIR or SCORER_MODEL_PATH (weights are CC-BY-NC 4.0)"),
}


def available_backends() -> dict[str, str]:
    """Backend names with a line on what each needs."""
    return {name: need for name, (_, need) in _REGISTRY.items()}


def get_backend(name: str) -> Backend:
    """The backend registered as `name`; BackendUnavailable if unknown or not installed."""
    if name not in _REGISTRY:
        listing = "; ".join(f"{n} ({need})" for n, need in available_backends().items())
        raise BackendUnavailable(f"unknown render backend {name!r}; available: {listing}")
    module_name, need = _REGISTRY[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BackendUnavailable(f"render backend {name!r} cannot load ({exc}); it needs: {need}")
    return module.BACKEND


def render(score: Score, *, backend: str = "soundfont", progress: ProgressFn | None = None,
           **options) -> Stems:
    """Render every cue of `score` to stems with the named backend."""
    return get_backend(backend).render(score, progress=progress, **options)
