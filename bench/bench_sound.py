"""Benchmark: how the delivered score sounds, measured the way issue 16 asks.

    python bench/bench_sound.py [--tree DIR] [--keep DIR]

Scores two cuts with the scorer found in --tree (default: this checkout; point it at an
older checkout for a before/after table): the shipped demo (examples/demo.mp4, 23.976,
dialogue spoken by espeak-ng at a drama's level) and a generated documentary-style cut
with continuous, quiet speech (espeak-ng lines at −20 dB, 25 fps). Scoring runs in a
subprocess with PYTHONPATH=tree; everything is measured here, on the delivered files, by
this checkout's meters:

- spectral tilt of mix.wav: power spectral density averaged per octave band (125 Hz–8 kHz),
  least-squares slope in dB/octave (pink noise: −3; white: 0);
- each stem's L/R correlation (over its non-silent samples);
- accent at every scored hit: mix.wav's mean square over the 150 ms from the hit against
  the half second before it, in dB;
- music under every line: the cut's own sound (decoded from the cut, at the report's
  production gain) and mix.wav, both K-weighted over the line (BS.1770, ungated), in dB;
- the preview's true peak measured on its decoded AAC (4× oversampled, BS.1770);
- speed: render + mix + deliver (the report's timings, preview encoding included) as a
  multiple of real time, and the FluidSynth command-line program rendering the same
  score.mid with the same SoundFont in the same run (`fluidsynth -ni -F out.wav -r 48000`),
  as the peer.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from scorer.deliver.measure import accent_db  # noqa: E402
from scorer.mix.loudness import KFilter, LoudnessMeter  # noqa: E402
from scorer.timebase import SAMPLE_RATE  # noqa: E402

OCTAVES_HZ = (125, 250, 500, 1000, 2000, 4000, 8000)


def quiet_speech_cut(path: Path) -> None:
    """A 40 s, 25 fps cut of six shots with nearly continuous quiet talk."""
    sys.path.insert(0, str(REPO / "tests"))
    import media

    loud = media.espeak
    media.espeak = lambda text, **kw: 0.1 * loud(text, **kw)           # −20 dB: a quiet interview
    lines = ["We started the workshop in the spring of that year.",
             "Every piece of wood here has its own history.",
             "My father taught me to listen to the grain.",
             "You cannot hurry the glue, it takes the night.",
             "People come for a chair and stay for the stories.",
             "Some days nothing works, and that is part of it too.",
             "The best tools are the ones you made yourself.",
             "We sand it by hand, always by hand.",
             "When it is finished, you can feel it is right."]
    try:
        media.make_cut(path, fps=Fraction(25), shot_frames=(150, 175, 160, 190, 170, 155),
                       speech_at=tuple((1.0 + 4.3 * i, t) for i, t in enumerate(lines)))
    finally:
        media.espeak = loud


def score(tree: Path, cut: Path, out: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; from scorer.cli import main; sys.exit(main())",
                    "score", str(cut), "-o", str(out)], check=True, env=env, cwd=tree,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def read_wav(path: Path) -> np.ndarray:
    import soundfile as sf

    y, rate = sf.read(str(path), dtype="float32", always_2d=True)
    assert rate == SAMPLE_RATE
    return y.T


def tilt_db_per_octave(y: np.ndarray) -> float:
    from scipy.signal import welch

    f, psd = welch(y.mean(axis=0), fs=SAMPLE_RATE, nperseg=8192)
    levels = [10 * np.log10(np.mean(psd[(f >= fc / np.sqrt(2)) & (f < fc * np.sqrt(2))])) for fc in OCTAVES_HZ]
    return float(np.polyfit(np.log2(OCTAVES_HZ), levels, 1)[0])


def lr_correlation(y: np.ndarray) -> float | None:
    loud = np.abs(y).max(axis=0) > 1e-4
    if loud.sum() < SAMPLE_RATE // 10:
        return None
    return float(np.corrcoef(y[0, loud], y[1, loud])[0, 1])


def k_level(y: np.ndarray, a: int, b: int) -> float:
    k = KFilter(SAMPLE_RATE, 2)(y[:, max(a - SAMPLE_RATE, 0):b])      # a second of filter run-in
    seg = k[:, a - max(a - SAMPLE_RATE, 0):]
    ms = float(np.sum(np.mean(seg ** 2, axis=1)))
    return -0.691 + 10 * np.log10(ms) if ms > 1e-12 else float("-inf")


def decoded_audio(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        res = av.AudioResampler(format="fltp", layout="stereo", rate=SAMPLE_RATE)
        chunks = [f.to_ndarray() for frame in c.decode(stream) for f in res.resample(frame)]
    return np.concatenate(chunks, axis=1).astype(np.float32)


def true_peak_dbtp(y: np.ndarray) -> float:
    meter = LoudnessMeter(SAMPLE_RATE, 2)
    meter.add(y)
    return meter.true_peak_dbtp()


def fluidsynth_s(mid: Path, soundfont: str, tmp: Path) -> float | None:
    if shutil.which("fluidsynth") is None:
        return None
    t = time.perf_counter()
    subprocess.run(["fluidsynth", "-ni", "-F", str(tmp / "fs.wav"), "-r", "48000", soundfont, str(mid)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def measure(cut: Path, out: Path, tmp: Path) -> dict:
    report = json.loads((out / "report.json").read_text())
    music = read_wav(out / "mix.wav")
    duration_s = music.shape[1] / SAMPLE_RATE
    stems = {p.stem.split("_")[-2]: lr_correlation(read_wav(p)) for p in sorted((out / "stems").glob("*_ALL_*.wav"))}
    accents = [accent_db(music, SAMPLE_RATE, h["t_s"]) for h in report["hits"] if h.get("scored")]
    from scorer.io.video import decode_audio
    own = decode_audio(cut, sample_rate=SAMPLE_RATE, mono=False)
    own = np.repeat(own, 2, axis=0) if own.shape[0] == 1 else own
    own = own[:, :music.shape[1]] * np.float32(10 ** (report["loudness"]["production_gain_db"] / 20))
    under = []
    for line in report["dialogue"]:
        a, b = round(line["start_s"] * SAMPLE_RATE), round(line["end_s"] * SAMPLE_RATE)
        under.append(k_level(own, a, b) - k_level(music, a, b))
    preview = out / "preview.mp4"
    tp = true_peak_dbtp(decoded_audio(preview)) if preview.exists() else None
    t = report["timings_s"]
    rmd_s = t.get("render", 0) + t.get("mix", 0) + t.get("deliver", 0)
    fs = fluidsynth_s(out / "score.mid", report["render"].get("soundfont") or
                      (report["render"].get("backends", {}).get("soundfont", {}) or {}).get("soundfont"), tmp)
    return {"tilt_db_oct": tilt_db_per_octave(music), "stems_lr": stems, "accents_db": accents,
            "under_db": under, "preview_tp_dbtp": tp, "report_tp_dbtp": report["loudness"]["programme_true_peak_dbtp"],
            "rmd_x_realtime": duration_s / rmd_s if rmd_s else None,
            "fluidsynth_x_realtime": duration_s / fs if fs else None}


def show(name: str, m: dict) -> None:
    def span(xs):
        xs = [x for x in xs if x is not None and np.isfinite(x)]
        return "—" if not xs else f"min {min(xs):.1f} / median {np.median(xs):.1f} / max {max(xs):.1f}"

    print(f"== {name}")
    print(f"  spectral tilt of mix.wav: {m['tilt_db_oct']:.2f} dB/oct (125 Hz–8 kHz; pink −3)")
    print("  stems' L/R correlation: " + ", ".join(f"{g} {c:.2f}" if c is not None else f"{g} —"
                                                   for g, c in m["stems_lr"].items()))
    print(f"  accent at {len(m['accents_db'])} scored hits: {span(m['accents_db'])} dB "
          f"({sum(a >= 8 for a in m['accents_db'])} ≥ 8 dB)")
    print(f"  music under {len(m['under_db'])} lines: {span(m['under_db'])} dB "
          f"({sum(10 <= u <= 15 for u in m['under_db'] if np.isfinite(u))} in 10–15)")
    print(f"  preview true peak after AAC: {m['preview_tp_dbtp']:.2f} dBTP "
          f"(report says {m['report_tp_dbtp']:.2f} for the PCM programme)")
    rt, fs = m["rmd_x_realtime"], m["fluidsynth_x_realtime"]
    print(f"  render + mix + deliver: {rt:.1f}× real time; fluidsynth CLI on score.mid: "
          + (f"{fs:.1f}× real time (ratio {rt / fs:.2f})" if fs else "not installed"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, default=REPO, help="the checkout whose scorer is measured")
    ap.add_argument("--keep", type=Path, help="keep the scored outputs here")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sound-"))
    keep = args.keep or tmp
    try:
        quiet = tmp / "quiet-talk.mp4"
        quiet_speech_cut(quiet)
        for name, cut in (("demo", REPO / "examples" / "demo.mp4"), ("quiet documentary talk", quiet)):
            out = keep / name.split()[0]
            shutil.rmtree(out, ignore_errors=True)
            score(args.tree.resolve(), cut, out)
            show(f"{name} (scorer from {args.tree})", measure(cut, out, tmp))
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
