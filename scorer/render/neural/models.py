"""Loading audiocraft models: from a local folder or the Hugging Face cache, never a download.

Where weights come from, in order: the `model_path` option (a folder holding audiocraft's
`state_dict.bin` + `compression_state_dict.bin`, or a parent folder with one such folder
per model named like the model, e.g. `musicgen-melody/`), then $SCORER_MODEL_PATH (the
same; scorer.config.current()), then the Hugging Face cache ($HF_HOME / $HF_HUB_CACHE).
Loading runs with the hub offline (HF_HUB_OFFLINE=1 behaviour), so a missing file fails
in a fraction of a second with a BackendUnavailable saying how to get it, instead of
retrying a network for ~24 s. Nothing here downloads, and nothing falls back to another
backend or model.

Loaded models are held by a ModelLoader, an explicit object: `LOADER` is the process's,
which the backends and batch's actors use through the module's functions (load, cached,
release, load_count, job); a test makes its own ModelLoader, or swaps LOADER for one. A
loaded model is reused by every cue and later jobs; `release()` drops it, and an
out-of-memory error drops it too, so memory comes back. The device is chosen
automatically (CUDA, then MPS, then CPU) unless given.
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from scorer.config import VARIABLES, current
from scorer.errors import BackendUnavailable, InputError

MODEL_PATH_ENV = VARIABLES["model_path"]
STATE_FILES = ("state_dict.bin", "compression_state_dict.bin")
# The text encoder MusicGen/AudioGen checkpoints name; it lives in the HF cache as well.
T5_REPOS = {"musicgen": "t5-base", "audiogen": "t5-large"}
HTDEMUCS_REPO, HTDEMUCS_FILES = "adefossez/HTDemucs", ("htdemucs.yaml",)
LICENCE_NOTE = ("MusicGen and AudioGen weights published by Meta are licensed CC-BY-NC 4.0 "
                "(non-commercial); audiocraft's code is MIT.")


def import_audiocraft():
    """audiocraft, imported after making torchaudio importable on this torch."""
    from scorer.render.neural._torchaudio import import_torchaudio

    import_torchaudio()
    try:
        import audiocraft
        import audiocraft.models  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailable(
            f"the neural backends need audiocraft ({exc}); install them into this "
            "environment with: tools/install-neural.sh PATH/TO/VENV")
    return audiocraft


# --- device -------------------------------------------------------------------------------------

def choose_device(device: str | None = None) -> str:
    """The torch device to run on: `device` if given (checked), else CUDA, MPS or CPU."""
    import torch

    if device is None:
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if not isinstance(device, str):
        raise InputError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    kind = device.split(":", 1)[0]
    if kind == "cpu":
        return device
    if kind == "cuda":
        if not torch.cuda.is_available():
            raise BackendUnavailable(f"device {device!r} was asked for, but this torch sees no CUDA GPU "
                                     f"(torch {torch.__version__})")
        return device
    if kind == "mps":
        if not (getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()):
            raise BackendUnavailable("device 'mps' was asked for, but Metal is not available here")
        return device
    raise InputError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")


# --- where the weights are ------------------------------------------------------------------------

@dataclass(frozen=True)
class WeightsLocation:
    """A folder holding a model's STATE_FILES, and how it was found."""
    folder: Path
    source: str        # "model_path", "SCORER_MODEL_PATH" or "hf-cache"
    version: str       # HF snapshot revision, or a fingerprint of the folder's files


def _fingerprint(folder: Path) -> str:
    """A cheap identity for a local checkpoint: sizes and the first MiB of each file
    (hashing gigabytes on every load would cost seconds)."""
    h = hashlib.sha256()
    for name in STATE_FILES:
        p = folder / name
        h.update(f"{name}:{p.stat().st_size}:".encode())
        with open(p, "rb") as f:
            h.update(f.read(1 << 20))
    return "sha256-1MiB:" + h.hexdigest()[:16]


def _checkpoint_in(root: Path, name: str) -> Path | None:
    for folder in (root, root / name.rsplit("/", 1)[-1], root / name):
        if all((folder / f).is_file() for f in STATE_FILES):
            return folder
    return None


def how_to_get(name: str) -> str:
    """Instructions for making `name`'s weights available offline."""
    text = T5_REPOS["audiogen" if "audiogen" in name else "musicgen"]
    extra = f" plus {HTDEMUCS_REPO} (for the melody chroma)" if "melody" in name else ""
    return (f"on a machine with internet access run `hf download {name}` and `hf download "
            f"{text}`{extra}, then copy the Hugging Face cache (~/.cache/huggingface) here or set "
            f"HF_HOME to it; or put {' and '.join(STATE_FILES)} in a folder and pass it as "
            f"model_path (--model-path) or set {MODEL_PATH_ENV}. {LICENCE_NOTE}")


