"""`scorer batch` on Ray against the same work done one step at a time in one process.

    python bench/bench_batch.py            # 6 generated cuts of 3 minutes, 2 takes per cue
    python bench/bench_batch.py --quick    # 3 cuts of 30 s

Both sides do the same work per cut: analyse + create the project, 2 takes of every cue
(seeds from batch.take_seed), select the first, export (with preview). Sequential: the
studio functions in this process. Batch: scorer.batch.run on a local Ray instance sized
to the machine (ray.init counted). Measured: wall time of each, throughput ratio, the
per-cut overhead (task seconds inside Ray minus sequential seconds, per cut), Ray's
start-up, and a rerun that resumes (nothing to do).
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

FPS = 24000 / 1001


def make_cuts(folder: Path, *, n: int, duration_s: float) -> list[Path]:
    from media import make_cut

    out = []
    for i in range(n):
        rng = random.Random(i)
        frames, total = [], round(duration_s * FPS)
        while sum(frames) < total:
            frames.append(rng.choice((24, 36, 48, 72, 96, 120, 180, 240)))
        frames[-1] -= sum(frames) - total
        if frames[-1] < 12:
            frames.pop()
        path = folder / f"cut{i:02d}.mp4"
        make_cut(path, shot_frames=tuple(frames), clicks_s=tuple(rng.uniform(3, duration_s - 3) for _ in range(3)))
        out.append(path)
    return out


def sequential(cuts: list[Path], out: Path, *, takes: int, seed: int, preview: bool) -> dict[str, float]:
    from scorer import batch, studio

    seconds = {}
    for cut in cuts:
        t = time.perf_counter()
        p = studio.new_project(out / cut.stem, cut, seed=seed)
        composer = studio.Composer(p)
        for cue in p.cue_sheet().cues:
            made = [studio.make_take(p, cue.id, studio.take_params(seed=batch.take_seed(seed, cut.stem, cue.id, k)),
                                     composer=composer) for k in range(takes)]
            p.select(cue.id, made[0].id)
        studio.export(p, preview=preview, composer=composer)
        seconds[cut.stem] = time.perf_counter() - t
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuts", type=int, default=6)
    ap.add_argument("--duration-s", type=float, default=180.0)
    ap.add_argument("--takes", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="3 cuts of 30 s")
    ap.add_argument("--no-preview", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.cuts, args.duration_s = 3, 30.0
    import ray

    from scorer import batch

    print(f"machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; ray {ray.__version__}")
    print(f"{args.cuts} cuts of {args.duration_s:g} s, {args.takes} takes per cue, "
          f"preview {'off' if args.no_preview else 'on'}")
    d = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        cuts = make_cuts(d, n=args.cuts, duration_s=args.duration_s)
        t = time.perf_counter()
        seq = sequential(cuts, d / "seq", takes=args.takes, seed=1, preview=not args.no_preview)
        seq_s = time.perf_counter() - t

        t = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - t
        runs = batch.run([str(c) for c in cuts], d / "ray", takes=args.takes, seed=1,
                         preview=not args.no_preview, quiet=False)
        batch_s = time.perf_counter() - t
        t = time.perf_counter()
        again = batch.run([str(c) for c in cuts], d / "ray", takes=args.takes, seed=1,
                          preview=not args.no_preview, quiet=True)
        resume_s = time.perf_counter() - t
        ray.shutdown()
        assert not any(r.error for r in runs) and not any(r.takes_made for r in again)

        print(f"\n{'cut':8} {'cues':>4} {'sequential':>11} {'ray tasks':>10} {'overhead':>9} {'ray wall':>9}")
        overheads = []
        for r in runs:
            name = Path(r.cut).stem
            task_s = r.analyse_s + r.take_task_s + r.export_s
            overheads.append(task_s - seq[name])
            print(f"{name:8} {len(r.cues):>4} {seq[name]:10.1f}s {task_s:9.1f}s {task_s - seq[name]:+8.1f}s "
                  f"{r.finished_s - r.submitted_s:8.1f}s")
        n = len(runs)
        print(f"\nsequential: {seq_s:.1f} s ({seq_s / n:.1f} s a cut)")
        print(f"ray batch:  {batch_s:.1f} s incl. ray.init {init_s:.1f} s ({batch_s / n:.1f} s a cut)")
        print(f"throughput: {seq_s / batch_s:.2f}× sequential on {os.cpu_count()} cores "
              f"(without ray.init {seq_s / (batch_s - init_s):.2f}×)")
        print(f"per-cut overhead in the workers: {sum(overheads) / n:+.1f} s mean "
              f"({sum(overheads) / sum(seq.values()) * 100:+.0f}% of the sequential work); "
              f"fixed: ray.init {init_s:.1f} s")
        print(f"rerun (resume, nothing to do): {resume_s:.1f} s")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
