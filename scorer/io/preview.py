"""preview.mp4: the cut's picture (copied, not re-encoded, when MP4 can carry it) with the
programme sound (its own audio + the temp score) encoded as AAC. With an overlay, the
picture is re-encoded with text burnt in (timecode bottom left, the cue bottom right)."""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Callable, Iterable

import numpy as np

from scorer.errors import InputError
from scorer.io.files import atomic_path
from scorer.timebase import SAMPLE_RATE

MP4_VIDEO_CODECS = {"h264", "hevc", "mpeg4", "av1", "vp9"}


Overlay = Callable[[int], tuple[str, str]]      # frame index → (bottom-left, bottom-right) text


def burn_in(rgb: np.ndarray, left: str, right: str) -> np.ndarray:
    """The frame (h, w, 3 uint8) with two captions on dark boxes along its bottom edge."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = rgb.shape[:2]
    img = Image.fromarray(rgb)
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(10, h // 22))
    pad = max(2, h // 120)
    for text, anchor_right in ((left, False), (right, True)):
        if not text:
            continue
        x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
        tw, th = x1 - x0, y1 - y0
        x = w - tw - 3 * pad if anchor_right else 2 * pad
        y = h - th - 3 * pad
        draw.rectangle((x - pad, y - pad, x + tw + pad, y + th + pad + y0), fill=(0, 0, 0))
        draw.text((x - x0, y), text, font=font, fill=(255, 255, 255))
    return np.asarray(img)


def write_preview(cut_path: str | os.PathLike, audio_blocks: Iterable[np.ndarray],
                  out_path: str | os.PathLike, *, sample_rate: int = SAMPLE_RATE,
                  overlay: Overlay | None = None,
                  progress: Callable[[str, float, float], None] | None = None) -> None:
    """Mux the cut's video with (2, n) float audio blocks starting at the first frame.
    overlay: burn in text per frame (the picture is then re-encoded)."""
    import av

    src = _open_cut(cut_path, "preview")
    with src, atomic_path(out_path, suffix=".mp4") as tmp:
        vin = src.streams.video[0]
        remux = vin.codec_context.name in MP4_VIDEO_CODECS and overlay is None
        frame_no = 0
        with av.open(str(tmp), "w", format="mp4") as dst:
            if remux:
                vout = dst.add_stream_from_template(vin)
            else:
                rate = vin.average_rate or Fraction(24)
                vout = dst.add_stream("libx264", rate=rate)
                vout.width, vout.height = vin.codec_context.width, vin.codec_context.height
                vout.pix_fmt = "yuv420p"
                vout.options = {"crf": "20", "preset": "veryfast"}
            aout = dst.add_stream("aac", rate=sample_rate, layout="stereo")
            aout.bit_rate = 192_000
            audio = _AudioWriter(dst, aout, audio_blocks, sample_rate)
            first_pts = None
            for packet in src.demux(vin):
                if packet.dts is None and packet.pts is None and (remux or packet.size):
                    continue          # (re-encoding: the empty last packet flushes the decoder)
                # Interleave: audio up to a second past this picture, so neither stream
                # piles up in the muxer's buffers on a long cut.
                audio.write_until(float((packet.pts or 0) * vin.time_base) + 1.0)
                if remux:
                    if first_pts is None:
                        first_pts = packet.pts if packet.pts is not None else 0
                    # Picture starts at 0 like the audio: sample 0 is the first frame.
                    if packet.pts is not None:
                        packet.pts -= first_pts
                    if packet.dts is not None:
                        packet.dts -= first_pts
                    packet.stream = vout
                    dst.mux(packet)
                else:
                    for frame in packet.decode():
                        if overlay is not None:
                            left, right = overlay(frame_no)
                            frame = av.VideoFrame.from_ndarray(burn_in(frame.to_ndarray(format="rgb24"),
                                                                       left, right), format="rgb24")
                        frame_no += 1
                        frame.pts = None
                        for out_packet in vout.encode(frame):
                            dst.mux(out_packet)
            if not remux:
                for out_packet in vout.encode(None):
                    dst.mux(out_packet)
            audio.finish()
    if progress:
        progress("preview", 1, 1)


def _open_cut(cut_path: str | os.PathLike, purpose: str):
    """The cut as a PyAV container, or an InputError naming it and what it was for."""
    import av

    try:
        return av.open(str(cut_path))
    except (av.FFmpegError, OSError) as exc:
        raise InputError(f"cannot open for the {purpose} ({exc})", path=str(cut_path))


class _AudioWriter:
    """Encodes (2, n) float blocks to an audio stream on demand, in time order."""

    def __init__(self, dst, stream, blocks: Iterable[np.ndarray], sample_rate: int):
        self.dst, self.stream, self.blocks = dst, stream, iter(blocks)
        self.sample_rate, self.pts = sample_rate, 0

    def write_until(self, t_s: float) -> None:
        import av

        while self.pts < t_s * self.sample_rate:
            block = next(self.blocks, None)
            if block is None:
                return
            data = np.ascontiguousarray(np.clip(block, -1, 1), dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(data, format="fltp", layout="stereo")
            frame.sample_rate = self.sample_rate
            frame.pts = self.pts
            self.pts += data.shape[1]
            for packet in self.stream.encode(frame):
                self.dst.mux(packet)

    def finish(self) -> None:
        self.write_until(float("inf"))
        for packet in self.stream.encode(None):
            self.dst.mux(packet)


def write_excerpt(cut_path: str | os.PathLike, start_s: float, end_s: float, audio: np.ndarray,
                  out_path: str | os.PathLike, *, sample_rate: int = SAMPLE_RATE, max_width: int = 960) -> None:
    """A short clip of the cut's picture over [start_s, end_s) with `audio` (2, n) under it,
    sample 0 at start_s: for watching one take against picture (the studio's A/B). The
    picture is re-encoded (at most max_width wide, for speed) from the keyframe before
    start_s on; frames before start_s are decoded and dropped."""
    import av

    src = _open_cut(cut_path, "excerpt")
    with src, atomic_path(out_path, suffix=".mp4") as tmp:
        vin = src.streams.video[0]
        # Times are on the cut's timeline, whose 0 is its first frame (not always pts 0).
        first = next((f.pts for f in src.decode(vin) if f.pts is not None), 0)
        zero_s = float(first * vin.time_base)
        start_s, end_s = start_s + zero_s, end_s + zero_s
        src.seek(first, stream=vin, backward=True, any_frame=False)
        w, h = vin.codec_context.width, vin.codec_context.height
        if w > max_width:
            w, h = max_width, int(round(h * max_width / w / 2)) * 2
        with av.open(str(tmp), "w", format="mp4") as dst:
            rate = vin.average_rate or Fraction(24)
            vout = dst.add_stream("libx264", rate=rate)
            vout.width, vout.height, vout.pix_fmt = w, h, "yuv420p"
            vout.options = {"crf": "23", "preset": "veryfast"}
            aout = dst.add_stream("aac", rate=sample_rate, layout="stereo")
            aout.bit_rate = 160_000
            blocks = (audio[:, i:i + sample_rate] for i in range(0, audio.shape[1], sample_rate))
            writer = _AudioWriter(dst, aout, blocks, sample_rate)
            if start_s > 0:
                src.seek(int(start_s / vin.time_base), stream=vin, backward=True, any_frame=False)
            for frame in src.decode(vin):
                if frame.pts is None:
                    continue
                t = float(frame.pts * vin.time_base)
                if t < start_s - 1e-6:
                    continue
                if t >= end_s - 1e-6:
                    break
                writer.write_until(t - start_s + 1.0)
                frame = frame.reformat(width=w, height=h, format="yuv420p")
                frame.pts = None
                for packet in vout.encode(frame):
                    dst.mux(packet)
            for packet in vout.encode(None):
                dst.mux(packet)
            writer.finish()