def locate_weights(name: str, model_path: str | os.PathLike | None = None) -> WeightsLocation:
    """Where `name`'s checkpoint lies: model_path, else $SCORER_MODEL_PATH
    (config.current()), else the Hugging Face cache; BackendUnavailable (fast, no
    network) if nowhere."""
    if model_path is not None:
        root = Path(model_path)
        folder = _checkpoint_in(root, name) if root.is_dir() else None
        if folder is None:
            raise BackendUnavailable(f"model_path {str(root)!r} holds no {' + '.join(STATE_FILES)} for "
                                     f"{name!r}; {how_to_get(name)}")
        return WeightsLocation(folder, "model_path", _fingerprint(folder))
    root = current().model_path
    if root is not None:
        folder = _checkpoint_in(root, name) if root.is_dir() else None
        if folder is None:
            raise BackendUnavailable(f"{MODEL_PATH_ENV}={str(root)!r} holds no {' + '.join(STATE_FILES)} for "
                                     f"{name!r}; {how_to_get(name)}")
        return WeightsLocation(folder, MODEL_PATH_ENV, _fingerprint(folder))
    from huggingface_hub import try_to_load_from_cache

    paths = [try_to_load_from_cache(name, f) for f in STATE_FILES]
    if not all(isinstance(p, str) for p in paths):
        raise BackendUnavailable(f"no weights for {name!r} in the Hugging Face cache and no "
                                 f"model_path or {MODEL_PATH_ENV} given; {how_to_get(name)}")
    folder = Path(paths[0]).parent
    if Path(paths[1]).parent != folder:
        raise BackendUnavailable(f"{name!r} is in the Hugging Face cache at two revisions "
                                 f"({folder.name}, {Path(paths[1]).parent.name}); {how_to_get(name)}")
    return WeightsLocation(folder, "hf-cache", folder.name)


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """The Hugging Face hub (and transformers) offline for the block: a missing file is an
    error at once, never a download or a retry loop. (The one place scorer writes the
    environment, and only for the load: libraries under audiocraft read these variables
    themselves rather than huggingface_hub's constant.)"""
    import huggingface_hub.constants as hc

    saved_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    saved = hc.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"
    hc.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hc.HF_HUB_OFFLINE = saved
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def checkpoint_globals() -> Iterator[None]:
    """Let torch.load's weights_only=True default read audiocraft checkpoints, which pickle
    their OmegaConf training config; allowed for the block only, not process-wide."""
    import collections
    import typing

    import torch
    from omegaconf import DictConfig, ListConfig
    from omegaconf.base import ContainerMetadata, Metadata
    from omegaconf.nodes import AnyNode

    with torch.serialization.safe_globals([DictConfig, ListConfig, ContainerMetadata, Metadata, AnyNode,
                                           typing.Any, dict, list, int, collections.defaultdict]):
        yield


# --- loaded models ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoadedModel:
    """An audiocraft generation model ready to run, and where it came from.

    lock: held while generation parameters are set and a generation runs (audiocraft keeps
    them on the model, so two renders sharing the model must not interleave)."""
    kind: str              # "musicgen" or "audiogen"
    name: str              # e.g. "facebook/musicgen-melody"
    model: Any             # audiocraft.models.MusicGen / AudioGen
    device: str
    source: str            # "model_path", "SCORER_MODEL_PATH", "hf-cache" or "given"
    version: str
    lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @property
    def sample_rate(self) -> int:
        return int(self.model.sample_rate)

    @property
    def channels(self) -> int:
        return int(self.model.audio_channels)

    @property
    def max_duration_s(self) -> float:
        return float(self.model.max_duration)

    @property
    def has_melody(self) -> bool:
        return "self_wav" in self.model.lm.condition_provider.conditioners

    def describe(self) -> dict:
        import torch
        audiocraft = import_audiocraft()
        return {"kind": self.kind, "name": self.name, "version": self.version, "source": self.source,
                "device": self.device, "sample_rate_hz": self.sample_rate, "channels": self.channels,
                "max_duration_s": self.max_duration_s, "melody": self.has_melody,
                "audiocraft": audiocraft.__version__, "torch": torch.__version__}


def wrap(kind: str, model, *, source: str = "given", version: str = "") -> LoadedModel:
    """An already-built audiocraft model (a caller's own, or a test's tiny one) as a
    LoadedModel; not cached."""
    device = str(next(iter(model.lm.parameters())).device)
    return LoadedModel(kind, str(model.name), model, device, source, version or "unversioned")


