"""Benchmark: analyze() on a 3-minute 720p H.264 cut, against peers measured in the same run.

    python bench/bench_analyze.py [CUT] [--runs N]

Without CUT, builds one with tests/media.make_cut (1280x720, 24000/1001 fps, ~70 shots of
0.5–6 s, two flashes, clicks, speech; ~1 min to build once) into bench/.cache/, with its
known cuts beside it, so the run also reports whether every cut was found to the frame.

Peers: a plain full threaded PyAV decode of the same file (the floor for any frame-exact
analysis) and, when `scenedetect` is importable, PySceneDetect's detect(ContentDetector()).
Prints wall times (best of --runs), real-time factors and ratios.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
FPS = Fraction(24000, 1001)


def bench_cut() -> tuple[Path, dict]:
    """The cached generated cut and its known answers (built on first use)."""
    path = HERE / ".cache" / "analyze_720p_3min.mp4"
    truth_path = path.with_suffix(".json")
    if not (path.exists() and truth_path.exists()):
        import numpy as np

        sys.path.insert(0, str(HERE.parent / "tests"))
        from media import make_cut

        path.parent.mkdir(exist_ok=True)
        rng = np.random.default_rng(2024)
        shots: list[int] = []
        while sum(shots) < 180 * FPS:
            shots.append(int(rng.integers(12, 150)))
        shots[-1] -= int(sum(shots) - 180 * FPS)
        starts = np.cumsum([0] + shots)
        flash = int(starts[10] + 30) if shots[10] > 40 else int(starts[11] + 5)
        t = time.perf_counter()
        truth = make_cut(path, fps=FPS, shot_frames=tuple(shots), size=(1280, 720), pan_px=6,
                         flash_frames=(flash, flash + 1), clicks_s=(3.0, 47.5, 91.2, 150.0),
                         speech_spans_s=((10.0, 14.0), (100.0, 104.5)), preset="veryfast", crf=23)
        truth_path.write_text(json.dumps({"cuts": truth["cuts"], "flashes": truth["flashes"],
                                          "n_frames": truth["n_frames"]}))
        print(f"built {path} in {time.perf_counter() - t:.0f} s")
    return path, json.loads(truth_path.read_text())


def full_decode_s(path: Path) -> tuple[float, int]:
    """The decoding floor: every frame decoded with FFmpeg's threads, nothing else."""
    import av

    t = time.perf_counter()
    n = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for _ in c.decode(s):
            n += 1
    return time.perf_counter() - t, n


def scenedetect_s(path: Path) -> tuple[float, list[int]] | None:
    try:
        from scenedetect import ContentDetector, detect
    except ImportError:
        return None
    t = time.perf_counter()
    scenes = detect(str(path), ContentDetector())
    return time.perf_counter() - t, [s[0].frame_num for s in scenes[1:]]


def score_cuts(found: list[int], truth: list[int]) -> str:
    hit = sorted(set(found) & set(truth))
    missed = sorted(set(truth) - set(found))
    extra = sorted(set(found) - set(truth))
    return (f"{len(hit)}/{len(truth)} exact, missed {missed[:8]}{'…' if len(missed) > 8 else ''}, "
            f"extra {extra[:8]}{'…' if len(extra) > 8 else ''}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cut", nargs="?", type=Path)
    ap.add_argument("--runs", type=int, default=1, help="repeat each timing, report the best")
    args = ap.parse_args()
    import scorer
    from scorer.io.video import probe

    if args.cut:
        cut, truth = args.cut, None
    else:
        cut, truth = bench_cut()
    src = probe(cut)
    dur = src.duration_s
    print(f"cut: {cut}  {src.width}x{src.height}  {src.fps} fps  {dur:.1f} s  {src.n_frames} frames")
    Path(cut).read_bytes()   # into the page cache, so no contender pays for the first read

    decode = min(full_decode_s(cut)[0] for _ in range(args.runs))
    runs = []
    for _ in range(args.runs):
        t = time.perf_counter()
        a = scorer.analyze(cut)
        runs.append((time.perf_counter() - t, a))
    first = runs[0][0]      # cold: librosa's first call (imports, numba) is paid here
    wall, a = min(runs, key=lambda r: r[0])
    sd = [scenedetect_s(cut) for _ in range(args.runs)]
    sd = None if sd[0] is None else min(sd, key=lambda r: r[0])

    print(f"\n{'':34}{'wall s':>8}{'x real time':>13}{'vs decode':>11}")
    print(f"{'full threaded PyAV decode (floor)':34}{decode:8.2f}{dur / decode:13.1f}{1:11.2f}")
    print(f"{'scorer.analyze (first run, cold)':34}{first:8.2f}{dur / first:13.1f}{first / decode:11.2f}")
    if args.runs > 1:
        print(f"{'scorer.analyze (best run)':34}{wall:8.2f}{dur / wall:13.1f}{wall / decode:11.2f}")
    if sd:
        print(f"{'PySceneDetect ContentDetector':34}{sd[0]:8.2f}{dur / sd[0]:13.1f}{sd[0] / decode:11.2f}")
        print(f"\nanalyze is {sd[0] / wall:.2f}x as fast as PySceneDetect ({sd[0] / first:.2f}x cold)")
    else:
        print("\nPySceneDetect: not importable (pip install scenedetect-headless to compare)")
    print(f"analyze timings (s), best run: {a.timings_s}; first run: {runs[0][1].timings_s}")
    print(f"shots: {len(a.shots)}  flashes: {list(a.flashes)}  onsets: {len(a.onsets)}  "
          f"dialogue spans: {[(d.start_s, d.end_s) for d in a.dialogue]}")
    if truth:
        print(f"analyze cuts: {score_cuts([s.start_frame for s in a.shots[1:]], truth['cuts'])}; "
              f"flashes expected {truth['flashes'][:1]}")
        if sd:
            print(f"PySceneDetect cuts: {score_cuts(sd[1], truth['cuts'])}")


if __name__ == "__main__":
    main()
