"""Rendered audio parked on disk: raw float32 files read back in windows.

A film's stems, held whole in memory, cost 384 kB per second per group — gigabytes for a
feature. Instead each clip is written once, as it is rendered, to a raw file in a
temporary folder (a `ClipStore`), and whoever lays it out (mix, deliver) reads only the
window it needs. Memory then follows the block being processed, not the film's length.

Files are interleaved little-endian float32 frames (n, channels), so a window is one
contiguous read. Windows are read with `np.fromfile(offset=…, count=…)` into fresh arrays:
a long-lived `np.memmap` would count every page it has touched in the process's RSS.

The folder is removed by `close()` (or leaving a `with` block), or else when the store and
every `RawAudio` that reads from it have been garbage-collected, or at interpreter exit.
"""
from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

_DTYPE = np.dtype("<f4")
_PREFIX = ".scorer-audio-"


def remove_stale(parent: str | os.PathLike) -> list[Path]:
    """Remove the store folders in `parent` whose process is gone (killed mid-run: its
    finalizer never ran). Returns what was removed."""
    import re

    removed = []
    root = Path(parent)
    if not root.is_dir():
        return removed
    for d in root.iterdir():
        m = re.match(rf"^{re.escape(_PREFIX)}(\d+)-", d.name)
        if m and d.is_dir() and not pid_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists (the owner of a folder, of a running take)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class RawAudio:
    """float32 audio in a raw file of interleaved frames, read in windows on demand.

    Implements scorer.types.AudioSource: read(lo, hi) → (channels, hi − lo) float32.
    """
    path: str
    n_samples: int
    channels: int = 2
    # Keeps the folder alive while this file may still be read; not part of the value.
    store: "ClipStore | None" = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if self.n_samples < 0 or self.channels < 1:
            raise ValueError(f"bad raw audio shape: {self.channels} channels, {self.n_samples} samples")

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Samples [lo, hi) as a (channels, hi − lo) float32 array (a fresh copy)."""
        if not 0 <= lo <= hi <= self.n_samples:
            raise ValueError(f"window [{lo}, {hi}) is outside [0, {self.n_samples}) of {self.path}")
        n = hi - lo
        if n == 0:
            return np.zeros((self.channels, 0), np.float32)
        frames = np.fromfile(self.path, dtype=_DTYPE, count=n * self.channels,
                             offset=lo * self.channels * _DTYPE.itemsize)
        if frames.size != n * self.channels:
            raise OSError(f"{self.path} holds fewer samples than recorded ({self.n_samples}); "
                          "was the render folder removed while in use?")
        return frames.reshape(n, self.channels).T

    # Pickled (e.g. to a worker process) without the store: the copy reads the same file
    # but does not keep the folder alive; the original's owner still does.
    def __getstate__(self) -> dict:
        return {"path": self.path, "n_samples": self.n_samples, "channels": self.channels}

    def __setstate__(self, state: dict) -> None:
        for k, v in {**state, "store": None}.items():
            object.__setattr__(self, k, v)


class RawAudioWriter:
    """Appends (channels, n) float blocks to a raw file; close() returns its RawAudio."""

    def __init__(self, path: Path, *, channels: int, store: "ClipStore | None"):
        self.path, self.channels, self.store = path, channels, store
        self.n_samples = 0
        self._f = open(path, "wb")

    def write(self, block: np.ndarray) -> None:
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"expected ({self.channels}, n) audio, got {block.shape}")
        np.ascontiguousarray(block.T, dtype=_DTYPE).tofile(self._f)
        self.n_samples += block.shape[1]

    def close(self) -> RawAudio:
        self._f.close()
        return RawAudio(str(self.path), self.n_samples, self.channels, self.store)

    def __enter__(self) -> "RawAudioWriter":
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()


class ClipStore:
    """A temporary folder for rendered clips (and the cut's decoded sound), under `parent`
    (default: the system's temporary folder). Put it on disk, not on a RAM-backed tmpfs,
    or the memory it saves is spent there."""

    def __init__(self, parent: str | os.PathLike | None = None):
        if parent is not None:
            Path(parent).mkdir(parents=True, exist_ok=True)
        # The owner's pid is in the name, so a later run can tell a dead process's
        # leftovers (remove_stale) from a live one's folder.
        self.path = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=parent))
        self._names = itertools.count()
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), ignore_errors=True)

    def new_path(self, name: str) -> Path:
        """A fresh file path in the store (the name is for people reading the folder)."""
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)[:80]
        return self.path / f"{next(self._names):06d}-{safe}.f32"

    def writer(self, name: str, *, channels: int = 2) -> RawAudioWriter:
        return RawAudioWriter(self.new_path(name), channels=channels, store=self)

    def write(self, name: str, blocks: Iterable[np.ndarray], *, channels: int = 2) -> RawAudio:
        """Write (channels, n) blocks (or one array in a list) to a new file."""
        with self.writer(name, channels=channels) as w:
            for block in blocks:
                w.write(block)
            return w.close()

    def adopt(self, path: str | os.PathLike, *, n_samples: int, channels: int = 2) -> RawAudio:
        """A file another process wrote at one of this store's new_path()s, checked for size."""
        p = Path(path)
        if p.parent != self.path:
            raise ValueError(f"{p} is not in the store {self.path}")
        size = p.stat().st_size
        if size != n_samples * channels * _DTYPE.itemsize:
            raise OSError(f"{p} has {size} bytes, expected {n_samples} samples × {channels} channels")
        return RawAudio(str(p), n_samples, channels, self)

    def close(self) -> None:
        """Remove the folder now; RawAudio from it can no longer be read."""
        self._finalizer()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def __enter__(self) -> "ClipStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
