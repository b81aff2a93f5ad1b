"""Benchmark: render + mix + deliver for a 3-minute and a 20-minute cue sheet.

    python bench/bench_render.py

Each run happens in its own process, so its peak memory is its own. Cue sheets are
generated (cues of 20–90 s with hits, gaps between, a line of dialogue now and then),
composed with seed 1 (not timed; nor is loading librosa, which the analysis has done in a
real run), then rendered with the SoundFont backend (clips parked
in a ClipStore on disk, cues rendered by worker processes as auto_workers() chooses),
mixed to EBU R128 and delivered (no preview, no production audio).

Prints each run's time as a multiple of real time and its peak memory: the main
process's peak RSS plus each render worker's peak (ru_maxrss of the largest worker, times
the number of workers) — an upper bound on what was resident at once — and the
20/3-minute ratio of that figure. Targets (the issue): ≥ 20× real time on 2 cores; the
20-minute run's memory within 1.5× the 3-minute one's.

The peer, measured in the same run: the FluidSynth command-line program rendering the
same score.mid with the same SoundFont (`fluidsynth -ni -F out.wav -r 48000 SF2 score.mid`,
Debian package fluidsynth), on one core (its default) and with `-o synth.cpu-cores=N`
for as many cores as our renderer used. It writes one stereo mix with its own reverb and
chorus; ours writes one stem per instrument group, each through its preset's effects.
"""
from __future__ import annotations

import importlib
import json
import os
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

    from scorer.music.presets import load_presets
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
    """One run: compose (untimed), then render, mix, deliver; prints JSON with timings and
    peak memory."""
    import scorer
    from scorer.deliver.midi import midi_bytes
    from scorer.io.clipstore import ClipStore
    from scorer.render.soundfont import auto_workers

    sheet = make_sheet(minutes)
    score = scorer.compose(sheet, seed=1)
    # In a scorer run the analysis has loaded librosa (whose import compiles numba code
    # for ~3 s) long before delivery measures the hits with it: not part of this stage.
    importlib.import_module("librosa.onset")
    Path(out).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with ClipStore(Path(out).parent / f"work{int(minutes)}") as store:
        stems = scorer.render(score, backend="soundfont", store=store)
        t1 = time.perf_counter()
        mixed = scorer.mix(stems, sheet, spec="ebu")
        t2 = time.perf_counter()
        scorer.deliver(score, mixed, sheet, out, preview=False)
        t3 = time.perf_counter()
    Path(out, "bench.mid").write_bytes(midi_bytes(score))
    workers = auto_workers(score)
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if workers > 1 else 0.0
    print(json.dumps({"minutes": minutes, "render_s": t1 - t0, "mix_s": t2 - t1, "deliver_s": t3 - t2,
                      "total_s": t3 - t0, "workers": workers, "main_mb": main_mb, "worker_mb": worker_mb,
                      "peak_mb": main_mb + workers * worker_mb if workers > 1 else main_mb,
                      "n_cues": len(sheet.cues), "stems": len(stems.groups)}))


def fluidsynth_s(fs: str, sf2: str, mid: Path, wav: Path, cores: int) -> float:
    cmd = [fs, "-ni", "-q", "-F", str(wav), "-r", "48000"]
    if cores > 1:
        cmd += ["-o", f"synth.cpu-cores={cores}"]
    t = time.perf_counter()
    subprocess.run(cmd + [sf2, str(mid)], check=True, capture_output=True)
    return time.perf_counter() - t


def main() -> None:
    print(f"machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}")
    results = {}
    with tempfile.TemporaryDirectory() as d:
        for minutes in (3.0, 20.0):
            out = Path(d) / f"out{int(minutes)}"
            r = subprocess.run([sys.executable, __file__, "--child", str(minutes), str(out)],
                               capture_output=True, text=True)
            if r.returncode:
                sys.exit(f"the {minutes:.0f}-minute run failed:\n{r.stderr}")
            results[minutes] = x = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"{minutes:4.0f} min ({x['n_cues']} cues, {x['stems']} stems): render {x['render_s']:.1f} s, "
                  f"mix {x['mix_s']:.1f} s, deliver {x['deliver_s']:.1f} s = {x['total_s']:.1f} s "
                  f"({minutes * 60 / x['total_s']:.1f}x real time); peak memory {x['peak_mb']:.0f} MB "
                  f"(main {x['main_mb']:.0f} MB + {x['workers']} render workers x {x['worker_mb']:.0f} MB)")
        ratio = results[20.0]["peak_mb"] / results[3.0]["peak_mb"]
        main_ratio = results[20.0]["main_mb"] / results[3.0]["main_mb"]
        print(f"peak memory 20 min / 3 min: {ratio:.2f}x (main process alone {main_ratio:.2f}x); target <= 1.5x")
        fs = shutil.which("fluidsynth")
        if fs is None:
            print("fluidsynth not installed (apt-get install fluidsynth): no peer measured")
            return
        from scorer.render.soundfont import find_soundfont
        sf2 = str(find_soundfont(None))
        for minutes in (3.0, 20.0):
            x = results[minutes]
            mid = Path(d) / f"out{int(minutes)}" / "bench.mid"
            wav = Path(d) / "fluidsynth.wav"
            one = fluidsynth_s(fs, sf2, mid, wav, 1)
            line = (f"{minutes:4.0f} min: fluidsynth CLI renders the same MIDI (one stereo mix) in {one:.1f} s "
                    f"({minutes * 60 / one:.1f}x real time) on 1 core")
            if x["workers"] > 1:
                many = fluidsynth_s(fs, sf2, mid, wav, x["workers"])
                line += f", {many:.1f} s ({minutes * 60 / many:.1f}x) with synth.cpu-cores={x['workers']}"
            else:
                many = one
            print(line)
            print(f"        scorer renders {x['stems']} stems with effects in {x['render_s']:.1f} s "
                  f"({minutes * 60 / x['render_s']:.1f}x real time, {x['workers']} worker(s)): "
                  f"{one / x['render_s']:.2f}x fluidsynth's 1-core speed, {many / x['render_s']:.2f}x its "
                  f"{x['workers']}-core speed")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(float(sys.argv[2]), sys.argv[3])
    else:
        main()