class ModelLoader:
    """The neural models one process holds: audiocraft models by (kind, name, weights
    folder, device), and the models they need beside them (the htdemucs separator), each
    loaded on first use and reused until released. Thread-safe: two renders asking for
    the same model at once load it once."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, str, str, str], LoadedModel] = {}
        self._others: dict[tuple, Any] = {}
        self._lock = threading.RLock()      # reentrant: a load builds the chroma's separator
        self._loads = 0                     # models built from weights (cache misses)

    def load(self, kind: str, name: str, *, model_path=None, device: str | None = None) -> LoadedModel:
        """The model `name` of `kind` ("musicgen"/"audiogen"), loaded once by this loader."""
        if kind not in ("musicgen", "audiogen"):
            raise ValueError(f"unknown model kind {kind!r}")
        if not isinstance(name, str) or not name:
            raise InputError(f"model must be a model name such as facebook/musicgen-melody, got {name!r}")
        where = locate_weights(name, model_path)        # fails fast before importing the heavy stack
        import_audiocraft()
        dev = choose_device(device)
        key = (kind, name, str(where.folder), dev)
        with self._lock:
            if key in self._models:
                return self._models[key]
            from audiocraft.models import AudioGen, MusicGen, loaders

            try:
                with hub_offline(), checkpoint_globals(), _htdemucs_from(self, dev):
                    lm = loaders.load_lm_model(str(where.folder), device=dev)
                    compression = loaders.load_compression_model(str(where.folder), device=dev)
            except OSError as exc:            # a file the checkpoint refers to (T5, htdemucs) is missing
                raise BackendUnavailable(f"cannot load {name!r} from {where.folder} offline ({exc}); "
                                         f"{how_to_get(name)}")
            if kind == "musicgen":
                if "self_wav" in lm.condition_provider.conditioners:   # as MusicGen.get_pretrained does
                    lm.condition_provider.conditioners["self_wav"].match_len_on_eval = True
                    lm.condition_provider.conditioners["self_wav"]._use_masking = False
                model = MusicGen(name, compression, lm)
            else:
                model = AudioGen(name, compression, lm)
            loaded = LoadedModel(kind, name, model, dev, where.source, where.version)
            self._models[key] = loaded
            self._loads += 1
            return loaded

    def keep(self, key: tuple, build: Callable[[], Any]) -> Any:
        """The model held under `key` (e.g. ("htdemucs", weights file, device)), built by
        build() the first time it is asked for."""
        with self._lock:
            if key not in self._others:
                self._others[key] = build()
            return self._others[key]

    def load_count(self) -> int:
        """How many models this loader has built from their weights (cache hits not counted)."""
        return self._loads

    def cached(self) -> tuple[LoadedModel, ...]:
        """The audiocraft models this loader holds."""
        with self._lock:
            return tuple(self._models.values())

    def release(self, loaded: LoadedModel | None = None) -> None:
        """Drop `loaded` (default: every model held, separators too) and give its memory back."""
        with self._lock:
            for key in [k for k, v in self._models.items() if loaded is None or v is loaded]:
                del self._models[key]
            if loaded is None:
                self._others.clear()
        free_memory()

    @contextlib.contextmanager
    def job(self, loaded: LoadedModel, *, keep: bool, what: str) -> Iterator[None]:
        """Around one render job: memory is freed afterwards (and the model dropped unless
        `keep`); an out-of-memory error drops the model and becomes a BackendUnavailable that
        says what to try — never a silent retry on another device."""
        try:
            yield
        except Exception as exc:
            if is_out_of_memory(exc):
                self.release(loaded)
                raise BackendUnavailable(
                    f"out of memory on {loaded.device} while {what} with {loaded.name} ({exc}); the model "
                    "was unloaded. Try a smaller model, shorter windows (window_s), or device='cpu'") from exc
            raise
        finally:
            if not keep:
                self.release(loaded)
            else:
                free_memory()


# The process's loader. The functions below are its methods, looked up at each call, so a
# test that swaps LOADER for its own ModelLoader swaps it for the backends too.
LOADER = ModelLoader()


def load(kind: str, name: str, *, model_path=None, device: str | None = None) -> LoadedModel:
    """LOADER.load: the model `name` of `kind`, loaded once per process."""
    return LOADER.load(kind, name, model_path=model_path, device=device)


def load_count() -> int:
    """LOADER.load_count: models this process has built from their weights."""
    return LOADER.load_count()


def cached() -> tuple[LoadedModel, ...]:
    """LOADER.cached: the models this process holds."""
    return LOADER.cached()


def release(loaded: LoadedModel | None = None) -> None:
    """LOADER.release: drop `loaded` (default: every model) and give its memory back."""
    LOADER.release(loaded)


def job(loaded: LoadedModel, *, keep: bool, what: str):
    """LOADER.job: around one render job (see ModelLoader.job)."""
    return LOADER.job(loaded, keep=keep, what=what)


@contextlib.contextmanager
def _htdemucs_from(loader: ModelLoader, device: str) -> Iterator[None]:
    """musicgen-melody's chroma conditioner calls demucs.pretrained.get_model('htdemucs'),
    which would try the network when the weights are not cached; hand it the loader's
    (found offline, or a clear BackendUnavailable) for the duration of the load."""
    try:
        import demucs.pretrained as dp
    except ImportError:
        yield
        return
    from scorer.render.neural.separate import load_separator

    original = dp.get_model

    def get_model(name, repo=None):
        if name != "htdemucs" or repo is not None:
            return original(name, repo)
        return load_separator(device=device, loader=loader)

    dp.get_model = get_model
    try:
        yield
    finally:
        dp.get_model = original


def free_memory() -> None:
    """Collect garbage and return cached accelerator memory to the driver (after a job,
    after an out-of-memory error)."""
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        mps.empty_cache()


def is_out_of_memory(exc: BaseException) -> bool:
    import torch
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()
