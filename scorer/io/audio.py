"""Audio files: 48 kHz / 24-bit Broadcast WAV written block by block (our own RIFF
writer, so the bext chunk with the timecode stamp sits before the samples); read with
soundfile."""
from __future__ import annotations

import contextlib
import os
import struct
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

import numpy as np

from scorer.io.files import atomic_path
from scorer.timebase import SAMPLE_RATE


@dataclass(frozen=True)
class Ixml:
    """An iXML chunk (ixml.info, version 2.10): what production sound and post tools read
    to name a file's tracks and know its timecode rate — the bext chunk has no rate, so
    a DAW cannot tell 23.976 from 24 or drop-frame from non-drop without it.

    timecode_rate: "24000/1001"-style; track_names: one per channel.
    """
    project: str
    scene: str
    take: str
    note: str
    timecode_rate: str
    drop_frame: bool
    track_names: tuple[str, ...]
    sample_rate: int = SAMPLE_RATE
    bit_depth: int = 24

    def xml(self, time_reference_samples: int) -> str:
        from xml.sax.saxutils import escape

        tracks = "".join(f"<TRACK><CHANNEL_INDEX>{i}</CHANNEL_INDEX><INTERLEAVE_INDEX>{i}</INTERLEAVE_INDEX>"
                         f"<NAME>{escape(name)}</NAME></TRACK>"
                         for i, name in enumerate(self.track_names, 1))
        rate = f"{self.sample_rate}"
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<BWFXML><IXML_VERSION>2.10</IXML_VERSION>'
                f"<PROJECT>{escape(self.project)}</PROJECT><SCENE>{escape(self.scene)}</SCENE>"
                f"<TAKE>{escape(self.take)}</TAKE><NOTE>{escape(self.note)}</NOTE>"
                f"<SPEED><MASTER_SPEED>{self.timecode_rate}</MASTER_SPEED>"
                f"<CURRENT_SPEED>{self.timecode_rate}</CURRENT_SPEED>"
                f"<TIMECODE_RATE>{self.timecode_rate}</TIMECODE_RATE>"
                f"<TIMECODE_FLAG>{'DF' if self.drop_frame else 'NDF'}</TIMECODE_FLAG>"
                f"<FILE_SAMPLE_RATE>{rate}</FILE_SAMPLE_RATE><AUDIO_BIT_DEPTH>{self.bit_depth}</AUDIO_BIT_DEPTH>"
                f"<DIGITIZER_SAMPLE_RATE>{rate}</DIGITIZER_SAMPLE_RATE>"
                f"<TIMESTAMP_SAMPLE_RATE>{rate}</TIMESTAMP_SAMPLE_RATE>"
                f"<TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI>{time_reference_samples >> 32}"
                "</TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI>"
                f"<TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO>{time_reference_samples & 0xFFFFFFFF}"
                "</TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO></SPEED>"
                f"<TRACK_LIST><TRACK_COUNT>{len(self.track_names)}</TRACK_COUNT>{tracks}</TRACK_LIST>"
                "</BWFXML>\n")


@dataclass(frozen=True)
class Bext:
    """A Broadcast WAV (EBU Tech 3285) bext chunk: what a DAW reads to place a file.

    time_reference_samples: where the file's first sample sits, in samples since
    midnight (the cut's start timecode × the sample rate). Dates are fixed by the caller,
    so the same inputs give the same bytes.
    """
    description: str
    originator: str = "scorer"
    originator_reference: str = ""
    origination_date: str = "2000-01-01"
    origination_time: str = "00:00:00"
    time_reference_samples: int = 0
    coding_history: str = ""
    ixml: Ixml | None = None          # written beside the bext chunk, with the same time stamp

    def __post_init__(self):
        if not 0 <= self.time_reference_samples < 1 << 64:
            raise ValueError(f"bext time reference {self.time_reference_samples} is not a sample count "
                             "since midnight (0 … 2^64 − 1)")

    def chunk(self) -> bytes:
        def fixed(text: str, n: int) -> bytes:
            return text.encode("ascii", "replace")[:n].ljust(n, b"\0")

        body = (fixed(self.description, 256) + fixed(self.originator, 32)
                + fixed(self.originator_reference, 32) + fixed(self.origination_date, 10)
                + fixed(self.origination_time, 8)
                + struct.pack("<II", self.time_reference_samples & 0xFFFFFFFF,
                              self.time_reference_samples >> 32)
                + struct.pack("<H", 1)                  # version 1 (UMID present, zeroed)
                + bytes(64) + bytes(10) + bytes(180)    # UMID, loudness fields (unset), reserved
                + self.coding_history.encode("ascii", "replace"))
        if len(body) % 2:
            body += b"\0"
        chunk = b"bext" + struct.pack("<I", len(body)) + body
        if self.ixml is not None:
            xml = self.ixml.xml(self.time_reference_samples).encode("utf-8")
            chunk += b"iXML" + struct.pack("<I", len(xml)) + xml + (b"\0" if len(xml) % 2 else b"")
        return chunk


