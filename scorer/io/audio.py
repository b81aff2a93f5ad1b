"""Audio files: 48 kHz / 24-bit WAV written block by block (soundfile)."""
from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from scorer.io.files import atomic_path
from scorer.timebase import SAMPLE_RATE


def write_wav(path: str | os.PathLike, blocks: Iterable[np.ndarray], *,
              sample_rate: int = SAMPLE_RATE, channels: int = 2, subtype: str = "PCM_24") -> int:
    """Write (channels, n) float blocks to a WAV atomically; returns the sample count."""
    import soundfile as sf

    total = 0
    with atomic_path(path, suffix=".wav") as tmp:
        with sf.SoundFile(tmp, "w", samplerate=sample_rate, channels=channels, subtype=subtype,
                          format="WAV") as f:
            for block in blocks:
                f.write(np.ascontiguousarray(block.T, dtype=np.float32))
                total += block.shape[1]
    return total


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """(channels, n) float32 and the sample rate."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), rate
