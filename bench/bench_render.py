"""Benchmark: render + mix + deliver for a 3-minute and a 20-minute cue sheet.

    python bench/bench_render.py

Each run happens in its own process, so its peak memory (ru_maxrss) is its own. Cue sheets
are generated (cues of 20–90 s with hits, gaps between, a line of dialogue now and then),
composed with seed 1, then rendered with the SoundFont backend, mixed to EBU R128 and
delivered (no preview, no production audio). Prints each run's time as a multiple of real
time and the 20/3-minute peak-memory ratio. The peer, measured in the same run: the
FluidSynth command-line program rendering the same score.mid with the same SoundFont
(`fluidsynth -ni -F out.wav -r 48000 SF2 score.mid`, Debian package fluidsynth).
"""
from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent


def make_sheet(minutes: float, seed: int = 3):
    import numpy as np

    from scorer.compose.presets import load_presets
    from scorer.timebase import frame_to_s, nearest_frame
    from scorer.types import Cue, CueSheet, Hit, Source, Span

    fps = Fraction(24000, 1001)
    names = sorted(load_presets())
    rng = np.random.default_rng(seed)
    total = minutes * 60.0
    cues, dialogue, t, k = [], [], 2.0, 1
    while t < total - 25:
        dur = float(rng.uniform(20, 90))
        end = min(t + dur, total - 1)
        s, e = frame_to_s(nearest_frame(t, fps), fps), frame_to_s(nearest_frame(end, fps), fps)
        hits = []
        h = s + 3.0
        while h < e - 3.0:
            f = nearest_frame(h, fps)
            hits.append(Hit(frame_to_s(f, fps), f, float(rng.uniform(0.3, 1.0)), "cut", True))
            h += float(rng.uniform(2.5, 9.0))
        curve = tuple((s + (e - s) * i / 4, float(rng.uniform(0.2, 0.9))) for i in range(5))
        cues.append(Cue(f"1M{k}", s, e, names[int(rng.integers(len(names)))], 0.0, 0.0, curve, tuple(hits)))
        if rng.random() < 0.5:
            a = s + (e - s) * 0.4
            dialogue.append(Span(a, a + 4.0))
        k += 1
        t = end + float(rng.uniform(0, 8))
    src = Source("bench.mov", fps, total, nearest_frame(total, fps))
    return CueSheet(src, (), tuple(dialogue), tuple(cues))


def child(minutes: float, out: str) -> None:
    """One run: compose, render, mix, deliver; prints JSON with timings and peak memory."""
    import scorer
    from scorer.deliver.midi import midi_bytes

    sheet = make_sheet(minutes)
    score = scorer.compose(sheet, seed=1)
    t0 = time.perf_counter()
    stems = scorer.render(score, backend="soundfont")
    t1 = time.perf_counter()
    mixed = scorer.mix(stems, sheet, spec="ebu")
    t2 = time.perf_counter()
    scorer.deliver(score, mixed, sheet, out, preview=False)
    t3 = time.perf_counter()
    Path(out, "bench.mid").write_bytes(midi_bytes(score))
    print(json.dumps({"minutes": minutes, "render_s": t1 - t0, "mix_s": t2 - t1, "deliver_s": t3 - t2,
                      "total_s": t3 - t0, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as d:
        for minutes in (3.0, 20.0):
            out = Path(d) / f"out{int(minutes)}"
            r = subprocess.run([sys.executable, __file__, "--child", str(minutes), str(out)],
                               capture_output=True, text=True, check=True)
            results[minutes] = json.loads(r.stdout.strip().splitlines()[-1])
            x = results[minutes]
            print(f"{minutes:4.0f} min: render {x['render_s']:.1f} s, mix {x['mix_s']:.1f} s, deliver "
                  f"{x['deliver_s']:.1f} s = {x['total_s']:.1f} s ({minutes * 60 / x['total_s']:.1f}x real time); "
                  f"peak memory {x['peak_rss_mb']:.0f} MB")
        print(f"peak memory 20 min / 3 min: {results[20.0]['peak_rss_mb'] / results[3.0]['peak_rss_mb']:.2f}x")
        fs = shutil.which("fluidsynth")
        if fs is None:
            print("fluidsynth not installed (apt-get install fluidsynth): no peer measured")
            return
        from scorer.render.soundfont import find_soundfont
        sf2 = str(find_soundfont(None))
        for minutes in (3.0, 20.0):
            mid = Path(d) / f"out{int(minutes)}" / "bench.mid"
            t = time.perf_counter()
            subprocess.run([fs, "-ni", "-q", "-F", str(Path(d) / "fs.wav"), "-r", "48000", sf2, str(mid)],
                           check=True, capture_output=True)
            fs_s = time.perf_counter() - t
            ours = results[minutes]["render_s"]
            print(f"{minutes:4.0f} min: fluidsynth CLI renders the same MIDI (one stereo mix, no stems, no "
                  f"effects) in {fs_s:.1f} s ({minutes * 60 / fs_s:.1f}x real time); scorer renders "
                  f"{len(json.loads((Path(d) / f'out{int(minutes)}' / 'report.json').read_text())['stems'])} "
                  f"stems with effects in {ours:.1f} s: ratio {fs_s / ours:.2f}x")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(float(sys.argv[2]), sys.argv[3])
    else:
        main()
