"""Deliveries versioned as a whole: OUT is always one complete delivery, never a mixture.

`scorer score CUT -o OUT` writes its delivery into a staging folder beside OUT, and only
when every file is written and flushed renames it to `OUT.v01` (then `.v02`, …) and points
OUT at it: OUT is a symbolic link to the newest version (relative, so the parent folder can
be moved). Renaming a folder and replacing a link are each one atomic step, so whatever
moment a run is killed at, OUT is either the previous delivery, whole, or the new one,
whole; earlier versions are never touched. A killed run's staging folder carries its
process id and is removed by the next run beside it.

OUT may be absent, a link a previous run made, or an empty folder; anything else — a file,
a folder holding files (a delivery from before versions, or the user's own) — is refused
before any work starts (check_target).
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from scorer.errors import InputError

_STAGING = ".scorer-staging-"


def _versions(target: Path) -> list[int]:
    pattern = re.compile(rf"^{re.escape(target.name)}\.v(\d+)$")
    if not target.parent.is_dir():
        return []
    return sorted(int(m.group(1)) for p in target.parent.iterdir() if (m := pattern.match(p.name)) and p.is_dir())


def version_folder(target: Path, version: int) -> Path:
    return target.parent / f"{target.name}.v{version:02d}"


def check_target(target: str | os.PathLike) -> None:
    """Refuse an OUT this scheme cannot point at a new version without losing something."""
    target = Path(target)
    if target.is_symlink():
        if not re.fullmatch(rf"{re.escape(target.name)}\.v\d+", os.readlink(target)):
            raise InputError("is a link that scorer did not make; choose another output name", path=str(target))
        return
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError("the output must be a folder; a file of that name is in the way", path=str(target))
    if any(target.iterdir()):
        raise InputError("the output folder already holds files (a delivery from an older scorer, or your "
                         "own): scorer delivers each run as OUT.v01, OUT.v02 … with OUT pointing at the "
                         "newest, so give a new output name (or move this folder aside)", path=str(target))


@dataclass(frozen=True)
class Staged:
    """A delivery being written: `folder` (write everything here), to become `final`."""
    target: Path
    folder: Path
    version: int

    @property
    def final(self) -> Path:
        return version_folder(self.target, self.version)


def remove_stale_staging(parent: Path) -> None:
    """Staging folders whose run is gone (killed): nothing in them was ever delivered."""
    from scorer.io.clipstore import pid_alive

    if not parent.is_dir():
        return
    for d in parent.iterdir():
        m = re.match(rf"^{re.escape(_STAGING)}(\d+)-", d.name)
        if not m or pid_alive(int(m.group(1))):
            continue
        if d.is_symlink():
            d.unlink()                   # a link made to replace OUT, killed before it did
        elif d.is_dir():
            shutil.rmtree(d, ignore_errors=True)


def begin(target: str | os.PathLike) -> Staged:
    """A fresh staging folder beside `target` (same file system, so the rename is atomic)
    for the next version."""
    target = Path(os.path.abspath(target))
    check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target.parent)
    versions = _versions(target)
    version = (versions[-1] if versions else 0) + 1
    folder = target.parent / f"{_STAGING}{os.getpid()}-{secrets.token_hex(3)}-{target.name}"
    folder.mkdir()
    return Staged(target, folder, version)


def _fsync_tree(folder: Path) -> None:
    for root, _dirs, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(staged: Staged) -> Path:
    """Make the staged delivery the newest version and point the target at it. Returns
    the version folder."""
    _fsync_tree(staged.folder)                      # on disk before anything points at it
    final = staged.final
    if final.exists():
        raise InputError(f"another run delivered {final.name} meanwhile; this run's files are in "
                         f"{staged.folder.name} (rename it to keep them)", path=str(final))
    os.rename(staged.folder, final)
    link = staged.target.parent / f"{_STAGING}{os.getpid()}-link-{secrets.token_hex(3)}"
    os.symlink(final.name, link)
    target = staged.target
    if target.is_dir() and not target.is_symlink():
        target.rmdir()                               # an empty folder the user made (check_target)
    os.replace(link, target)
    _fsync_dir(target.parent)
    return final


def abandon(staged: Staged) -> None:
    """A failed or interrupted run: its staging folder goes; nothing delivered is touched."""
    shutil.rmtree(staged.folder, ignore_errors=True)
