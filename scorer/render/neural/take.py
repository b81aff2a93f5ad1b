"""What a neural take records, and its JSON sidecar.

Every take keeps what is needed to tell where it came from and to make it again: model
(name, version, where it was loaded from, audiocraft/torch versions, device), seed,
the prompt of every window and all generation parameters, plus its measurements
(conform report with per-hit errors, separation residual). The backend puts one record
per cue in Stems.info["takes"][cue_id]; io/takes.py `write_sidecars` writes them as JSON
files next to the delivered audio.
"""
from __future__ import annotations

from scorer import seeds

TAKE_SCHEMA = "NeuralTake.1"


def cue_seed(base_seed: int, cue_id: str, kind: str) -> int:
    """A cue's seed from the score's (or the user's) seed: stable across runs and
    independent of which other cues are rendered."""
    return seeds.derive(base_seed, kind, cue_id)


def window_seed(seed: int, index: int) -> int:
    return seeds.derive(seed, "window", int(index))
