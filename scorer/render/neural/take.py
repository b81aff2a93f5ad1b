"""What a neural take records, and its JSON sidecar.

Every take keeps what is needed to tell where it came from and to make it again: model
(name, version, where it was loaded from, audiocraft/torch versions, device), seed,
the prompt of every window and all generation parameters, plus its measurements
(conform report with per-hit errors, separation residual). The backend puts one record
per cue in Stems.info["takes"][cue_id]; `write_sidecars` writes them as JSON files next
to the delivered audio.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

TAKE_SCHEMA = "NeuralTake.1"


def cue_seed(base_seed: int, cue_id: str, kind: str) -> int:
    """A cue's seed from the score's (or the user's) seed: stable across runs and
    independent of which other cues are rendered."""
    return zlib.crc32(f"{int(base_seed)}:{kind}:{cue_id}".encode("utf-8")) & 0x7FFFFFFF


def window_seed(seed: int, index: int) -> int:
    return zlib.crc32(f"{seed}:{index}".encode("utf-8")) & 0x7FFFFFFF


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
