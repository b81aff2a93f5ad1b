"""Soak: N cycles (default 100) of create a project from a cut → regenerate a cue →
export, through the studio on loopback (gradio_client); prints the server process's
memory, open files and temporary space after each cycle, then first vs last vs worst.

    python bench/bench_soak.py [CYCLES]

The test suite runs 5 cycles (tests/reliability/test_load.py); this is the long run.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "reliability")]


def main() -> None:
    from media import make_cut
    from test_load import soak, studio_server

    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        cut = d / "cut.mp4"
        make_cut(cut, shot_frames=(120, 100, 30, 26, 34, 28, 150), clicks_s=(10.4,))
        (d / "projects").mkdir()
        with studio_server(d / "projects") as (url, pid):
            rows = soak(url, cut, d / "projects", cycles, pid,
                        report=lambda r: print(f"cycle {r['cycle']:3d}: {r['rss_mb']:.0f} MB resident, "
                                               f"{r['fds']} open files, {r['temp_mb']:.0f} MB temporary",
                                               flush=True))
    first, last = rows[1] if len(rows) > 1 else rows[0], rows[-1]
    for key, unit in (("rss_mb", "MB"), ("fds", "open files"), ("temp_mb", "MB temp")):
        worst = max(r[key] for r in rows)
        print(f"{key:>8}: after cycle 2 {first[key]:.0f}, after cycle {last['cycle']} {last[key]:.0f}, "
              f"worst {worst:.0f} {unit}")


if __name__ == "__main__":
    main()
