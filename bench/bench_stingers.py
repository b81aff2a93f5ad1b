"""Benchmark: do the hits hit? The accent at every scored hit (scorer.deliver.measure.accent_db:
the 150 ms after it over the half second before, in dB), on the music as delivered.

    python bench/bench_stingers.py [--json PATH] [--seeds 1 2] [--presets action,horror] [--no-ambience]
                                   [--delivered OUT_DIR ...]

Generated cue sheets, no video: every preset (or those named) as one 18 s cue each, 7 s
apart, in three scenes — "plain" (intensity 0.5 → 0.8, a strong hit 0.9 and a weak one
0.45), "quiet" (intensity 0.2 → 0.3, hits 0.8 and 0.35) and "talk" (a line over the weak
hit and one ending 0.4 s before the strong one); composed for each seed, rendered with
the SoundFont backend, with the presets' ambience beds as `scorer score` adds them (unless
--no-ambience), mixed without production sound (so nothing is ducked) and measured on the
music mix. --delivered measures the mix.wav of `scorer score` output folders instead, at
the scored hits their report.json lists (the demo: scorer score examples/demo.mp4 -o DIR).

Rows: per preset, the number of scored hits and the min / median / max accent in dB.
Which scorer is measured is the one `import scorer` finds (PYTHONPATH=<tree> for another).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

CUE_S, GAP_S = 18.0, 7.0
SCENES = ("plain", "quiet", "talk")


def _hit(t_s: float, strength: float, fps: Fraction):
    from scorer.timebase import frame_to_s, nearest_frame
    from scorer.types import Hit

    f = nearest_frame(t_s, fps)
    return Hit(frame_to_s(f, fps), f, strength, "cut", True)


def cue_sheet(names: list[str], scene: str):
    """One cue per preset name in `scene` (see the module's docstring)."""
    from scorer.timebase import frame_to_s, nearest_frame
    from scorer.types import Cue, CueSheet, Source, Span

    fps = Fraction(24)
    snap = lambda t: frame_to_s(nearest_frame(t, fps), fps)  # noqa: E731
    cues, lines, t = [], [], 2.0
    for i, name in enumerate(names):
        s, e = snap(t), snap(t + CUE_S)
        if scene == "plain":
            hits, curve = [_hit(t + 7.0, 0.9, fps), _hit(t + 12.5, 0.45, fps)], ((s, 0.5), (e, 0.8))
        elif scene == "quiet":
            hits, curve = [_hit(t + 6.0, 0.8, fps), _hit(t + 12.0, 0.35, fps)], ((s, 0.2), (e, 0.3))
        else:
            hits, curve = [_hit(t + 7.0, 0.85, fps), _hit(t + 12.5, 0.5, fps)], ((s, 0.5), (e, 0.7))
            lines += [Span(snap(t + 5.0), snap(t + 6.6)), Span(snap(t + 11.5), snap(t + 13.5))]
        cues.append(Cue(f"{i + 1}M1", s, e, name, 0.0, 0.0, curve, tuple(hits)))
        t += CUE_S + GAP_S
    src = Source("bench.mov", fps, t + 1.0, nearest_frame(t + 1.0, fps))
    return CueSheet(src, (), tuple(lines), tuple(cues))


def generated(names: list[str], seeds: list[int], *, ambience: bool) -> list[dict]:
    import scorer
    from scorer.compose import compose, load_presets
    from scorer.deliver.measure import accent_db
    from scorer.io.clipstore import ClipStore
    from scorer.mix import mix
    from scorer.timebase import SAMPLE_RATE

    presets = load_presets()
    rows = []
    with ClipStore() as store:
        for scene in SCENES:
            sheet = cue_sheet(names, scene)
            for seed in seeds:
                score = compose(sheet, seed=seed, presets=presets)
                stems = scorer.render(score, store=store, presets=presets)
                if ambience:
                    from scorer.render.ambience import render_ambience
                    stems = replace(stems, groups={**stems.groups, "ambience": render_ambience(
                        score, sheet, presets=presets, store=store)})
                music = np.concatenate(list(mix(stems, sheet).music_blocks()), axis=1)
                for cs in score.cues:
                    for hf in cs.hit_fits:
                        if hf.hit.scored:
                            talk = any(sp.start_s <= hf.hit.t_s < sp.end_s for sp in sheet.dialogue)
                            rows.append(dict(preset=cs.cue.preset, scene=scene, seed=seed, t_s=hf.hit.t_s,
                                             strength=hf.hit.strength, talk=talk,
                                             accent_db=round(accent_db(music, SAMPLE_RATE, hf.hit.t_s), 2)))
    return rows


def delivered(out_dir: Path) -> list[dict]:
    import soundfile as sf

    from scorer.deliver.measure import accent_db

    report = json.loads((out_dir / "report.json").read_text())
    x, sr = sf.read(str(out_dir / report["files"]["mix"]), always_2d=True, dtype="float32")
    preset = {c["id"]: c["preset"] for c in report["cues"]}
    return [dict(preset=preset[h["cue"]], scene=str(out_dir), cue=h["cue"], t_s=h["t_s"], strength=h["strength"],
                 accent_db=round(accent_db(x.T, sr, h["t_s"]), 2)) for h in report["hits"] if h["scored"]]


def table(rows: list[dict]) -> str:
    by: dict[str, list[float]] = {}
    for r in rows:
        by.setdefault(r["preset"], []).append(r["accent_db"])
    by["ALL"] = [r["accent_db"] for r in rows]
    out = [f"{'preset':14s} {'hits':>4s} {'min':>6s} {'median':>6s} {'max':>6s}"]
    for name, v in sorted(by.items(), key=lambda kv: (kv[0] == "ALL", kv[0])):
        out.append(f"{name:14s} {len(v):4d} {min(v):+6.1f} {float(np.median(v)):+6.1f} {max(v):+6.1f}")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write every hit's row here")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--presets", help="comma-separated preset names (default: all shipped)")
    ap.add_argument("--no-ambience", action="store_true", help="measure the music without the ambience beds")
    ap.add_argument("--delivered", type=Path, nargs="+", help="scorer score output folders to measure instead")
    args = ap.parse_args(argv)
    import scorer
    print(f"scorer from {Path(scorer.__file__).resolve().parent}", file=sys.stderr)
    if args.delivered:
        rows = [r for d in args.delivered for r in delivered(d)]
    else:
        from scorer.compose import load_presets
        names = args.presets.split(",") if args.presets else sorted(load_presets())
        rows = generated(names, args.seeds, ambience=not args.no_ambience)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
