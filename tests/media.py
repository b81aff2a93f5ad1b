"""Test media with known answers, generated with PyAV (no binaries in the repo).

make_cut() writes a cut whose shot boundaries, flash frames, click times and speech spans
are exactly known, so analysis results can be checked to the frame and the millisecond.
"""
from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
from make_demo import SR, mux_mono_audio, speak  # examples/ is on the test path


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    """A distinct, seeded RGB texture (float 0…255), mean luma ≈ 115 for every seed, so
    consecutive shots differ by content and colour but not by brightness."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft2(rng.standard_normal((h, w)))
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    spec *= np.exp(-(fx ** 2 + fy ** 2) * rng.uniform(15, 60) ** 2)
    tex = np.fft.irfft2(spec, s=(h, w))
    tex = (tex - tex.mean()) / (tex.std() + 1e-9)
    colour = rng.uniform(0.3, 1.0, 3)
    img = 115 + 60 * tex[..., None] * colour[None, None, :] + (colour - colour.mean()) * 60
    luma = img @ np.array([0.299, 0.587, 0.114])
    return np.clip(img + (115 - luma.mean()), 0, 255)


def speech(text: str, *, voice: str = "en-us+m3") -> np.ndarray:
    """espeak-ng speaking `text`, float32 mono at 48 kHz, peak 0.5."""
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    y = speak(text, voice=voice, speed=160)
    return 0.5 * y / (np.abs(y).max() + 1e-9)


def click(n_s: float = 0.08) -> np.ndarray:
    """A sharp transient: a noise burst with an instant attack and fast decay."""
    rng = np.random.default_rng(1)
    t = np.arange(int(n_s * SR)) / SR
    return (rng.standard_normal(len(t)) * np.exp(-t * 60)).astype(np.float32)


def make_cut(path: str | Path, *, fps: Fraction = Fraction(24000, 1001),
             shot_frames: tuple[int, ...] = (40, 30, 50, 36), size: tuple[int, int] = (320, 180),
             flash_frames: tuple[int, ...] = (), clicks_s: tuple[float, ...] = (),
             speech_at: tuple[tuple[float, str], ...] = (), audio: bool = True,
             pan_px: float = 1.5) -> dict:
    """Write an H.264/AAC cut; returns the known answers:
    {"cuts": [frame…], "flashes": [frame…], "clicks_s": […], "speech": [(start_s, end_s)…],
     "n_frames", "duration_s", "fps"}."""
    import av

    w, h = size
    n_frames = sum(shot_frames)
    duration_s = float(n_frames / fps)
    starts = list(np.cumsum((0,) + tuple(shot_frames))[:-1])
    travel = int(pan_px * max(shot_frames)) + 2   # wide enough that a pan never wraps (a wrap is a jump cut)
    textures = [_texture(h, w + travel, 11 + i) for i in range(len(shot_frames))]
    spans = []
    with av.open(str(path), "w", format="mp4") as c:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"crf": "18", "preset": "ultrafast", "g": "24"}
        a = c.add_stream("aac", rate=SR, layout="mono") if audio else None
        frame_no = 0
        for shot, (n, tex) in enumerate(zip(shot_frames, textures)):
            for i in range(n):
                x = int(i * pan_px)
                img = tex[:, x:x + w]
                if frame_no in flash_frames:
                    img = np.full_like(img, 250)
                vf = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
                vf.pts, vf.time_base = frame_no, 1 / fps
                for p in v.encode(vf):
                    c.mux(p)
                frame_no += 1
        for p in v.encode(None):
            c.mux(p)
        if a is not None:
            rng = np.random.default_rng(5)
            y = (rng.standard_normal(int(duration_s * SR)) * 0.002).astype(np.float32)
            for t in clicks_s:
                k = click()
                i = round(t * SR)
                y[i:i + len(k)] += 0.6 * k[:len(y) - i]
            for t, text in speech_at:
                s = speech(text)
                i = round(t * SR)
                y[i:i + len(s)] += s[:len(y) - i]
                spans.append((t, t + len(s) / SR))
            mux_mono_audio(c, a, y)
    return {"cuts": [int(s) for s in starts[1:]], "flashes": list(flash_frames),
            "clicks_s": list(clicks_s), "speech": spans, "n_frames": n_frames,
            "duration_s": duration_s, "fps": fps}


def make_audio_only(path: str | Path, seconds: float = 2.0) -> None:
    import av

    with av.open(str(path), "w", format="mp4") as c:
        a = c.add_stream("aac", rate=SR, layout="mono")
        mux_mono_audio(c, a, 0.1 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * SR)) / SR))


def make_text_as_mp4(path: str | Path) -> None:
    Path(path).write_text("<html><body>This is not a video.</body></html>\n")
