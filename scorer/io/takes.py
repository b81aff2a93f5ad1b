"""Takes' JSON files: a studio take's `take.json` (Take.1) written and read, and each neural
take's record (render/neural/take.py) written as <cue>.<backend>.take.json next to the
delivered audio. Plain JSON, below the stages: deliver writes the sidecars without
importing render, and the studio's take.json has its writer and its reader here together.
"""
from __future__ import annotations

import json
from pathlib import Path

from scorer.errors import InputError
from scorer.io.files import read_json
from scorer.schemas import tag, upgrade, upgrader
from scorer.types import CueScore, TempoMap

# A studio take's take.json (project.py keeps it beside take.wav and take.mid; its hash is
# in project.db, so it is read as written and never rewritten). Before the tag, take.json
# was untagged: that form is version 0.
TAKE_INFO = "Take"
TAKE_INFO_VERSION = 1
TAKE_INFO_SCHEMA = tag(TAKE_INFO, TAKE_INFO_VERSION)
# Every take.json has these; a neural take's also has "stems" (the stem files it kept).
TAKE_INFO_FIELDS = ("backend", "cue", "end_s", "groups", "hits", "key", "level_lufs", "params",
                    "start_s", "tail_s", "tempo_map")


@upgrader(TAKE_INFO, 0)
def _take_info_from_untagged(d: dict) -> dict:
    # The untagged take.json every project made before the tag holds: its fields are
    # Take.1's, with the same meaning; only the tag was missing.
    return d


def take_info(cs: CueScore, *, params: dict, backend: str, groups, level_lufs: float,
              stems: dict | None = None) -> dict:
    """A studio take's take.json (Take.1) for the composed cue `cs` (scorer.types.CueScore):
    the take's parameters, the cue's span and tail (s), key, tempo map, the hits and how they
    land (beat, error_ms), the rendered groups and the level (LUFS) the take was matched to.
    stems: a neural take's kept stems, {"start_sample", "n_samples", "files": group →
    {"file", "gain"}}."""
    info = {"schema": TAKE_INFO_SCHEMA, "cue": cs.cue.id, "params": params, "backend": backend,
            "key": cs.key, "start_s": cs.cue.start_s, "end_s": cs.cue.end_s, "tail_s": cs.tail_s,
            "tempo_map": cs.tempo_map.to_dict(),
            "hits": [{"t_s": f.hit.t_s, "kind": f.hit.kind, "scored": f.hit.scored, "beat": f.beat,
                      "error_ms": round(f.error_s * 1000, 3)} for f in cs.hit_fits],
            "groups": sorted(groups), "level_lufs": level_lufs}
    if stems is not None:
        info["stems"] = stems
    return info


def take_info_bytes(info: dict) -> bytes:
    """take.json's bytes: `info` (see take_info) as sorted, indented JSON."""
    if info.get("schema") != TAKE_INFO_SCHEMA:
        raise ValueError(f"take.json is written as {TAKE_INFO_SCHEMA}, got {info.get('schema')!r}")
    return json.dumps(info, indent=2, sort_keys=True).encode("utf-8")


def read_take_info(path: str | Path) -> dict:
    """A take.json read and brought to Take.1 (an untagged one is version 0); InputError
    naming the file when it is not one."""
    path = str(path)
    info = upgrade(read_json(path), TAKE_INFO, TAKE_INFO_VERSION, where="take.json", path=path,
                   untagged=0)
    missing = [k for k in TAKE_INFO_FIELDS if k not in info]
    if missing:
        raise InputError(f"take.json is missing {', '.join(missing)}", path=path)
    try:
        TempoMap.from_dict(info["tempo_map"], "take.json tempo_map")
    except InputError as exc:
        raise InputError(str(exc), path=path) from None
    return info


def sidecar_name(cue_id: str, backend: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in cue_id)
    return f"{safe}.{backend}.take.json"


def write_sidecars(stems, folder: str | Path) -> list[Path]:
    """Write each take record in stems.info (a neural backend's, or render_plan's merged
    Stems) as <cue>.<backend>.take.json in `folder`; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for record in iter_takes(stems.info):
        path = folder / sidecar_name(record["cue"], record["backend"])
        path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def iter_takes(info: dict):
    """The take records in a Stems.info, including those nested by render_plan."""
    for record in info.get("takes", {}).values():
        yield record
    for sub in info.get("backends", {}).values():
        yield from iter_takes(sub)
