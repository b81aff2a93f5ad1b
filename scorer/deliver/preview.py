"""preview.mp4: the cut's picture (copied, not re-encoded, when MP4 can carry it) with the
programme sound (its own audio + the temp score) encoded as AAC. With an overlay, the
picture is re-encoded with text burnt in (timecode bottom left, the cue bottom right).

AAC does not keep true peaks: its quantisation noise rides on the programme's limited
transients, and the decoded sound peaks higher than the PCM that went in. Measured with
FFmpeg's AAC at 192 kb/s on transient-heavy test programmes limited to −1.2 / −2.2 dBTP:
+0.1 to +0.9 dB over 5–6 s, +0.9 to +1.6 dB over 60 s (the more transients, the likelier
a large one), and erratic on dense full-band noise limited 10 dB (+1.5 to +5.7 dB, not
falling as the limit falls); in the issue's two cuts +0.5 and +1.2 dB. Where the limiter
is idle, on speech and noise, its low-pass often lowers the peaks instead. So the delivered
levels are measured on the decoded AAC (write_preview_under_ceiling), and where its true
peak passes the spec's ceiling the sound is encoded again from a programme limited that
much lower — the picture's packets copied from the encode before, not decoded again.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from scorer.errors import InputError
from scorer.io.files import atomic_path
from scorer.timebase import SAMPLE_RATE, n_samples, sample_to_s

MP4_VIDEO_CODECS = {"h264", "hevc", "mpeg4", "av1", "vp9"}
AAC_BIT_RATE = 192_000
MEASURED_ON = "decoded AAC of preview.mp4"
# The first encode's programme is limited this far under the ceiling, about AAC's typical
# overshoot on limited transients (above): at 1 dB, 7 of 12 short test programmes that
# reach the limiter took two or three encodes, and the demo's overshoot measured −0.04 to
# +1.22 dB from one render to the next (a second encode: a second of its deliver); at
# 1.5, none did. It costs only the peaks the limiter already takes down, a little more:
# 0.05–0.4 LU of loudness on those test programmes, whose every transient the limiter
# works on.
AAC_HEADROOM_DB = 1.5
# A re-encode is limited lower by the overshoot just measured plus this much: the
# overshoot moves with the limited waveform (by +0.2 to +0.35 dB from one pass to the next
# on the 60 s programmes), so the next pass is not marginal.
RELIMIT_MARGIN_DB = 0.3
MAX_ENCODES = 4
_MEASURE_BLOCK_SAMPLES = n_samples(1.0)   # AAC decodes 1024-sample frames: meter a second at a time


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
            aout.bit_rate = AAC_BIT_RATE
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


@dataclass(frozen=True)
class Encode:
    """One encode of the preview's sound: the ceiling its programme was limited to, the
    true peak and integrated loudness of that programme (PCM, as it went into the
    encoder) and of the AAC decoded from the file."""
    limited_to_dbtp: float
    pcm_true_peak_dbtp: float
    pcm_integrated_lufs: float
    true_peak_dbtp: float
    integrated_lufs: float

    @property
    def aac_overshoot_db(self) -> float:
        """How far the decoded AAC peaks over the PCM that went in."""
        return self.true_peak_dbtp - self.pcm_true_peak_dbtp


@dataclass(frozen=True)
class PreviewLevels:
    """The preview's sound as delivered, measured on its decoded AAC: every encode it
    took, the last being the one in the file."""
    ceiling_dbtp: float
    encodes: tuple[Encode, ...]
    loudness_gate: str = "integrated"          # how integrated_lufs was gated (mix.Mix.loudness_gate)

    @property
    def true_peak_dbtp(self) -> float:
        return self.encodes[-1].true_peak_dbtp

    @property
    def integrated_lufs(self) -> float:
        return self.encodes[-1].integrated_lufs

    @property
    def limited_to_dbtp(self) -> float:
        return self.encodes[-1].limited_to_dbtp

    @property
    def meets_ceiling(self) -> bool:
        return self.true_peak_dbtp <= self.ceiling_dbtp

    def to_dict(self) -> dict:
        """As report.json gives it (dB figures to 0.01)."""
        return {"measured_on": MEASURED_ON, "codec": f"AAC {AAC_BIT_RATE // 1000} kb/s",
                "true_peak_dbtp": round(self.true_peak_dbtp, 2),
                "integrated_lufs": round(self.integrated_lufs, 2), "loudness_measured": self.loudness_gate,
                "ceiling_dbtp": self.ceiling_dbtp, "limited_to_dbtp": round(self.limited_to_dbtp, 2),
                "encodes": len(self.encodes), "meets_ceiling": self.meets_ceiling,
                "passes": [{"limited_to_dbtp": round(e.limited_to_dbtp, 2),
                            "pcm_true_peak_dbtp": round(e.pcm_true_peak_dbtp, 2),
                            "pcm_integrated_lufs": round(e.pcm_integrated_lufs, 2),
                            "decoded_true_peak_dbtp": round(e.true_peak_dbtp, 2),
                            "aac_overshoot_db": round(e.aac_overshoot_db, 2),
                            "decoded_integrated_lufs": round(e.integrated_lufs, 2)} for e in self.encodes]}


def write_preview_under_ceiling(cut_path: str | os.PathLike, programme: Callable[[float], Iterable[np.ndarray]],
                                out_path: str | os.PathLike, *, ceiling_dbtp: float,
                                gate_s: Sequence[tuple[float, float]] | None = None,
                                loudness_gate: str = "integrated", sample_rate: int = SAMPLE_RATE,
                                overlay: Overlay | None = None,
                                progress: Callable[[str, float, float], None] | None = None) -> PreviewLevels:
    """write_preview() with the sound's true peak, measured on the decoded AAC, held under
    ceiling_dbtp.

    programme(limit_dbtp): the (2, n) programme blocks limited to limit_dbtp, a fresh
    stream on each call. It is called once per encode: first at ceiling − AAC_HEADROOM_DB;
    while the decoded true peak is over the ceiling (up to MAX_ENCODES in all), again
    lower by the overshoot and RELIMIT_MARGIN_DB, and only the sound is encoded again (the
    picture's packets are copied from the encode before). gate_s: (start_s, end_s) spans
    the integrated loudness is measured over (dialogue gating, as the spec asks), named
    by loudness_gate. Every encode is written beside out_path and the last one moved onto
    it: out_path never holds a half-written file, nor one over the ceiling that a later
    pass would have fixed. Returns every encode's figures; meets_ceiling says whether the
    last one made it.
    """
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    encodes: list[Encode] = []
    limit_dbtp = ceiling_dbtp - AAC_HEADROOM_DB
    with tempfile.TemporaryDirectory(prefix=f".{out_path.name}.", dir=out_path.parent) as work:
        source, current = Path(cut_path), None
        for k in range(MAX_ENCODES):
            current = Path(work) / f"encode-{k + 1}.mp4"
            pcm = _LevelTap(programme(limit_dbtp), sample_rate)
            # From the second encode on, the source is the previous encode: its picture
            # (burnt in already, if it was) is copied, and only the sound is encoded again.
            write_preview(source, pcm, current, sample_rate=sample_rate, overlay=overlay if k == 0 else None)
            true_peak_dbtp, lufs = decoded_levels(current, sample_rate=sample_rate, gate_s=gate_s)
            encodes.append(Encode(limit_dbtp, pcm.meter.true_peak_dbtp(), pcm.meter.integrated_lufs(only_s=gate_s),
                                  true_peak_dbtp, lufs))
            if true_peak_dbtp <= ceiling_dbtp:
                break
            limit_dbtp -= true_peak_dbtp - ceiling_dbtp + RELIMIT_MARGIN_DB
            if source != Path(cut_path):
                source.unlink()
            source = current
        os.replace(current, out_path)        # (write_preview fsynced it)
    if progress:
        progress("preview", 1, 1)
    return PreviewLevels(ceiling_dbtp=ceiling_dbtp, encodes=tuple(encodes), loudness_gate=loudness_gate)


def decoded_levels(path: str | os.PathLike, *, sample_rate: int = SAMPLE_RATE,
                   gate_s: Sequence[tuple[float, float]] | None = None) -> tuple[float, float]:
    """(true peak dBTP, integrated LUFS) of a file's first audio stream, stereo at
    sample_rate, as it decodes: BS.1770 with the same 4× oversampled true peak as the
    programme's own figures (mix.loudness.LoudnessMeter), fed a second at a time, so
    memory stays flat for a feature. gate_s: loudness over these spans only."""
    import av

    from scorer.mix.loudness import LoudnessMeter

    meter = LoudnessMeter(sample_rate, 2)
    with av.open(str(path)) as c:
        if not c.streams.audio:
            raise ValueError(f"{path} has no audio stream to measure")
        stream = c.streams.audio[0]
        pending: list[np.ndarray] = []
        have = 0
        for frame in c.decode(stream):
            # The preview's own stream (stereo AAC at the programme's rate) or a bug:
            # resampling here would measure something other than what plays.
            if frame.sample_rate != sample_rate or frame.layout.nb_channels != 2 or not frame.format.is_planar:
                raise ValueError(f"{path}: expected planar stereo audio at {sample_rate} Hz, got "
                                 f"{frame.format.name} {frame.layout.name} at {frame.sample_rate} Hz")
            pending.append(frame.to_ndarray())
            have += frame.samples
            if have >= _MEASURE_BLOCK_SAMPLES:
                meter.add(np.concatenate(pending, axis=1))
                pending, have = [], 0
        if pending:
            meter.add(np.concatenate(pending, axis=1))
    return meter.true_peak_dbtp(), meter.integrated_lufs(only_s=gate_s)


class _LevelTap:
    """The blocks passed through unchanged, measured on the way (`meter`): the PCM that
    goes into the encoder, to set beside what comes out of it."""

    def __init__(self, blocks: Iterable[np.ndarray], sample_rate: int):
        from scorer.mix.loudness import LoudnessMeter

        self._blocks = iter(blocks)
        self.meter = LoudnessMeter(sample_rate, 2)

    def __iter__(self) -> Iterator[np.ndarray]:
        for block in self._blocks:
            self.meter.add(block)
            yield block


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

        while sample_to_s(self.pts, self.sample_rate) < t_s:
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