def to_pcm24(block: np.ndarray) -> memoryview:
    """(channels, n) float → interleaved little-endian 24-bit PCM (rounded, clipped)."""
    # In float32: scaling by 2^23 is exact, so rounding matches a float64 computation.
    x = np.empty((block.shape[1], block.shape[0]), np.float32)
    np.multiply(np.asarray(block, dtype=np.float32).T, np.float32(8388608.0), out=x)
    np.rint(x, out=x)
    np.clip(x, -8388608, 8388607, out=x)
    i = x.astype("<i4").ravel()
    # Three byte planes written column by column: twice as fast as copying a strided
    # view of the int32 bytes (this is most of the cost of writing a feature's stems).
    out = np.empty((i.size, 3), np.uint8)
    out[:, 0] = i
    out[:, 1] = i >> 8
    out[:, 2] = i >> 16
    return out.data


class WavWriter:
    """A 24-bit PCM WAV written block by block, with an optional bext (and iXML) chunk before the
    data (the file is RIFF/WAVE; sizes are filled in when it is closed)."""

    def __init__(self, f, *, sample_rate: int, channels: int, bext: Bext | None = None):
        self.f, self.channels, self.frames = f, channels, 0
        fmt = struct.pack("<HHIIHH", 1, channels, sample_rate, sample_rate * channels * 3, channels * 3, 24)
        head = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        if bext is not None:
            head += bext.chunk()
        f.write(b"RIFF" + struct.pack("<I", 0) + head + b"data" + struct.pack("<I", 0))
        self._data_size_at = 4 + 4 + len(head) + 4

    def write(self, block: np.ndarray) -> None:
        if block.shape[0] != self.channels:
            raise ValueError(f"block has {block.shape[0]} channels, the file {self.channels}")
        self.f.write(to_pcm24(block))
        self.frames += block.shape[1]

    def close(self) -> None:
        data = self.frames * self.channels * 3
        if data % 2:
            self.f.write(b"\0")           # chunks are word-aligned
        end = self.f.tell()
        if end - 8 > 0xFFFFFFFF:
            raise OSError("a WAV file is limited to 4 GB; this one would be larger")
        self.f.seek(4)
        self.f.write(struct.pack("<I", end - 8))
        self.f.seek(self._data_size_at)
        self.f.write(struct.pack("<I", data))
        self.f.seek(end)


@contextlib.contextmanager
def _wav(stack: contextlib.ExitStack, path, *, sample_rate: int, channels: int, bext: Bext | None):
    tmp = stack.enter_context(atomic_path(path, suffix=".wav"))
    f = stack.enter_context(open(tmp, "wb"))
    w = WavWriter(f, sample_rate=sample_rate, channels=channels, bext=bext)
    yield w
    w.close()


def write_wav(path: str | os.PathLike, blocks: Iterable[np.ndarray], *,
              sample_rate: int = SAMPLE_RATE, channels: int = 2, bext: Bext | None = None) -> int:
    """Write (channels, n) float blocks to a 24-bit WAV atomically; returns the sample count."""
    with contextlib.ExitStack() as stack:
        w = stack.enter_context(_wav(stack, path, sample_rate=sample_rate, channels=channels, bext=bext))
        for block in blocks:
            w.write(block)
        return w.frames


def write_wavs_and_sum(parts: Mapping[str | os.PathLike, Iterator[np.ndarray]],
                       sum_path: str | os.PathLike, *, sample_rate: int = SAMPLE_RATE,
                       channels: int = 2, bext: Mapping[str, Bext] | None = None,
                       sum_bext: Bext | None = None) -> None:
    """Write several equally-blocked streams (e.g. stems) and their sum (the mix) in one
    pass, each file atomically: the audio is rendered once, not once per file.
    bext: path → Bext for the parts; sum_bext for the sum."""
    bext = bext or {}
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(_wav(stack, p, sample_rate=sample_rate, channels=channels,
                                          bext=bext.get(str(p))))
                 for p in parts]
        total_file = stack.enter_context(_wav(stack, sum_path, sample_rate=sample_rate,
                                              channels=channels, bext=sum_bext))
        for blocks in zip(*parts.values()):
            total = np.sum(blocks, axis=0, dtype=np.float32)
            for f, block in zip(files, blocks):
                f.write(block)
            total_file.write(total)


def read_bext(path: str | os.PathLike) -> dict | None:
    """The bext chunk of a WAV as a dict (None if it has none): an independent reader."""
    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"{path} is not a RIFF/WAVE file")
        while True:
            hdr = f.read(8)
            if len(hdr) < 8:
                return None
            cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            if cid == b"bext":
                body = f.read(size)
                text = lambda a, b: body[a:b].split(b"\0", 1)[0].decode("ascii")  # noqa: E731
                lo, hi = struct.unpack("<II", body[338:346])
                return {"description": text(0, 256), "originator": text(256, 288),
                        "originator_reference": text(288, 320), "origination_date": text(320, 330),
                        "origination_time": text(330, 338), "time_reference_samples": lo + (hi << 32),
                        "version": struct.unpack("<H", body[346:348])[0], "coding_history": text(602, size)}
            f.seek(size + (size % 2), 1)


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """(channels, n) float32 and the sample rate."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.T), rate
