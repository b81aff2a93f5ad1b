"""Test media with known answers, generated with PyAV (no binaries in the repo).

make_cut() writes a cut whose shot boundaries, flash frames, click times and speech spans
are exactly known, so analysis results can be checked to the frame and the millisecond.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

SR = 48_000
VFR_TIME_BASE = Fraction(1, 90_000)
# Vowel formants F1–F3 (Hz) of a, i, u, e, o: what makes the synthetic voice read as speech.
VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410))


def _texture(h: int, w: int, seed: int, colour_seed: int | None = None) -> np.ndarray:
    """A distinct, seeded RGB texture (float 0…255) with mean luma 115 for every seed, so
    consecutive shots differ by content and colour but not by brightness. colour_seed
    (default: seed) picks the palette: two shots with one colour_seed differ only in texture."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft2(rng.standard_normal((h, w)))
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    spec *= np.exp(-(fx ** 2 + fy ** 2) * rng.uniform(15, 60) ** 2)
    tex = np.fft.irfft2(spec, s=(h, w))
    tex = (tex - tex.mean()) / (tex.std() + 1e-9)
    colour = np.random.default_rng(1000 + (seed if colour_seed is None else colour_seed)).uniform(0.3, 1.0, 3)
    img = 115 + 60 * tex[..., None] * colour[None, None, :] + (colour - colour.mean()) * 60
    luma = img @ np.array([0.299, 0.587, 0.114])
    return np.clip(img + (115 - luma.mean()), 0, 255)


