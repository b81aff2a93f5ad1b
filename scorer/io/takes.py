"""Take records' JSON sidecars: each neural take's record (render/neural/take.py) written as
<cue>.<backend>.take.json next to the delivered audio. Plain JSON writing, below the
stages: deliver writes them without importing render."""
from __future__ import annotations

import json
from pathlib import Path


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
