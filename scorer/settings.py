"""The settings of a job: one typed value that every front end builds and every runner reads.

`scorer score`, `scorer project new/export`, the studio and `scorer batch` each turn their
input (options, a form, a project's stored copy) into a ScoreSettings and hand it to the
same runners (`pipeline.analyze_and_spot`, `pipeline.compose_score`,
`pipeline.render_mix_deliver`), so an option reachable in one is reachable in all. A project
keeps the settings it was created with (project.db, `to_dict`), so an export months later
delivers as the first did; an export may change the mix and delivery fields for itself.

`check()` is the quick look at a job's settings before any work: every file named, the
spec, the preset, the SoundFont, the backends and the output folder — the same clear
messages everywhere, and nothing made on disk.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from scorer.errors import InputError
from scorer.mix import CROSSFADE_S
from scorer.mix.duck import Ducking

SETTINGS, SETTINGS_VERSION = "ScoreSettings", 1
SETTINGS_SCHEMA = f"{SETTINGS}.{SETTINGS_VERSION}"
AMBIENCE = ("procedural", "audiogen", "none")     # the procedural beds, AudioGen, or no ambience stem
DEVICES = ("cpu", "cuda", "mps")
NEURAL = ("musicgen", "audiogen")


@dataclass(frozen=True)
class NeuralOptions:
    """What the neural backends are told (None: the backend's own default)."""
    model: str | None = None          # e.g. facebook/musicgen-melody
    model_path: str | None = None     # a local checkpoint folder
    device: str | None = None         # cpu, cuda, mps
    prompt: str | None = None         # the user's words, added to each preset's prompt

    def __post_init__(self):
        if self.device is not None and self.device not in DEVICES:
            raise InputError(f"device must be one of {', '.join(DEVICES)}, got {self.device!r}")

    def as_options(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class ScoreSettings:
    """Everything a front end may choose about a temp score, by stage. Mappings are kept as
    sorted (key, value) tuples so the value stays hashable and its JSON stable; `with_()`
    takes them as dicts."""
    # spotting: the editor's timeline (its cuts and markers) and the director's notes
    timeline: str | None = None
    notes: str | None = None
    # composing: the seed policy is one number — cue k's randomness derives from it and the
    # cue; a preset forces one preset (a shipped name or a .toml file) on every cue
    seed: int = 0
    preset: str | None = None
    theme: str | None = None
    motifs: tuple[tuple[str, str], ...] = ()          # name → MIDI file or recording
    cue_motifs: tuple[tuple[str, str], ...] = ()      # cue id → motif name
    # render
    backend: str = "soundfont"
    backend_by_cue: tuple[tuple[str, str], ...] = ()  # cue id → backend
    ambience: str = "procedural"
    soundfont: str | None = None
    neural: NeuralOptions = field(default_factory=NeuralOptions)
    # mix
    spec: str = "ebu"
    ducking: Ducking = field(default_factory=Ducking)
    crossfade_s: float = CROSSFADE_S
    # delivery
    project: str | None = None        # the name stems are filed under (default: the cut's)
    per_cue_stems: bool = False
    click: bool = False
    burn_in: bool = False
    preview: bool = True

    def __post_init__(self):
        for name in ("motifs", "cue_motifs", "backend_by_cue"):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, tuple(sorted(value.items())))
            elif value is None:
                object.__setattr__(self, name, ())
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise InputError(f"seed must be a whole number, got {self.seed!r}")
        if self.ambience not in AMBIENCE:
            raise InputError(f"ambience must be one of {', '.join(AMBIENCE)}, got {self.ambience!r}")
        if not (isinstance(self.crossfade_s, (int, float)) and math.isfinite(self.crossfade_s)
                and self.crossfade_s >= 0):
            raise InputError(f"crossfade must be ≥ 0 s, got {self.crossfade_s}")

    # --- what the runners read ----------------------------------------------------------------
    @property
    def layers(self) -> tuple[str, ...]:
        """Backends rendered over every cue besides the music (AudioGen's ambience)."""
        return ("audiogen",) if self.ambience == "audiogen" else ()

    @property
    def procedural_ambience(self) -> bool:
        return self.ambience == "procedural"

    def backends(self) -> set[str]:
        return {self.backend, *dict(self.backend_by_cue).values(), *self.layers}

    def render_options(self, extra: dict[str, dict] | None = None) -> dict[str, dict]:
        """backend name → its render options: the neural options for the neural backends in
        use, then `extra` (a caller's own, e.g. a loaded model) over them."""
        out = {name: self.neural.as_options() for name in self.backends() if name in NEURAL}
        for name, opts in (extra or {}).items():
            out[name] = {**out.get(name, {}), **opts}
        return {k: v for k, v in out.items() if v}

    def with_(self, **changes) -> "ScoreSettings":
        """A copy with some fields changed. Also takes the forms people write: ambience as a
        bool (True: procedural), layers=("audiogen",), neural options by name (model,
        model_path, device, prompt), mappings as dicts."""
        if "ambience" in changes and isinstance(changes["ambience"], bool):
            changes["ambience"] = "procedural" if changes["ambience"] else "none"
        if "layers" in changes:
            layers = tuple(changes.pop("layers") or ())
            unknown = sorted(set(layers) - {"audiogen"})
            if unknown:
                raise InputError(f"only audiogen renders as a layer over every cue, got {', '.join(unknown)}")
            if layers:
                changes["ambience"] = "audiogen"
        neural = {k: changes.pop(k) for k in ("model", "model_path", "device", "prompt") if k in changes}
        if neural:
            changes["neural"] = replace(changes.get("neural", self.neural), **neural)
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"ScoreSettings has no field {', '.join(unknown)}")
        return replace(self, **changes)

    def resolved(self) -> "ScoreSettings":
        """The same settings with every file named by its absolute path (to be kept in a
        project that may be opened from another folder)."""
        def absolute(path):
            return None if path is None else str(Path(path).resolve())

        preset = self.preset
        if preset is not None and (os.sep in preset or preset.endswith(".toml")):
            preset = absolute(preset)
        return replace(self, timeline=absolute(self.timeline), notes=absolute(self.notes),
                       theme=absolute(self.theme), soundfont=absolute(self.soundfont), preset=preset,
                       motifs=tuple((k, absolute(v)) for k, v in self.motifs),
                       neural=replace(self.neural, model_path=absolute(self.neural.model_path)))

    # --- persisted -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["ducking"]["band_db"] = list(self.ducking.band_db)
        for name in ("motifs", "cue_motifs", "backend_by_cue"):
            d[name] = dict(getattr(self, name))
        return {"schema": SETTINGS_SCHEMA, **d}

    @classmethod
    def from_dict(cls, d: dict, where: str = "settings") -> "ScoreSettings":
        from scorer import schemas

        d = dict(schemas.upgrade(d, SETTINGS, SETTINGS_VERSION, where=where))
        d.pop("schema")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"{where}: unknown settings {', '.join(unknown)}")
        try:
            if "ducking" in d:
                duck = dict(d["ducking"])
                duck["band_db"] = tuple(duck.get("band_db", Ducking().band_db))
                d["ducking"] = Ducking(**duck)
            if "neural" in d:
                d["neural"] = NeuralOptions(**d["neural"])
            return cls(**d)
        except TypeError as exc:
            raise InputError(f"{where}: {exc}")