def speech_like(duration_s: float, *, seed: int = 0, sample_rate: int = SR) -> np.ndarray:
    """A synthetic voice: syllables at about 4 Hz, each a harmonic tone on a gliding pitch
    (105–135 Hz, rise–fall, declining) shaped by gliding vowel formants, with a short noise
    burst as a consonant. WebRTC's VAD takes it for speech (checked by the tests).
    float32 mono (n,), peak 0.4, exactly duration_s long, sound from the first sample on."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    out = np.zeros(n)
    base_f0 = rng.uniform(105, 135)
    t = 0.0
    while t < duration_s - 0.1:
        syl = min(rng.uniform(0.14, 0.28), duration_s - t)
        i0, m = int(t * sample_rate), int(syl * sample_rate)
        tt = np.arange(m) / sample_rate
        f0 = base_f0 * (1 - 0.15 * t / duration_s) * (1 + 0.12 * np.sin(np.pi * tt / syl))
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        v0, v1 = VOWELS[rng.integers(len(VOWELS))], VOWELS[rng.integers(len(VOWELS))]
        sig = np.zeros(m)
        for k in range(1, int(4000 / f0.max()) + 1):
            amp = sum(0.5 ** j / (1 + ((k * f0 - (v0[j] + (v1[j] - v0[j]) * tt / syl)) / (80 + 40 * j)) ** 2)
                      for j in range(3))
            sig += amp / np.sqrt(k) * np.sin(k * phase)
        sig *= np.sin(np.pi * tt / syl) ** 0.6
        c = int(0.03 * sample_rate)
        sig[:c] += np.convolve(rng.standard_normal(c), [1, -1], mode="same") * np.hanning(c) * 0.15 * np.abs(sig).max()
        out[i0:i0 + m] += sig
        t += syl + rng.uniform(0.03, 0.09)
    return (0.4 * out / (np.abs(out).max() + 1e-9)).astype(np.float32)


def espeak(text: str, *, voice: str = "en-us+m3") -> np.ndarray:
    """espeak-ng speaking `text`, float32 mono at 48 kHz, peak 0.5 (needs /usr/bin/espeak-ng)."""
    import av

    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "line.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "160", "-w", str(wav), text], check=True)
        with av.open(str(wav)) as f:
            res = av.AudioResampler(format="flt", layout="mono", rate=SR)
            parts = [r.to_ndarray()[0] for fr in f.decode(audio=0) for r in res.resample(fr)]
            parts += [r.to_ndarray()[0] for r in res.resample(None)]
    y = np.concatenate(parts).astype(np.float32)
    return 0.5 * y / (np.abs(y).max() + 1e-9)


def click(n_s: float = 0.08) -> np.ndarray:
    """A sharp transient: a noise burst with an instant attack and fast decay."""
    rng = np.random.default_rng(1)
    t = np.arange(int(n_s * SR)) / SR
    return (rng.standard_normal(len(t)) * np.exp(-t * 60)).astype(np.float32)


def vfr_durations(n_frames: int) -> list[int]:
    """Frame durations in VFR_TIME_BASE ticks for a variable-rate cut: runs of 7 frames at
    24 fps and 5 at 30000/1001 (3750 and 3003 ticks)."""
    return [3750 if (i % 12) < 7 else 3003 for i in range(n_frames)]


def make_cut(path: str | Path, *, fps: Fraction = Fraction(24000, 1001),
             shot_frames: tuple[int, ...] = (40, 30, 50, 36), size: tuple[int, int] = (320, 180),
             flash_frames: tuple[int, ...] = (), clicks_s: tuple[float, ...] = (),
             speech_spans_s: tuple[tuple[float, float], ...] = (),
             speech_at: tuple[tuple[float, str], ...] = (), audio: bool = True,
             audio_start_s: float = 0.0, vfr: bool = False, pan_px: float = 1.5,
             preset: str = "superfast", crf: int = 20, timecode: str | None = None) -> dict:
    """Write an H.264/AAC cut and return its known answers:
    {"cuts": [frame…], "cut_times_s": […], "frame_times_s": […], "flashes": [frame…],
     "clicks_s": […], "speech": [(start_s, end_s)…], "n_frames", "duration_s", "fps"}.

    Every shot is its own panning texture at the same mean brightness; shots 1 and 2 share
    a palette (only texture tells them apart). flash_frames become white. Clicks and speech
    are placed at times on the cut's timeline: speech_spans_s are filled with the synthetic
    voice, speech_at (t_s, text) lines are spoken by espeak-ng. audio_start_s > 0 starts the
    audio stream that much after the first frame (its PTS says so). vfr=True gives frames
    the durations of vfr_durations() instead of 1 / fps. preset "superfast" uses B-frames,
    so the first frame's PTS is not the first packet's. timecode: the first frame's
    start timecode (e.g. "01:00:00:00"), written as a timecode track in a MOV.
    """
    import av

    w, h = size
    n_frames = sum(shot_frames)
    if vfr:
        ticks = np.concatenate([[0], np.cumsum(vfr_durations(n_frames))])
        frame_times = [float(t * VFR_TIME_BASE) for t in ticks[:-1]]
        duration_s = float(ticks[-1] * VFR_TIME_BASE)
    else:
        frame_times = [float(Fraction(k) / fps) for k in range(n_frames)]
        duration_s = float(n_frames / fps)
    starts = [int(s) for s in np.cumsum((0,) + tuple(shot_frames))[:-1]]
    travel = int(pan_px * max(shot_frames)) + 2   # a pan never wraps (a wrap is a jump cut)
    spans = []
    # A start timecode is written as a QuickTime timecode track, as editors export it.
    with av.open(str(path), "w", format="mov" if timecode else "mp4") as c:
        v = c.add_stream("libx264", rate=fps)
        if timecode:
            v.metadata["timecode"] = timecode
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"crf": str(crf), "preset": preset, "g": "24"}
        a = c.add_stream("aac", rate=SR, layout="mono") if audio else None
        time_base = VFR_TIME_BASE if vfr else 1 / fps
        if vfr:
            v.codec_context.time_base = VFR_TIME_BASE
            v.time_base = VFR_TIME_BASE
        frame_no = 0
        for shot, n in enumerate(shot_frames):
            # One texture at a time: a long 720p cut would not fit in memory at once.
            tex = _texture(h, w + travel, 11 + shot, colour_seed=1 if shot == 2 else None)
            for i in range(n):
                x = int(i * pan_px)
                img = np.full((h, w, 3), 250.0) if frame_no in flash_frames else tex[:, x:x + w]
                vf = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
                vf.pts = int(ticks[frame_no]) if vfr else frame_no
                vf.time_base = time_base
                for p in v.encode(vf):
                    c.mux(p)
                frame_no += 1
        for p in v.encode(None):
            c.mux(p)
        if a is not None:
            rng = np.random.default_rng(5)
            y = (rng.standard_normal(int(duration_s * SR)) * 0.002).astype(np.float32)
            for t in clicks_s:
                k, i = click(), round(t * SR)
                y[i:i + len(k)] += 0.6 * k[:len(y) - i]
            for j, (s0, s1) in enumerate(speech_spans_s):
                i = round(s0 * SR)
                s = speech_like(s1 - s0, seed=j)
                y[i:i + len(s)] += s[:len(y) - i]
                spans.append((s0, s1))
            for t, text in speech_at:
                s, i = espeak(text), round(t * SR)
                y[i:i + len(s)] += s[:len(y) - i]
                spans.append((t, t + len(s) / SR))
            first = round(audio_start_s * SR)
            af = av.AudioFrame.from_ndarray(np.clip(y[first:], -1, 1)[None, :], format="flt", layout="mono")
            af.sample_rate, af.pts, af.time_base = SR, first, Fraction(1, SR)
            for p in a.encode(af):
                c.mux(p)
            for p in a.encode(None):
                c.mux(p)
    return {"cuts": starts[1:], "cut_times_s": [frame_times[s] for s in starts[1:]],
            "frame_times_s": frame_times, "flashes": list(flash_frames),
            "clicks_s": list(clicks_s), "speech": spans, "n_frames": n_frames,
            "duration_s": duration_s, "fps": fps}


def make_audio_only(path: str | Path, seconds: float = 2.0) -> None:
    """An AAC file in an .mp4 with no picture."""
    import av

    with av.open(str(path), "w", format="mp4") as c:
        a = c.add_stream("aac", rate=SR, layout="mono")
        y = (0.1 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * SR)) / SR)).astype(np.float32)
        af = av.AudioFrame.from_ndarray(y[None, :], format="flt", layout="mono")
        af.sample_rate, af.pts = SR, 0
        for p in a.encode(af):
            c.mux(p)
        for p in a.encode(None):
            c.mux(p)


def make_empty(path: str | Path) -> None:
    Path(path).write_bytes(b"")


def make_text_as_mp4(path: str | Path) -> None:
    """A text file named like a video."""
    Path(path).write_text("<html><body>This is not a video.</body></html>\n")


def truncate(src: str | Path, dst: str | Path, *, keep: float) -> None:
    """Copy the first `keep` share (0…1) of src's bytes to dst: a download cut short."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[:int(len(data) * keep)])


