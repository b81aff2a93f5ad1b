"""The only code that opens media with PyAV: probing, streamed low-resolution picture
analysis in a worker process, and audio decoding aligned to the first picture.

The worker (a "spawn" process) decodes every frame with FFmpeg's threads, has FFmpeg scale
it to analysis size, computes the per-frame features of `scorer.analyze.picture` in batches
and sends back only those arrays: a crashing or hanging decoder costs an InputError, not
the caller, and the caller's core is free for the sound meanwhile. Spawned workers import
the caller's main script again: a script that calls analyze() must do so under
`if __name__ == "__main__":`.
"""
from __future__ import annotations

import importlib
import multiprocessing as mp
import multiprocessing.connection
import os
import sys
import threading
import time
import traceback
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from scorer.config import VARIABLES, Config, current
from scorer.errors import InputError
from scorer.timebase import _COMMON_RATES, frame_to_s, nearest_frame, s_to_sample, sample_to_s
from scorer.types import Source

ANALYSIS_WIDTH = 128          # px; height follows the picture's aspect (128x72 for 16:9)
BATCH_FRAMES = 64             # frames per feature batch in the worker (~1.8 MB at 128x72)
STALL_TIMEOUT_S = 60.0        # a worker silent this long is hung (it reports 4x a second)
PROGRESS_EVERY_S = 0.25

ProgressFn = Callable[[str, float, float], None]

# The limits on what scorer agrees to decode (picture size, duration, streams, the
# decoder's memory and wall time) are fields of scorer.config.Config, each raised with its
# SCORER_* variable. Every entry point here takes `config` (default: config.current()) and
# hands it to its worker process, which never reads an environment of its own.

# Real container formats (FFmpeg demuxer names) a cut comes in. Everything else — above
# all playlists and concat lists (hls, concat, …), which make FFmpeg open other files or
# URLs named inside them, and image sequences — is refused before it is opened.
VIDEO_FORMATS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi", "mxf", "mpegts",
                           "mpeg", "flv", "ogg", "asf", "mpegvideo", "h264", "hevc", "dv", "gxf",
                           "nut", "ivf", "m4v", "yuv4mpegpipe"})


def _limits(config: Config | None) -> Config:
    """`config`, or the process's (config.current()) where none is given."""
    return current() if config is None else config


# First bytes of the containers above. A file must start like one of them to be opened at
# all: FFmpeg guesses formats from content, so a text file named .mp4 would otherwise be
# tried as a playlist, a subtitle or an image list.
def _looks_like_video(head: bytes) -> bool:
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):
        return True                                   # QuickTime / MP4
    if head.startswith(b"\x1aE\xdf\xa3"):             # Matroska / WebM (EBML)
        return True
    if head.startswith(b"RIFF") and head[8:12] in (b"AVI ", b"AVIX"):
        return True
    if head.startswith(b"\x06\x0e\x2b\x34"):          # MXF partition key
        return True
    if head.startswith((b"FLV", b"OggS", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", b"\x00\x00\x01\xba",
                        b"\x00\x00\x01\xb3", b"DKIF", b"nut/multimedia", b"YUV4MPEG2")):
        return True
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:   # MPEG-TS packets
        return True
    if len(head) >= 197 and head[4] == 0x47 and head[196] == 0x47:   # M2TS (192-byte packets)
        return True
    return head.startswith((b"\x00\x00\x00\x01", b"\x00\x00\x01"))   # raw H.264/HEVC stream


def _describe_head(head: bytes) -> str:
    text = head[:64].lstrip()
    for sig, what in ((b"#EXTM3U", "an HLS playlist"), (b"ffconcat", "an FFmpeg concat list"),
                      (b"[playlist]", "a playlist"), (b"<?xml", "an XML document"), (b"<svg", "an SVG image"),
                      (b"<!DOCTYPE", "an HTML page"), (b"<html", "an HTML page"), (b"{", "a JSON document"),
                      (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                      (b"ID3", "an MP3 audio file"), (b"fLaC", "a FLAC audio file"), (b"%PDF", "a PDF document")):
        if text.lower().startswith(sig.lower()):
            return what
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "a WAV audio file"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in text):
        return "a text file"
    return "not a video container scorer reads (MP4/MOV, MKV/WebM, AVI, MXF, MPEG-TS/PS, …)"


# --- opening and probing ---------------------------------------------------------------------

