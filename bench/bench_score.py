"""Benchmark: `scorer score` on a 3-minute 720p cut, against the decoding floor.

    python bench/bench_score.py [CUT]

Without CUT, builds one (examples/make_demo.py's scenes five times over at 1280x720,
~3.4 min) into bench/.cache/. Prints each stage's time, the real-time factor, and the
ratio to a peer measured in the same run: one full threaded PyAV decode of the same file
(what any frame-exact analysis has to pay at least).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def bench_cut() -> Path:
    path = HERE / ".cache" / "cut_720p_3min.mp4"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        sys.path.insert(0, str(HERE.parent / "examples"))
        import make_demo
        t = time.perf_counter()
        make_demo.main(str(path), width=1280, height=720, repeats=5, crf=23, preset="veryfast")
        print(f"built {path} in {time.perf_counter() - t:.1f} s")
    return path


def full_decode_s(path: Path) -> float:
    import av

    t = time.perf_counter()
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for _ in c.decode(s):
            pass
    return time.perf_counter() - t


def main() -> None:
    import scorer
    from scorer.io.video import probe

    cut = Path(sys.argv[1]) if len(sys.argv) > 1 else bench_cut()
    src = probe(cut)
    print(f"cut: {cut} {src.width}x{src.height} {src.fps} fps {src.duration_s:.1f} s")
    peer = full_decode_s(cut)
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        report = scorer.score(cut, out, seed=0)
        wall = time.perf_counter() - t
    print("stage timings (s):")
    for k, v in report["timings_s"].items():
        print(f"  {k:24} {v:8.2f}")
    print(f"scorer score: {wall:.1f} s = {src.duration_s / wall:.2f}x real time")
    print(f"peer (full threaded PyAV decode): {peer:.1f} s = {src.duration_s / peer:.2f}x real time")
    print(f"ratio scorer/peer: {wall / peer:.2f}  (analysis alone: "
          f"{report['timings_s'].get('analyze', float('nan')) / peer:.2f})")


if __name__ == "__main__":
    main()
