"""Audio files: 48 kHz / 24-bit WAV written block by block (soundfile)."""
from __future__ import annotations

import contextlib
import os
from typing import Iterable, Iterator, Mapping

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


def write_wavs_and_sum(parts: Mapping[str | os.PathLike, Iterator[np.ndarray]],
                       sum_path: str | os.PathLike, *, sample_rate: int = SAMPLE_RATE,
                       channels: int = 2, subtype: str = "PCM_24") -> None:
    """Write several equally-blocked streams (e.g. stems) and their sum (the mix) in one
    pass, each file atomically: the audio is rendered once, not once per file."""
    import soundfile as sf

    with contextlib.ExitStack() as stack:
        def opened(path):
            tmp = stack.enter_context(atomic_path(path, suffix=".wav"))
            return stack.enter_context(sf.SoundFile(tmp, "w", samplerate=sample_rate,
                                                    channels=channels, subtype=subtype, format="WAV"))
        files = [opened(p) for p in parts]
        total_file = opened(sum_path)
        for blocks in zip(*parts.values()):
            total = np.sum(blocks, axis=0, dtype=np.float32)
            for f, block in zip(files, blocks):
                f.write(np.ascontiguousarray(block.T, dtype=np.float32))
            total_file.write(np.ascontiguousarray(total.T))


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """(channels, n) float32 and the sample rate."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), rate
