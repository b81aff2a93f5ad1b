"""Where every random draw comes from: one seed and the labels of what is drawn.

A score has one seed (ScoreSettings.seed, a project's seed). Whatever needs randomness —
a cue's key and chords, an ambience bed, a theme, a neural window, the seed of a new take
— names itself with labels (the cue id, a stream number, the take's number …) and gets
its generator or its seed from `rng(seed, *labels)` or `derive(seed, *labels)`. Both go
through numpy's SeedSequence, labels that are text through CRC-32 of their UTF-8 (never
Python's hash(), which changes per process), so the same seed and labels give the same
draws on every machine and run, and one cue's draws never shift another's.
"""
from __future__ import annotations

import zlib

import numpy as np

SEED_LIMIT = 2 ** 31          # seeds people see and type: non-negative 32-bit signed ints


def _word(label: int | str) -> int:
    if isinstance(label, bool) or not isinstance(label, (int, str)):
        raise TypeError(f"a seed label is an int or a str, got {label!r}")
    return zlib.crc32(label.encode("utf-8")) if isinstance(label, str) else int(label)


def entropy(seed: int, *labels: int | str) -> list[int]:
    return [int(seed), *(_word(label) for label in labels)]


def rng(seed: int, *labels: int | str) -> np.random.Generator:
    """The generator for what `labels` name under `seed`."""
    return np.random.default_rng(entropy(seed, *labels))


def derive(seed: int, *labels: int | str) -> int:
    """A seed (0 ≤ s < 2**31) for what `labels` name under `seed`: a take, a cue's neural
    render, a window of it."""
    state = np.random.SeedSequence(entropy(seed, *labels)).generate_state(1, dtype=np.uint32)
    return int(state[0]) % SEED_LIMIT