def _open(path: str | os.PathLike, config: Config):
    """The container at path, or InputError saying why not (config: the limits)."""
    import av

    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=str(p))
    if not p.is_file():
        raise InputError("is not a file", path=str(p))
    if p.stat().st_size == 0:
        raise InputError("is empty (0 bytes)", path=str(p))
    try:
        with open(p, "rb") as f:
            head = f.read(512)
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", path=str(p)) from None
    if not _looks_like_video(head):
        raise InputError(f"is not a video file: it is {_describe_head(head)}", path=str(p))
    try:
        # Only local files, and no network or subprocess protocols for anything the
        # container may reference (belt and braces: the format check below refuses
        # playlists anyway).
        c = av.open(str(p), options={"protocol_whitelist": "file", "safe": "1"})
    except av.FFmpegError as exc:
        raise InputError(f"is not a video file scorer can read, or it is truncated "
                         f"(FFmpeg: {exc.strerror or exc})", path=str(p)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot be opened as media ({exc})", path=str(p)) from None
    try:
        _check_container(c, p, config)
    except BaseException:
        c.close()
        raise
    return c


def _check_container(c, p: Path, config: Config) -> None:
    """Refuse formats that are not real containers and headers beyond config's limits."""
    if c.format.name not in VIDEO_FORMATS:
        raise InputError(f"is {c.format.long_name or c.format.name} ({c.format.name}), not a video "
                         "container scorer reads", path=str(p))
    if len(c.streams) > config.max_streams:
        raise InputError(f"has {len(c.streams)} streams; scorer reads files with at most {config.max_streams} "
                         f"(set {VARIABLES['max_streams']} to allow more)", path=str(p))
    for v in c.streams.video:
        w, h = int(v.codec_context.width or 0), int(v.codec_context.height or 0)
        if w * h > config.max_pixels:
            raise InputError(f"declares a {w}x{h} picture, beyond the {config.max_pixels}-pixel limit "
                             f"(set {VARIABLES['max_pixels']} to allow it)", path=str(p))
    max_s = config.max_duration_s
    duration_s = (c.duration or 0) / 1_000_000
    if duration_s > max_s:
        raise InputError(f"declares a duration of {duration_s / 3600:.1f} h, beyond the "
                         f"{max_s / 3600:.1f} h limit (set {VARIABLES['max_duration_s']} to allow it)", path=str(p))


def _video_stream(container, path):
    if not container.streams.video:
        kinds = ", ".join(sorted({s.type for s in container.streams})) or "no streams"
        raise InputError(f"has no video stream; scorer needs a picture to score (it holds {kinds})",
                         path=str(path))
    return container.streams.video[0]


def _exact_fps(stream, path) -> Fraction:
    """The stream's frame rate as an exact Fraction.

    FFmpeg's guessed rate (the rate all timestamps fit) is exact for constant-rate video;
    the average rate (frames / duration) can be a long rational (2997/125). Where the two
    disagree the video has a variable rate and the average is the honest nominal rate.
    Rates within 0.01 % of a standard one (24000/1001, 25, …) are taken as that one.
    """
    avg, guessed = stream.average_rate, stream.guessed_rate
    rate = None
    if guessed and avg and abs(float(guessed) / float(avg) - 1) < 0.01:
        rate = Fraction(guessed)
    elif avg:
        rate = Fraction(avg)
    elif guessed:
        rate = Fraction(guessed)
    if not rate or rate <= 0:
        raise InputError("video stream has no usable frame rate", path=str(path))
    for common in _COMMON_RATES:
        if abs(float(rate) / float(common) - 1) < 1e-4:
            return common
    return rate


def probe(path: str | os.PathLike, *, config: Config | None = None) -> Source:
    """The cut's exact frame rate, duration, frame count, size and whether it has sound.

    n_frames and duration_s come from the container's header; analyze() replaces them with
    what it actually decoded. Raises InputError for anything that is not a readable video
    or is beyond config's limits (default: config.current()).
    """
    with _open(path, _limits(config)) as c:
        v = _video_stream(c, path)
        fps = _exact_fps(v, path)
        if v.duration is not None and v.time_base:
            duration_s = float(v.duration * v.time_base)
        elif c.duration:
            duration_s = c.duration / 1_000_000
        else:
            duration_s = 0.0
        n_frames = int(v.frames) if v.frames else nearest_frame(duration_s, fps)
        if v.frames and abs(duration_s - frame_to_s(n_frames, fps)) < frame_to_s(2, fps):
            duration_s = frame_to_s(n_frames, fps)   # constant rate: exact
        return Source(path=str(path), fps=fps, duration_s=float(duration_s), n_frames=n_frames,
                      width=int(v.codec_context.width), height=int(v.codec_context.height),
                      has_audio=bool(c.streams.audio), start_timecode=_start_timecode(c, fps, path))


def _start_timecode(container, fps: Fraction, path) -> str:
    """The first frame's timecode: a timecode track's, the video stream's or the
    container's tag (editors' MOV/MXF exports carry one, often 01:00:00:00); 00:00:00:00
    when there is none. An unreadable tag is reported, not guessed at."""
    import warnings

    from scorer.timebase import frame_to_smpte, smpte_to_frame

    tags = [s.metadata.get("timecode") for s in container.streams if s.type == "data"]
    tags += [s.metadata.get("timecode") for s in container.streams.video]
    tags.append(container.metadata.get("timecode"))
    for tc in tags:
        if tc:
            try:
                return frame_to_smpte(smpte_to_frame(tc, fps), fps)
            except InputError as exc:
                warnings.warn(f"{path}: start timecode {tc!r} is not usable ({exc}); "
                              "stamping files from 00:00:00:00", RuntimeWarning, stacklevel=3)
                break
    return frame_to_smpte(0, fps)


def _analysis_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """(w, h) of the analysis frames: target_width wide (never wider than the source), same
    aspect, even numbers."""
    w = min(target_width, width) // 2 * 2
    h = max(2, round(w * height / max(width, 1) / 2) * 2)
    return max(w, 2), h


# --- the worker process ------------------------------------------------------------------------

def _picture_worker(path: str, width: int, features_factory, conn, config: Config) -> None:
    """Runs in the spawned process: decode every frame, scale it in FFmpeg, hand the frames
    in batches to a features_factory() object (.add(batch), .arrays()), send ("result",
    arrays). Errors are sent as ("input" | "bug", text). config: the parent's limits."""
    try:
        conn.send(("started", os.getpid()))
        import av
        from av.video.reformatter import VideoReformatter

        # After the imports: the cap is for what decoding allocates, not for loading code.
        _limit_memory(config.decode_memory_mb)

        with _open(path, config) as c:
            v = c.streams.video[0]
            v.thread_type = "AUTO"   # frame + slice threads: 1.6–1.8x on 2 cores
            # Every frame is decoded, but without the deblocking filter: ~15 % less decoding
            # time, and at analysis size its effect is under 1 % of a cut's change (measured
            # on H.264: mean 0.3–0.5 of 255 levels, per-frame change within 0.008).
            v.codec_context.options = {"skip_loop_filter": "all"}
            w, h = _analysis_size(v.codec_context.width, v.codec_context.height, width)
            total = int(v.frames or 0)          # what the header lists (0: it doesn't)
            expected = total or _estimated_frames(v, c)
            reformatter = VideoReformatter()
            features = features_factory()
            batch = np.empty((BATCH_FRAMES, h, w, 3), dtype=np.uint8)
            pts: list[int] = []
            time_base = v.time_base
            n_in_batch = 0
            last_report = time.monotonic()
            try:
                for frame in c.decode(v):
                    # AREA averages every source pixel (no aliasing of grain or fine detail);
                    # one thread: the decoder's threads already have the cores.
                    small = reformatter.reformat(frame, width=w, height=h, format="rgb24",
                                                 interpolation="AREA", threads=1)
                    batch[n_in_batch] = small.to_ndarray()
                    n_in_batch += 1
                    if frame.pts is not None:
                        time_base = frame.time_base or time_base
                        pts.append(int(frame.pts))
                    else:   # no timestamp: one nominal frame after the last (rare, odd muxers)
                        step = round(1 / (v.average_rate or 24) / time_base) if time_base else 1
                        pts.append(pts[-1] + step if pts else 0)
                    if n_in_batch == BATCH_FRAMES:
                        features.add(batch)
                        n_in_batch = 0
                    now = time.monotonic()
                    if now - last_report >= PROGRESS_EVERY_S:
                        conn.send(("progress", len(pts), expected))
                        last_report = now
            except av.FFmpegError as exc:
                conn.send(("input", f"is damaged or truncated: video decoding failed after "
                                    f"{len(pts)} of {total or '?'} frames (FFmpeg: {exc.strerror or exc})"))
                return
            features.add(batch[:n_in_batch])
        arrays = features.arrays()
        arrays["pts"] = np.asarray(pts, dtype=np.int64)
        conn.send(("result", {"arrays": arrays, "time_base": Fraction(time_base or Fraction(1, 1)),
                              "header_frames": total, "size": (w, h)}))
    except InputError as exc:   # e.g. a picture too small to analyse; the parent names the file
        text = str(exc)
        conn.send(("input", text[len(exc.path) + 2:] if exc.path and text.startswith(exc.path) else text))
    except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
        if _out_of_memory(exc):
            conn.send(("input", _memory_message(config)))
            return
        av = sys.modules.get("av")
        if av is not None and isinstance(exc, av.FFmpegError):   # e.g. the file changed
            conn.send(("input", f"cannot be decoded (FFmpeg: {exc.strerror or exc})"))
        else:                                                      # a bug of ours
            conn.send(("bug", traceback.format_exc()))
    finally:
        conn.close()


def _memory_message(config: Config) -> str:
    return (f"needs more memory to decode than the decoder may use ({config.decode_memory_mb} MB; "
            f"set {VARIABLES['decode_memory_mb']} to allow more)")


def _out_of_memory(exc: BaseException) -> bool:
    """Whether exc is the address-space cap biting: a MemoryError, or a library that
    could not be mapped (PyAV loads parts of itself lazily)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return isinstance(exc, (ImportError, OSError)) and ("failed to map" in text or "allocate memory" in text)


def _limit_memory(megabytes: int) -> None:
    """Cap this (worker) process's address space, so a decoder that a crafted file sends
    allocating without end fails with MemoryError instead of taking the machine down."""
    try:
        import resource
    except ImportError:     # not on this platform: the wall-time limit still applies
        return
    cap = megabytes * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _estimated_frames(stream, container) -> int:
    """Frame count from duration × rate, for progress only (0 if unknown)."""
    rate = stream.average_rate or stream.guessed_rate
    if stream.duration is not None and stream.time_base and rate:
        return nearest_frame(stream.duration * stream.time_base, Fraction(rate))
    if container.duration and rate:
        return nearest_frame(container.duration / 1_000_000, Fraction(rate))
    return 0


class PictureJob:
    """Picture analysis of one file running in a worker process.

    features: a picklable factory (a class) of the object that turns decoded frames into
    features, made in the worker (analyze's PictureFeatures: io decodes, analyze computes).
    Starts at construction; result() waits for the arrays. progress("video", done, total)
    is called from a helper thread as frames are decoded. close() (or leaving a `with`
    block) stops a worker that is still running. config: the limits the worker decodes
    under (default: config.current()); timeout_s, if given, replaces its decode_timeout_s.
    """

    def __init__(self, path: str | os.PathLike, *, features, progress: ProgressFn | None = None,
                 width: int = ANALYSIS_WIDTH, stall_timeout_s: float = STALL_TIMEOUT_S,
                 timeout_s: float | None = None, config: Config | None = None):
        self.path = str(path)
        self.stall_timeout_s = stall_timeout_s
        config = _limits(config)
        self.timeout_s = config.decode_timeout_s if timeout_s is None else timeout_s
        self.worker_pid: int | None = None       # as reported by the worker itself
        self.wall_s = 0.0
        self._progress = progress
        self._t0 = time.perf_counter()
        self._last_message = time.monotonic()
        self._outcome: tuple | None = None
        self._callback_error: BaseException | None = None
        self._done = threading.Event()
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_picture_worker, args=(self.path, width, features, child, config),
                                 name="scorer-picture", daemon=True)
        self._proc.start()
        child.close()
        self._reader = threading.Thread(target=self._read, name="scorer-picture-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        """Receives the worker's messages until its outcome (or its death)."""
        try:
            while True:
                ready = mp.connection.wait([self._conn, self._proc.sentinel], timeout=0.5)
                if not ready:
                    if self._stalled():
                        return
                    continue
                if self._conn not in ready:     # died without a word
                    if self._conn.poll():       # … or its last words are still in the pipe
                        ready = [self._conn]
                    else:
                        return
                try:
                    kind, *payload = self._conn.recv()
                except (EOFError, OSError):
                    return
                self._last_message = time.monotonic()
                if kind == "started":
                    self.worker_pid = payload[0]
                elif kind == "progress":
                    done, total = payload
                    if self._progress and self._callback_error is None:
                        try:
                            self._progress("video", done, max(total, done))
                        except BaseException as exc:  # noqa: BLE001 - re-raised in result()
                            self._callback_error = exc
                else:
                    self._outcome = (kind, *payload)
                    return
        finally:
            self._done.set()

    def _stalled(self) -> bool:
        silent = time.monotonic() - self._last_message > self.stall_timeout_s
        over = self.timeout_s is not None and time.perf_counter() - self._t0 > self.timeout_s
        if silent or over:
            self._outcome = ("timeout", f"sent nothing for {self.stall_timeout_s:.0f} s" if silent
                             else f"was still running after {self.timeout_s:.0f} s")
            return True
        return False

    def result(self) -> dict:
        """Wait for the worker: {"arrays": {name: array}, "time_base": Fraction,
        "header_frames": int, "size": (w, h)}. InputError if the file cannot be decoded, the
        worker dies or times out."""
        self._done.wait()
        self.wall_s = time.perf_counter() - self._t0
        if self._outcome is None or self._outcome[0] != "timeout":
            self._proc.join(timeout=5)   # it is finishing: give it a moment to exit
        if self._proc.is_alive():        # hung, or the reader gave up on it
            self._proc.kill()
            self._proc.join()
            if self._outcome is None:
                self._outcome = ("timeout", "stopped answering")
        if self._callback_error is not None:
            raise self._callback_error
        kind, *payload = self._outcome or ("died", None)
        if kind == "result":
            if self._progress:
                n = len(payload[0]["arrays"]["pts"])
                self._progress("video", n, n)
            return payload[0]
        if kind == "input":
            raise InputError(payload[0], path=self.path)
        if kind == "timeout":
            raise InputError(f"the video decoder {payload[0]} and was stopped", path=self.path)
        if kind == "bug":
            raise RuntimeError(f"picture analysis of {self.path} failed in the worker:\n{payload[0]}")
        code = self._proc.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        hint = ("" if self.worker_pid else
                " before it started; if analyze() is called from a script, call it under "
                "`if __name__ == \"__main__\":` (the worker imports the main script again)")
        raise InputError(f"the video decoder process {how}{hint}", path=self.path)

    def close(self) -> None:
        """Stop the worker if it is still running."""
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(timeout=5)
        self._conn.close()

    def __enter__(self) -> "PictureJob":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- audio -------------------------------------------------------------------------------------

def _first_frame_time(container, stream) -> Fraction | None:
    """Presentation time (s, exact) of the first frame decoded from stream, None if none."""
    import av

    try:
        for frame in container.decode(stream):
            if frame.pts is not None:
                return frame.pts * frame.time_base
    except av.FFmpegError:
        return None
    return None


def decode_audio(path: str | os.PathLike, *, sample_rate: int, mono: bool,
                 timeout_s: float | None = None, into=None, config: Config | None = None):
    """The first audio stream as float32 (channels, n) at sample_rate, channels 1 (mono,
    downmixed by FFmpeg) or 2. Sample 0 is the time of the first video frame: audio that
    starts later is padded with silence, audio that starts earlier is trimmed. The audio is
    taken as contiguous from its first packet; it may run past the last frame.

    Decoding runs in a spawned worker process with the same memory cap as the picture
    worker (a decoder crashing on a damaged file costs an InputError, not the caller); the
    samples come back through a temporary file, removed before returning — or, with
    `into` (a scorer.io.clipstore.ClipStore), kept there and returned as a RawAudio read
    in windows, so a feature's sound is never held in memory (the worker streams it to
    the file as it decodes). config: the limits (default: config.current()); timeout_s,
    if given, replaces its decode_timeout_s.
    InputError if the file has no video or no audio stream, or the audio cannot be decoded.
    """
    import tempfile

    if sample_rate <= 0:
        raise InputError(f"sample_rate must be > 0, got {sample_rate}")
    config = _limits(config)
    if timeout_s is None:
        timeout_s = config.decode_timeout_s
    _open(path, config).close()     # the quick checks (missing, empty, not a video…) in this process
    if into is None:
        fd, tmp = tempfile.mkstemp(prefix="scorer-audio-", suffix=".f32")
        os.close(fd)
    else:
        tmp = str(into.new_path(f"{Path(path).stem}-sound"))
    kept = False
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_audio_worker, args=(str(path), sample_rate, mono, tmp, child, config),
                       daemon=True)
    try:
        proc.start()
        child.close()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        message = None
        while message is None:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = mp.connection.wait([parent, proc.sentinel], timeout=left)
            if not ready:
                raise InputError(f"the audio decoder was still running after {timeout_s:.0f} s and was stopped",
                                 path=str(path))
            if parent in ready:
                try:
                    message = parent.recv()
                except EOFError:
                    message = ("died", None)
            elif not proc.is_alive():
                message = ("died", None)
        kind, payload = message
        if kind == "result":
            channels, n = payload
            if into is not None:
                kept = True
                return into.adopt(tmp, n_samples=n, channels=channels)
            # interleaved frames (n, channels), as the worker streams them
            return np.ascontiguousarray(np.fromfile(tmp, dtype=np.float32).reshape(n, channels).T)
        if kind == "input":
            raise InputError(payload, path=str(path))
        if kind == "bug":
            raise RuntimeError(f"audio decoding of {path} failed in the worker:\n{payload}")
        proc.join(timeout=5)
        code = proc.exitcode
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        raise InputError(f"the audio decoder process {how}", path=str(path))
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=5)
        parent.close()
        if not kept and os.path.exists(tmp):
            os.unlink(tmp)


