"""Rebuild examples/demo.mp4: a 40 s procedural short with shots of different pace,
dialogue (espeak-ng), impacts and a lightning flash — media with known answers.

    python examples/make_demo.py [OUT.mp4]      (needs: pip install av numpy; apt-get install espeak-ng)

Scenes: dawn (calm, two lines of dialogue) → chase (fast cutting, impacts) → night
(dark, a lightning flash with thunder, a whispered line) → reveal (bright, wide).
The cut list and sound events are printed, so the analysis can be checked against them.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np

FPS = Fraction(24000, 1001)
SR = 48_000
RNG = np.random.default_rng(7)
# (start_s within the 40 s scene sequence, text, espeak-ng voice)
LINES = [(1.2, "We should have left before sunrise.", "en-us+m3"),
         (4.6, "They know where we are. Keep moving.", "en-us+f3"),
         (24.0, "Did you hear that? Stay very quiet.", "en-us+m3")]


def smooth_noise(h: int, w: int, scale: float, seed: int) -> np.ndarray:
    """Cloud-like 0…1 texture (low-passed noise via FFT)."""
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft2(rng.standard_normal((h, w)))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    spec *= np.exp(-((fx ** 2 + fy ** 2) * (scale ** 2)))
    img = np.fft.irfft2(spec, s=(h, w))
    return (img - img.min()) / (np.ptp(img) + 1e-9)


def colourise(tex: np.ndarray, lo: tuple, hi: tuple) -> np.ndarray:
    lo, hi = np.array(lo, np.float32), np.array(hi, np.float32)
    return lo + tex[..., None].astype(np.float32) * (hi - lo)


# Each shot: (n_frames, painter(frame_index_in_shot) -> HxWx3 float 0…255)
def dawn(seed, pan, W, H):
    tex = smooth_noise(H, W * 2, 40, seed)
    sky = colourise(tex, (120, 60, 40), (255, 190, 120))
    yy = np.linspace(0, 1, H)[:, None, None]

    def paint(i):
        x = W // 2 + int(i * pan)   # starts mid-texture: a pan either way never wraps
        img = sky[:, x:x + W] * (0.75 + 0.25 * (1 - yy))
        cy, cx = int(H * 0.62 - i * 0.15), W // 2 + 60
        y, xg = np.ogrid[:H, :W]
        sun = np.exp(-(((y - cy) ** 2 + (xg - cx) ** 2) / (2 * 30.0 ** 2)))[..., None]
        return img + sun * np.array([255, 220, 150]) * 0.8
    return paint


def chase(seed, speed, colour, W, H):
    tex = smooth_noise(H * 2, W * 2, 6, seed)
    base = colourise(tex, tuple(c * 0.2 for c in colour), colour)
    rng = np.random.default_rng(seed)
    boxes = rng.uniform(0, 1, (6, 4))

    def paint(i):
        dx, dy = int(i * speed) % W, int(i * speed * 0.6 + 8 * np.sin(i)) % H
        img = base[dy:dy + H, dx:dx + W].copy()
        for bx, by, bw, bv in boxes:
            x0 = int((bx * W + i * speed * (1 + bv) * 2) % W)
            y0 = int(by * (H - 60))
            img[y0:y0 + 40 + int(bw * 60), x0:x0 + 30 + int(bw * 80)] = (240, 240, 230)
        return img
    return paint


def night(seed, W, H):
    tex = smooth_noise(H, W + 200, 25, seed)
    img0 = colourise(tex, (5, 8, 25), (40, 55, 110))

    def paint(i):
        x = int(i * 0.5)
        return img0[:, x:x + W]
    return paint


def reveal(seed, W, H):
    tex = smooth_noise(H * 2, W * 2, 50, seed)
    img0 = colourise(tex, (60, 130, 200), (255, 245, 200))

    def paint(i):
        z = 1.0 + i * 0.002
        h, w = int(H * 2 / z / 1.6), int(W * 2 / z / 1.6)
        y0, x0 = (H * 2 - h) // 2, (W * 2 - w) // 2
        crop = img0[y0:y0 + h, x0:x0 + w]
        yi = (np.arange(H) * h // H)[:, None]
        xi = (np.arange(W) * w // W)[None, :]
        return crop[yi, xi]
    return paint


def shot_list(W: int, H: int, seed: int = 0):
    s = []
    s += [(130, dawn(1 + seed, 0.6, W, H)), (110, dawn(2 + seed, -0.4, W, H))]   # ~10 s calm
    colours = [(250, 90, 40), (60, 200, 250), (250, 220, 60), (200, 60, 220)]
    lengths = [34, 29, 38, 26, 31, 24, 36, 28, 22, 30]                    # ~12 s fast
    s += [(n, chase(10 + k + seed, 9 + 3 * (k % 3), colours[k % 4], W, H)) for k, n in enumerate(lengths)]
    s += [(120, night(30 + seed, W, H)), (120, night(31 + seed, W, H))]      # ~10 s dark
    s += [(190, reveal(40 + seed, W, H))]                                   # ~8 s bright
    return s


def speak(text: str, *, voice: str, speed: int) -> np.ndarray:
    """espeak-ng saying `text`: float32 mono at 48 kHz."""
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "line.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), text], check=True)
        import av
        with av.open(str(wav)) as f:
            res = av.AudioResampler(format="flt", layout="mono", rate=SR)
            chunks = [r.to_ndarray()[0] for fr in f.decode(audio=0) for r in res.resample(fr)]
            chunks += [r.to_ndarray()[0] for r in res.resample(None)]
    return np.concatenate(chunks).astype(np.float32)


def soundtrack(duration_s: float, cut_times: list[float], lines: list) -> tuple[np.ndarray, list]:
    n = int(duration_s * SR)
    room = np.convolve(RNG.standard_normal(n), np.ones(40) / 40, mode="same").astype(np.float32) * 0.01
    audio = room.copy()
    events = []

    def add(sig, t, gain):
        i = int(t * SR)
        sig = sig[: n - i]
        audio[i:i + len(sig)] += gain * sig

    for t, text, voice in lines:
        sig = speak(text, voice=voice, speed=150)
        add(sig / (np.abs(sig).max() + 1e-9), t, 0.35)
        events.append(("dialogue", t, round(t + len(sig) / SR, 2), text))
    # Impacts on some chase cuts: a thud (decaying low sine + noise click).
    k = np.arange(int(0.35 * SR)) / SR
    thud = (np.sin(2 * np.pi * 55 * k) * np.exp(-k * 12) + RNG.standard_normal(len(k)) * np.exp(-k * 60) * 0.6)
    for t in cut_times[3:12:3]:
        add(thud.astype(np.float32), t, 0.6)
        events.append(("impact", round(t, 3)))
    # Thunder after the flash; whoosh in the reveal.
    thunder = np.convolve(RNG.standard_normal(int(2.5 * SR)), np.ones(200) / 200, mode="same")
    thunder *= np.exp(-np.arange(len(thunder)) / SR * 1.5)
    add(thunder.astype(np.float32) * 3, 28.0, 0.5)
    events.append(("thunder", 28.0))
    return audio, events


def mux_mono_audio(container, stream, audio: np.ndarray) -> None:
    """Encode a whole (n,) float mono signal into `stream` and mux it."""
    import av

    af = av.AudioFrame.from_ndarray(np.clip(audio, -1, 1)[None, :].astype(np.float32),
                                    format="flt", layout="mono")
    af.sample_rate, af.pts = SR, 0
    for p in stream.encode(af):
        container.mux(p)
    for p in stream.encode(None):
        container.mux(p)


def main(out: str, *, width: int = 640, height: int = 360, repeats: int = 1,
         crf: int = 30, preset: str = "slow") -> None:
    """Write the demo; repeats > 1 strings the scenes together again (new textures each
    time) for a longer cut, e.g. the 3-minute 720p benchmark cut."""
    import av

    W, H = width, height
    shots = [s for r in range(repeats) for s in shot_list(W, H, seed=100 * r)]
    n_total = sum(n for n, _ in shots)
    duration_s = float(n_total / FPS)
    starts, f = [], 0
    for n, _ in shots:
        starts.append(f)
        f += n
    cut_times = [float(s / FPS) for s in starts[1:]]
    flash_frame = starts[-2] + int(4.0 * float(FPS))   # lightning in the last night shot
    scene_s = duration_s / repeats
    audio, events = soundtrack(duration_s, cut_times,
                               [(t + r * scene_s, text, v) for r in range(repeats) for t, text, v in LINES])
    with av.open(out, "w", format="mp4") as c:
        v = c.add_stream("libx264", rate=FPS)
        v.width, v.height, v.pix_fmt = W, H, "yuv420p"
        v.options = {"crf": str(crf), "preset": preset, "g": "48"}
        a = c.add_stream("aac", rate=SR, layout="mono")
        a.bit_rate = 64_000
        frame_no = 0
        for n, paint in shots:
            for i in range(n):
                img = paint(i)
                if flash_frame <= frame_no < flash_frame + 2:
                    img = np.full_like(img, 250)
                vf = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8), format="rgb24")
                vf.pts = frame_no
                vf.time_base = 1 / FPS
                for p in v.encode(vf):
                    c.mux(p)
                frame_no += 1
        for p in v.encode(None):
            c.mux(p)
        mux_mono_audio(c, a, audio)
    print(f"wrote {out}: {duration_s:.2f} s, {n_total} frames at {FPS} fps")
    print("cut frames:", starts[1:])
    print("flash frames:", [flash_frame, flash_frame + 1])
    for e in events:
        print("event:", *e)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).with_name("demo.mp4")))
