"""Schema tags on persisted documents, and the upgrades that read an older one.

Every document scorer writes and reads back carries `"schema": "Name.N"` (OpenTimelineIO's
pattern). Its reader calls `upgrade(d, NAME, VERSION, where=...)` before reading a field:
a document written by an older scorer is brought to the current form by the functions
registered with `@upgrader(NAME, n)` (each takes version n to n + 1), applied in order; a
newer, a foreign or an unbridgeable tag is refused with the reason, never read as if it fit.

An upgrade function takes a copy of the older document (a dict) and returns it in the next
version's form; `upgrade` sets the tag. It changes the fields only: a file on disk is never
rewritten by reading it.
"""
from __future__ import annotations

import copy
import re
from typing import Callable

from scorer.errors import InputError

_TAG = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\.(0|[1-9][0-9]*)$")
# (name, from_version) → the function taking that version to the next.
_UPGRADERS: dict[tuple[str, int], Callable[[dict], dict]] = {}


def tag(name: str, version: int) -> str:
    """The tag a document of `name` at `version` carries: tag("CueSheet", 1) == "CueSheet.1"."""
    return f"{name}.{int(version)}"


def parse_tag(value, *, where: str = "document", path: str | None = None) -> tuple[str, int]:
    """("CueSheet", 1) from "CueSheet.1"; InputError for anything that is not Name.N."""
    m = _TAG.match(value) if isinstance(value, str) else None
    if m is None:
        raise InputError(f"{where}: schema {value!r} is not a schema tag (Name.N, like 'CueSheet.1')",
                         path=path)
    return m.group(1), int(m.group(2))


def upgrader(name: str, from_version: int):
    """Register the decorated function as the upgrade of `name` from `from_version` to the
    next version. Two upgrades from one version are a programming error."""
    def register(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
        key = (name, int(from_version))
        if key in _UPGRADERS:
            raise ValueError(f"{tag(*key)} already has an upgrade ({_UPGRADERS[key].__qualname__})")
        _UPGRADERS[key] = fn
        return fn
    return register


def upgrade(d, name: str, current_version: int, *, where: str, path: str | None = None,
            untagged: int | None = None) -> dict:
    """`d` in the form of `name` at `current_version`, tagged so; `d` itself is not changed.

    where: what the document is, for messages ("cue sheet"); path: the file it came from,
    named by the InputError. untagged: the version a document without a tag is (files
    written before the format had one); None: a tag is required.
    """
    if not isinstance(d, dict):
        raise InputError(f"{where} must be an object, got {type(d).__name__}", path=path)
    if "schema" in d:
        found, version = parse_tag(d["schema"], where=where, path=path)
    elif untagged is not None:
        found, version = name, untagged
    else:
        raise InputError(f"{where} is missing field 'schema' (a {tag(name, current_version)} "
                         f"document says so)", path=path)
    if found != name:
        raise InputError(f"{where} has schema {tag(found, version)!r}, not a {name}", path=path)
    if version > current_version:
        raise InputError(f"{where} has schema {tag(name, version)!r}, newer than this scorer reads "
                         f"(up to {tag(name, current_version)!r}): it was written by a later scorer",
                         path=path)
    if version == current_version:
        return d
    missing = [v for v in range(version, current_version) if (name, v) not in _UPGRADERS]
    if missing:
        raise InputError(f"{where} has schema {tag(name, version)!r}; this scorer reads "
                         f"{tag(name, current_version)!r} and has no upgrade from "
                         f"{tag(name, missing[0])!r}", path=path)
    # Upgrades may edit nested fields: they work on a copy, never on the caller's dict.
    out = copy.deepcopy(d)
    for v in range(version, current_version):
        out = _UPGRADERS[(name, v)](out)
        if not isinstance(out, dict):
            raise TypeError(f"the upgrade from {tag(name, v)} returned {type(out).__name__}, not a dict")
        out["schema"] = tag(name, v + 1)
    return out
