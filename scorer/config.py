"""Settings from the environment, read once per process into a frozen Config.

Every SCORER_* variable scorer honours is a field here, with its unit in the name, and
this is the only module that reads os.environ (tests/test_config.py checks the package
and ui/ for any other). `Config.from_env(environ)` parses and checks them all at once: a
bad value is an InputError naming the variable, raised when the environment is read —
the first time any setting is asked for (a cut's probe, the SoundFont check before a
score) — whichever setting that is. Paths are only parsed here; whether the file is there
is checked where it is used (a missing SoundFont matters to a render, not to an analysis).

How a setting reaches the code that needs it: an explicit parameter first (`soundfont=`,
`model_path=`, `separation_path=`, `timeout_s=`, or a whole `config=` for the decoding
limits), else `current()` — the process's Config, read from os.environ the first time
anything asks and kept for the life of the process. An argument threaded down from
every front end was the alternative; it was not taken because the settings are used four
layers below the front ends (the decoder's worker, the SoundFont lookup, the weights
lookup), under analyze(), the studio and every backend's render(), and because each
process scorer runs in — a Ray worker on another node, a spawned render worker — has an
environment of its own, which is what a path such as SCORER_MODEL_PATH describes. Where
scorer starts a process itself (the decoder's workers) it hands the Config over, so the
worker never reads an environment of its own.

Tests and programs embedding scorer set the process's Config with `using(config)`.
"""
from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Iterator, Mapping

from scorer.errors import InputError

# field → the environment variable that sets it
VARIABLES = {
    "decode_timeout_s": "SCORER_DECODE_TIMEOUT_S",
    "decode_memory_mb": "SCORER_DECODE_MEMORY_MB",
    "max_duration_s": "SCORER_MAX_DURATION_S",
    "max_pixels": "SCORER_MAX_PIXELS",
    "max_streams": "SCORER_MAX_STREAMS",
    "soundfont": "SCORER_SOUNDFONT",
    "model_path": "SCORER_MODEL_PATH",
    "separation_path": "SCORER_SEPARATION_PATH",
}


@dataclass(frozen=True)
class Config:
    """What scorer agrees to decode and where it finds its sounds and weights.

    The limits (docs in tests/reliability/README.md) guard against hostile files; each can
    be raised for the rare real cut beyond it. A path left None means "look in the usual
    places" (the installed GM SoundFont, the Hugging Face cache)."""
    decode_timeout_s: float | None = None   # wall time of one decode; None: no limit (progress is shown)
    decode_memory_mb: int = 6144            # address space of the decoder's worker process
    max_duration_s: float = 12 * 3600.0     # a 12-hour assembly
    max_pixels: int = 8192 * 4352           # 8K DCI full container
    max_streams: int = 64                   # streams in one file
    soundfont: Path | None = None           # a .sf2/.sf3 for the soundfont backend
    model_path: Path | None = None          # audiocraft checkpoint folder (or a parent of several)
    separation_path: Path | None = None     # htdemucs weights file, or a folder holding it

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Config":
        """The Config the SCORER_* variables in `environ` describe (unset or empty: the
        default). InputError naming the variable for a value that is not usable."""
        values = {}
        for f in fields(cls):
            name = VARIABLES[f.name]
            raw = environ.get(name)
            if raw is None or raw.strip() == "":
                continue
            parse = _PARSERS[f.name]
            values[f.name] = parse(name, raw.strip())
        return cls(**values)


def _positive_number(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"environment variable {name}={raw!r} is not a number") from None
    if not value > 0:                         # (nan too)
        raise InputError(f"environment variable {name}={raw!r} must be positive")
    if value == float("inf"):                 # a limit is a number: raise it, don't remove it
        raise InputError(f"environment variable {name}={raw!r} must be finite")
    return value


def _positive_whole(name: str, raw: str) -> int:
    value = _positive_number(name, raw)
    if value != int(value):
        raise InputError(f"environment variable {name}={raw!r} must be a whole number")
    return int(value)


def _path(name: str, raw: str) -> Path:
    return Path(raw)


_PARSERS = {"decode_timeout_s": _positive_number, "decode_memory_mb": _positive_whole,
            "max_duration_s": _positive_number, "max_pixels": _positive_whole, "max_streams": _positive_whole,
            "soundfont": _path, "model_path": _path, "separation_path": _path}

_current: Config | None = None
_lock = threading.Lock()


def current() -> Config:
    """The process's Config: read from os.environ on first use, then kept (a later change
    to the environment is not seen; `using` replaces it)."""
    global _current
    with _lock:
        if _current is None:
            _current = Config.from_env(os.environ)
        return _current


@contextlib.contextmanager
def using(config: Config) -> Iterator[Config]:
    """`config` as the process's Config for the block (every thread sees it); the one
    before is restored afterwards."""
    global _current
    if not isinstance(config, Config):
        raise TypeError(f"using() takes a Config, got {type(config).__name__}")
    with _lock:
        before, _current = _current, config
    try:
        yield config
    finally:
        with _lock:
            _current = before


def login_name() -> str:
    """Who is at the keyboard ($USER), for the author of a note; "someone" if unset."""
    return os.environ.get("USER") or "someone"
