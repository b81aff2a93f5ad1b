"""`scorer batch` on Ray against the same work done one step at a time in one process.

    python bench/bench_batch.py            # 6 generated cuts of 3 minutes, 2 takes per cue
    python bench/bench_batch.py --quick    # 3 cuts of 30 s

Both sides do the same work per cut: analyse + create the project, 2 takes of every cue
(seeds from batch.take_seed), select the first, export (with preview). Sequential: the
studio functions in this process. Batch: scorer.batch.run on a local Ray instance sized
to the machine (ray.init counted). Measured: wall time of each, throughput ratio, the
per-cut overhead (task seconds inside Ray minus sequential seconds, per cut), Ray's
start-up, a rerun that resumes (nothing to do), and the CPU each side used (busy time of
the whole machine from /proc/stat): the sequential side is not one core's worth — its
analysis and export run helper processes — so N cores allow at most N / (its cores busy)
times its throughput; the ratio is reported against that ceiling too.
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


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


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
        t, c = time.perf_counter(), busy_cpu_s()
        seq = sequential(cuts, d / "seq", takes=args.takes, seed=1, preview=not args.no_preview)
        seq_s, seq_cpu_s = time.perf_counter() - t, busy_cpu_s() - c

        t, c = time.perf_counter(), busy_cpu_s()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - t
        runs = batch.run([str(c) for c in cuts], d / "ray", takes=args.takes, seed=1,
                         preview=not args.no_preview, quiet=False)
        batch_s, batch_cpu_s = time.perf_counter() - t, busy_cpu_s() - c
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
        cores = os.cpu_count()
        seq_busy, batch_busy = seq_cpu_s / seq_s, batch_cpu_s / batch_s
        ceiling = cores / seq_busy
        print(f"CPU: sequential {seq_cpu_s:.0f} s busy ({seq_busy:.2f} of {cores} cores on average); "
              f"batch {batch_cpu_s:.0f} s busy ({batch_busy:.2f} cores; {batch_cpu_s / seq_cpu_s - 1:+.0%} CPU "
              f"for the same work)")
        print(f"ceiling on {cores} cores with no overhead: {ceiling:.2f}×; batch reached "
              f"{seq_s / batch_s / ceiling:.0%} of it")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