def _audio_worker(path: str, sample_rate: int, mono: bool, out_path: str, conn, config: Config) -> None:
    """Runs in the spawned process: decode, write the samples to out_path, report.
    config: the parent's limits."""
    try:
        importlib.import_module("av")   # loaded before the cap, which is for decoding, not code
        _limit_memory(config.decode_memory_mb)
        with open(out_path, "wb") as f:
            shape = _decode_audio_here(path, sample_rate=sample_rate, mono=mono, out=f, config=config)
        conn.send(("result", shape))
    except InputError as exc:
        text = str(exc)
        conn.send(("input", text[len(exc.path) + 2:] if exc.path and text.startswith(exc.path) else text))
    except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
        if _out_of_memory(exc):
            conn.send(("input", _memory_message(config)))
        else:
            conn.send(("bug", traceback.format_exc()))
    finally:
        conn.close()


def _decode_audio_here(path: str | os.PathLike, *, sample_rate: int, mono: bool, out=None, config: Config):
    """decode_audio's work, in the calling process, under config's limits. With `out` (a
    binary file), the samples are streamed to it as interleaved float32 frames
    (n, channels) as they are decoded and (channels, n) is returned; without, the
    (channels, n) array."""
    import av

    with _open(path, config) as c:
        t_video = _first_frame_time(c, _video_stream(c, path))
    if t_video is None:
        raise InputError("contains no decodable video frames", path=str(path))
    layout = "mono" if mono else "stereo"
    channels = 1 if mono else 2
    chunks: list[np.ndarray] = []
    n_written = 0
    skip = None          # samples still to drop (audio that starts before the picture)

    def put(x: np.ndarray) -> None:
        nonlocal n_written, skip
        if skip:
            drop = min(skip, x.shape[1])
            x, skip = x[:, drop:], skip - drop
        if x.shape[1] == 0:
            return
        if out is None:
            chunks.append(x)
        else:
            np.ascontiguousarray(x.T, dtype=np.float32).tofile(out)
        n_written += x.shape[1]

    with _open(path, config) as c:
        if not c.streams.audio:
            raise InputError("has no audio stream", path=str(path))
        stream = c.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        try:
            for frame in c.decode(stream):
                if skip is None:
                    # Sample 0 is the first video frame: audio that starts later is
                    # preceded by silence, audio that starts earlier loses its head.
                    t_audio = frame.pts * frame.time_base if frame.pts is not None else t_video
                    offset = s_to_sample(t_audio - t_video, sample_rate)
                    if offset > 0:
                        put(np.zeros((channels, offset), np.float32))
                    skip = max(-offset, 0)
                for o in resampler.resample(frame):
                    put(o.to_ndarray())
            for o in resampler.resample(None):
                put(o.to_ndarray())
        except av.FFmpegError as exc:
            raise InputError(f"is damaged or truncated: audio decoding failed after {sample_to_s(n_written, sample_rate):.2f} s "
                             f"(FFmpeg: {exc.strerror or exc})", path=str(path)) from None
    if out is not None:
        return channels, n_written
    audio = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), np.float32)
    return np.ascontiguousarray(audio, dtype=np.float32)

