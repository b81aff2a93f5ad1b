"""The only code that opens media with PyAV: probing, streamed low-resolution video
decoding in a worker process, and audio decoding aligned to the first picture."""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from scorer.errors import InputError
from scorer.types import Source

ANALYSIS_WIDTH = 128
WORKER_TIMEOUT_S = 600.0      # plus 2 s per second of picture; see decode_features()


def _open(path: str | os.PathLike):
    import av

    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=str(p))
    if not p.is_file():
        raise InputError("is not a file", path=str(p))
    if p.stat().st_size == 0:
        raise InputError("is empty", path=str(p))
    try:
        return av.open(str(p))
    except av.FFmpegError as exc:
        raise InputError(f"is not a video file scorer can read ({exc.strerror or exc})", path=str(p))


def _video_stream(container, path):
    if not container.streams.video:
        kinds = ", ".join(sorted({s.type for s in container.streams})) or "nothing"
        raise InputError(f"has no video stream (it holds {kinds}); scorer needs a picture to score",
                         path=str(path))
    return container.streams.video[0]


def _fps(stream, path) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0:
        raise InputError("video stream has no usable frame rate", path=str(path))
    rate = Fraction(rate)
    # Containers often store 23.976 as a long rational (e.g. 2997/125): snap to the exact rate.
    from scorer.timebase import _COMMON_RATES
    for common in _COMMON_RATES:
        if abs(float(rate) - float(common)) < 0.002:
            return common
    return rate.limit_denominator(1001)


def probe(path: str | os.PathLike) -> Source:
    """The cut's frame rate (exact), duration, frame count, size and whether it has sound.

    n_frames and duration come from the container's header here; analyze() replaces them
    with what was actually decoded.
    """
    with _open(path) as c:
        v = _video_stream(c, path)
        fps = _fps(v, path)
        if v.duration is not None and v.time_base:
            duration_s = float(v.duration * v.time_base)
        elif c.duration:
            duration_s = c.duration / 1_000_000
        else:
            duration_s = 0.0
        n_frames = v.frames or round(duration_s * float(fps))
        return Source(path=str(path), fps=fps, duration_s=float(n_frames / fps) if v.frames else duration_s,
                      n_frames=int(n_frames), width=v.codec_context.width, height=v.codec_context.height,
                      has_audio=bool(c.streams.audio))


# --- video features in a worker process ------------------------------------------------------

def _worker(path: str, width: int, conn) -> None:
    """Runs in a child process: decode every frame small, compute features, send arrays."""
    try:
        import av

        from scorer.analyze.picture import FrameFeatures

        with av.open(path) as c:
            v = c.streams.video[0]
            v.thread_type = "AUTO"
            src_w, src_h = v.codec_context.width, v.codec_context.height
            height = max(2, round(width * src_h / max(src_w, 1) / 2) * 2)
            total = v.frames or 0
            feats = FrameFeatures()
            pts = []
            last_report = time.monotonic()
            try:
                for frame in c.decode(v):
                    if frame.pts is None:
                        continue
                    # FAST_BILINEAR: half the cost of AREA and cuts stay exact (the
                    # detector compares block means and histograms, not fine detail).
                    rgb = frame.reformat(width=width, height=height, format="rgb24",
                                         interpolation="FAST_BILINEAR").to_ndarray()
                    feats.add(rgb)
                    pts.append(float(frame.pts * frame.time_base))
                    now = time.monotonic()
                    if now - last_report > 0.25:
                        conn.send(("progress", len(pts), total))
                        last_report = now
            except av.FFmpegError as exc:
                # A truncated file: keep what decoded, say so if it was nothing.
                if not pts:
                    raise
                conn.send(("warning", f"decoding stopped early at frame {len(pts)}: {exc}"))
        conn.send(("result", {"pts_s": np.asarray(pts, dtype=np.float64), **feats.arrays()}))
    except Exception as exc:  # sent to the parent, which raises InputError
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


class VideoJob:
    """Video decoding running in a worker process; .result() waits for the arrays."""

    def __init__(self, path: str | os.PathLike, *, duration_s: float,
                 progress: Callable[[str, float, float], None] | None = None,
                 width: int = ANALYSIS_WIDTH, timeout_s: float | None = None):
        self.path = str(path)
        self.progress = progress
        self.timeout_s = timeout_s if timeout_s is not None else WORKER_TIMEOUT_S + 2 * duration_s
        self.expected_frames = 0
        ctx = mp.get_context("spawn")
        self._parent, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_worker, args=(self.path, width, child), daemon=True)
        self._proc.start()
        child.close()
        self.worker_pid = self._proc.pid
        self.warnings: list[str] = []
        self._result = None
        self._error: str | None = None
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        try:
            while True:
                kind, *payload = self._parent.recv()
                if kind == "progress" and self.progress:
                    done, total = payload
                    self.progress("video", done, max(total, self.expected_frames, done))
                elif kind == "warning":
                    self.warnings.append(payload[0])
                elif kind == "result":
                    self._result = payload[0]
                elif kind == "error":
                    self._error = payload[0]
        except (EOFError, OSError):
            return

    def result(self) -> dict:
        self._pump.join(self.timeout_s)
        if self._pump.is_alive():
            self._proc.kill()
            self._proc.join()
            raise InputError(f"video decoding took longer than {self.timeout_s:.0f} s and was stopped",
                             path=self.path)
        self._proc.join(10)
        if self._error:
            raise InputError(f"cannot decode the video ({self._error})", path=self.path)
        if self._result is None:
            raise InputError(f"the video decoder crashed (exit code {self._proc.exitcode})",
                             path=self.path)
        if len(self._result["pts_s"]) == 0:
            raise InputError("contains no decodable video frames", path=self.path)
        return self._result


# --- audio -----------------------------------------------------------------------------------

def decode_audio(path: str | os.PathLike, *, sample_rate: int, mono: bool) -> np.ndarray:
    """The first audio stream as float32 (channels, n) at sample_rate, with sample 0 at the
    first video frame's time (audio that starts later is padded, earlier is trimmed).
    Returns shape (channels, 0) if the file has no audio."""
    import av

    channels = 1 if mono else 2
    with _open(path) as c:
        if not c.streams.audio:
            return np.zeros((channels, 0), dtype=np.float32)
        a = c.streams.audio[0]
        v0 = 0.0
        if c.streams.video:
            v = c.streams.video[0]
            if v.start_time is not None:
                v0 = float(v.start_time * v.time_base)
        a0 = float(a.start_time * a.time_base) if a.start_time is not None else 0.0
        resampler = av.AudioResampler(format="fltp", layout="mono" if mono else "stereo",
                                      rate=sample_rate)
        chunks = []
        try:
            for frame in c.decode(a):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
        except av.FFmpegError:
            pass  # truncated audio: keep what decoded (the picture decides the length)
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    audio = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), np.float32)
    offset = round((a0 - v0) * sample_rate)
    if offset > 0:
        audio = np.pad(audio, ((0, 0), (offset, 0)))
    elif offset < 0:
        audio = audio[:, -offset:]
    return np.ascontiguousarray(audio, dtype=np.float32)