def check(settings: ScoreSettings, out_dir: str | os.PathLike | None = None, *,
          cues: str | os.PathLike | None = None, presets: dict | None = None,
          render_options: dict[str, dict] | None = None) -> None:
    """The quick checks of a job's settings, before any work and before any folder is made:
    the loudness spec, the preset (a shipped name, one of `presets`, or a readable, valid
    file), the SoundFont, the backends, every file named (timeline, notes, theme, motifs, an
    edited cue sheet) and an output folder that can be one. InputError/PresetError naming
    the option or file."""
    from scorer.mix.loudness import get_spec
    from scorer.music.presets import presets_with
    from scorer.render import get_backend

    get_spec(settings.spec)
    if presets is None:
        presets, name = presets_with(settings.preset)
    else:
        name = settings.preset
    if name is not None and name not in presets:
        from scorer.errors import PresetError
        raise PresetError(f"no preset {name!r}; presets: {', '.join(sorted(presets))} "
                          f"(or a .toml file of your own)")
    if settings.soundfont is not None:
        from scorer.render.soundfont import find_soundfont
        find_soundfont(settings.soundfont)
    options = settings.render_options(render_options)
    for backend in sorted(settings.backends()):
        get_backend(backend)          # fail before the long analysis if a backend can't run
        model = options.get(backend, {}).get("model")
        if backend in NEURAL and (model is None or isinstance(model, str)):
            # A model named (not handed over loaded) needs its weights on this machine.
            import importlib

            from scorer.render.neural.models import locate_weights
            name = model or importlib.import_module(f"scorer.render.neural.{backend}").DEFAULT_MODEL
            locate_weights(name, options.get(backend, {}).get("model_path"))
    named = [("timeline", settings.timeline), ("notes", settings.notes), ("cue sheet", cues),
             ("theme", settings.theme), *((f"motif {k}", v) for k, v in settings.motifs)]
    for what, path in named:
        if path is not None and not Path(path).is_file():
            raise InputError(f"{what} file not found", path=str(path))
    if settings.theme is not None or settings.motifs:
        from scorer.compose.theme import check_theme_file
        for path in [settings.theme, *dict(settings.motifs).values()]:
            if path is not None:
                check_theme_file(path)
    if out_dir is not None:
        from scorer.deliver.versions import check_target

        out = Path(os.path.abspath(out_dir))
        check_target(out)
        parent = next((q for q in out.parents if q.exists()), None)
        if parent is None or not os.access(parent, os.W_OK | os.X_OK):
            raise InputError("no permission to write the output folder here", path=str(out))