def faststart(src: str | Path, dst: str | Path) -> None:
    """Re-wrap src's streams (no re-encoding) with the index (moov) before the media data,
    as streaming services deliver files: cut short, such a file still opens."""
    import av

    with av.open(str(src)) as i, av.open(str(dst), "w", format="mp4",
                                          options={"movflags": "faststart"}) as o:
        outs = {s.index: o.add_stream_from_template(s) for s in i.streams if s.type in ("video", "audio")}
        for packet in i.demux():
            if packet.dts is not None and packet.stream.index in outs:
                packet.stream = outs[packet.stream.index]
                o.mux(packet)


def scramble_media_data(src: str | Path, dst: str | Path, *, seed: int = 0) -> None:
    """Copy a faststart file with every byte after the index replaced by noise: the file
    opens and lists its frames, none of which decodes."""
    data = bytearray(Path(src).read_bytes())
    k = data.find(b"mdat")
    if k < 0 or data.find(b"moov") > k:
        raise ValueError(f"{src} is not a faststart MP4 (index before media data)")
    data[k + 4:] = np.random.default_rng(seed).integers(0, 256, len(data) - k - 4, dtype=np.uint8).tobytes()
    Path(dst).write_bytes(bytes(data))


def write_frames(path: str | Path, frames: np.ndarray, *, fps: Fraction = Fraction(24000, 1001)) -> None:
    """Encode (n, h, w, 3) uint8 frames as H.264, no audio."""
    import av

    with av.open(str(path), "w", format="mp4") as c:
        v = c.add_stream("libx264", rate=fps)
        v.height, v.width = frames.shape[1:3]
        v.pix_fmt = "yuv420p"
        v.options = {"crf": "16", "preset": "ultrafast"}
        for i, img in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            vf.pts, vf.time_base = i, 1 / fps
            for p in v.encode(vf):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)


# Inputs that are no cut at all, each with the words its error must say: (maker or None
# for a missing file, needle). Shared by the analysis and the CLI tests.
BAD_INPUTS = (
    (None, "file not found"),
    (make_empty, "is empty"),
    (make_text_as_mp4, "not a video file"),
    (make_audio_only, "has no video stream; scorer needs a picture to score"),
)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two (channels, n) signals over their common length
    (1.0: the same waveform at any level)."""
    n = min(a.shape[1], b.shape[1])
    a, b = a[:, :n].ravel(), b[:, :n].ravel()
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def free_port() -> int:
    """A TCP port on loopback nothing listens on (for a studio a test starts)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
