"""Benchmark: what the composed music is made of, measured without ears (tests/musiccheck.py).

    python bench/bench_music.py [--json PATH] [--cache DIR] [--keep-cues]

Cuts: the demo (examples/demo.mp4) and two cuts generated with tests/media.make_cut into
DIR (default: <temp>/scorer-bench-music, built once): "A" 60 s at 25 fps with three
lines spoken by espeak-ng, clicks and a flash; "B" 100 s at 29.97 fps with fast cutting,
synthetic speech and clicks. Each cut is analysed and spotted once (as `scorer score`
does: pipeline.analyze_and_spot; --keep-cues keeps each cue sheet in DIR and reuses it, so
two runs compose the very same cues), then composed for seeds 1, 2, 3 × (the cues' own
presets and every shipped preset as preset_override); each Score's MIDI file is built
in memory, read back with mido and measured.

Rows: onset-grid Jaccard across seeds (same preset; mean over presets and cues of the
pairwise Jaccard between seeds 1/2/3 — 1 means the seed changes nothing but the hits'
neighbourhood) and across presets (seed 1, every pair of shipped presets); texture
distance across presets (instruments, rhythm positions); cue endings on bar lines and
between beats, meter changes on bar lines (the MIDI file's own grid); final-chord room of
the reel's last cue and whether notes ring past the film end; parallel fifths/octaves per
100 chord changes (in the pad, and between the outer voices); CC events per score; on-grid
%; distinct velocities per part per cue; melody-on-top %; distinct bar rhythms per cue;
longest flat dynamics; composition seconds per minute of cue. Counts are pooled over every
composition of a cut (3 seeds × presets); "all" pools the three cuts.

Which scorer is measured is the one `import scorer` finds: run with PYTHONPATH=<tree> to
measure another checkout (its path is printed first).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))   # musiccheck, media

import musiccheck as mc  # noqa: E402

SEEDS = (1, 2, 3)


def generated_cuts(cache: Path) -> dict[str, Path]:
    """The two generated cuts (built into `cache` on first use)."""
    import numpy as np
    from media import make_cut

    cache.mkdir(parents=True, exist_ok=True)
    out = {}
    specs = {
        "A": dict(fps=Fraction(25), seconds=60, shot_range=(36, 200), rng=11,
                  speech_at=((4.0, "Where were you last night?"), (21.0, "I told you. I was working late."),
                             (44.0, "Then why is the car still warm?")),
                  clicks_s=(12.5, 30.2, 52.0), flash_s=(36.0,)),
        "B": dict(fps=Fraction(30000, 1001), seconds=100, shot_range=(12, 70), rng=12,
                  speech_spans_s=((8.0, 11.5), (62.0, 66.0)),
                  clicks_s=(5.0, 19.7, 33.3, 48.1, 71.4, 88.8), flash_s=()),
    }
    for name, sp in specs.items():
        path = cache / f"music_cut_{name}.mp4"
        out[name] = path
        if path.exists():
            continue
        fps = sp["fps"]
        rng = np.random.default_rng(sp["rng"])
        n_total = int(sp["seconds"] * fps)
        shots: list[int] = []
        while sum(shots) < n_total:
            shots.append(int(rng.integers(*sp["shot_range"])))
        shots[-1] -= sum(shots) - n_total
        if shots[-1] < 12:    # too short to be a shot: the one before runs on
            short = shots.pop()
            shots[-1] += short
        flashes = tuple(f for t in sp["flash_s"] for f in (int(t * fps), int(t * fps) + 1))
        t = time.perf_counter()
        tmp = path.with_suffix(".part.mp4")
        make_cut(tmp, fps=fps, shot_frames=tuple(shots), size=(320, 180), flash_frames=flashes,
                 clicks_s=sp["clicks_s"], speech_spans_s=sp.get("speech_spans_s", ()),
                 speech_at=sp.get("speech_at", ()))
        tmp.rename(path)
        print(f"built {path} ({len(shots)} shots) in {time.perf_counter() - t:.0f} s", flush=True)
    return out


def cue_sheet(cut: Path, cache: Path, keep: bool):
    """The cut analysed and spotted once (pipeline.analyze_and_spot), or its kept cue sheet."""
    from scorer.pipeline import analyze_and_spot, load_cue_sheet

    kept = cache / f"{cut.stem}.cues.json"
    if keep and kept.exists():
        return load_cue_sheet(kept), 0.0
    t = time.perf_counter()
    sheet = analyze_and_spot(cut)
    took = time.perf_counter() - t
    if keep:
        from scorer.io.files import write_json
        write_json(kept, sheet.to_dict())
    return sheet, took


def mean(xs) -> float | None:
    xs = list(xs)
    return sum(xs) / len(xs) if xs else None


def bench_cut(sheet, presets: list[str]) -> dict:
    """Compose `sheet` for every seed × preset; the raw material of the table."""
    from scorer.compose import compose

    scores, compose_s = {}, 0.0
    for p in [None, *presets]:
        for s in SEEDS:
            t = time.perf_counter()
            scores[(p, s)] = compose(sheet, seed=s, preset_override=p)
            compose_s += time.perf_counter() - t
    cue_min = sum(c.duration_s for c in sheet.cues) / 60 * len(scores)
    measures = [mc.measure(sc, mc.score_midi(sc)) for sc in scores.values()]

    def grids(sc):
        return {cs.cue.id: mc.onset_grid(cs) for cs in sc.cues}

    g = {k: grids(sc) for k, sc in scores.items()}
    across_seeds = [mc.jaccard(g[(p, a)][cid], g[(p, b)][cid])
                    for p in [None, *presets] for a, b in itertools.combinations(SEEDS, 2)
                    for cid in g[(p, a)] if cid in g[(p, b)]]
    across_presets = [mc.jaccard(g[(a, 1)][cid], g[(b, 1)][cid])
                      for a, b in itertools.combinations(presets, 2)
                      for cid in g[(a, 1)] if cid in g[(b, 1)]]
    textures = [mc.texture_distance(scores[(a, 1)], scores[(b, 1)])
                for a, b in itertools.combinations(presets, 2)]
    return {"pooled": mc.pool(measures), "across_seeds": across_seeds, "across_presets": across_presets,
            "texture_instruments": [t[0] for t in textures], "texture_rhythm": [t[1] for t in textures],
            "compose_s": compose_s, "cue_min": cue_min, "n_cues": len(sheet.cues),
            "cue_s": sum(c.duration_s for c in sheet.cues)}


def summary(raw: dict) -> dict:
    """The table's numbers from bench_cut()'s raw material (or several pooled)."""
    m = raw["pooled"]

    def share(a, b):
        return None if not m[b] else m[a] / m[b]

    def per100(p5, p8, n):
        return None if not m[n] else 100 * (m[p5] + m[p8]) / m[n]

    room = m["final_room_s"]
    return {
        "compositions": m["scores"], "cues_composed": m["cues"],
        "jaccard_across_seeds": mean(raw["across_seeds"]),
        "jaccard_across_presets": mean(raw["across_presets"]),
        "texture_distance_instruments": mean(raw["texture_instruments"]),
        "texture_distance_rhythm": mean(raw["texture_rhythm"]),
        "endings_on_bar": [m["endings_on_bar"], m["endings"]],
        "endings_between_beats": [m["endings_between_beats"], m["endings"]],
        "meters_on_bar": [m["meters_on_bar"], m["meters"]],
        "final_room_s_mean": mean(room), "final_room_s_min": min(room) if room else None,
        "rings_past_end": [m["rings_past_end"], m["scores"]],
        "pad_parallels_per_100": per100("pad_p5", "pad_p8", "pad_changes"),
        "pad_p5_p8_changes": [m["pad_p5"], m["pad_p8"], m["pad_changes"]],
        "outer_parallels_per_100": per100("outer_p5", "outer_p8", "outer_changes"),
        "outer_p5_p8_changes": [m["outer_p5"], m["outer_p8"], m["outer_changes"]],
        "cc_per_score": {k: m[k] / m["scores"] for k in ("cc1", "cc11", "cc64", "other")},
        "on_grid_share": share("on_grid", "onsets"),
        "distinct_velocities_per_part_cue": mean(m["velocities"]),
        "melody_on_top_share": share("melody_top", "melody_sounding"),
        "distinct_bar_rhythms_per_cue": mean(m["bar_rhythms"]),
        "bars_per_cue": mean(m["bars"]),
        "longest_flat_dynamics_s": mean(m["flat_dynamics_s"]),
        "compose_s_per_cue_min": raw["compose_s"] / raw["cue_min"] if raw["cue_min"] else None,
    }


def merge(raws: list[dict]) -> dict:
    out = {"pooled": mc.pool(r["pooled"] for r in raws)}
    for k in ("across_seeds", "across_presets", "texture_instruments", "texture_rhythm"):
        out[k] = [x for r in raws for x in r[k]]
    for k in ("compose_s", "cue_min"):
        out[k] = sum(r[k] for r in raws)
    return out


def _fmt(v, kind: str) -> str:
    if v is None:
        return "–"
    if kind == "frac":
        return f"{v[0]}/{v[1]}"
    if kind == "pct":
        return f"{100 * v:.1f} %"
    if kind == "cc":
        return "/".join(f"{v[k]:.0f}" for k in ("cc1", "cc11", "cc64", "other"))
    if kind == "p58":
        return f"{v[0]}/{v[1]}/{v[2]}"
    return f"{v:.{kind}f}"


ROWS = [   # (label, summary key, format)
    ("compositions (seeds x presets)", "compositions", "0"),
    ("cues composed", "cues_composed", "0"),
    ("onset-grid Jaccard across seeds", "jaccard_across_seeds", "3"),
    ("onset-grid Jaccard across presets", "jaccard_across_presets", "3"),
    ("texture distance: instruments", "texture_distance_instruments", "3"),
    ("texture distance: rhythm positions", "texture_distance_rhythm", "3"),
    ("cue endings on bar lines", "endings_on_bar", "frac"),
    ("cue endings between beats", "endings_between_beats", "frac"),
    ("meter changes on bar lines", "meters_on_bar", "frac"),
    ("final-chord room, mean (s)", "final_room_s_mean", "2"),
    ("final-chord room, min (s)", "final_room_s_min", "2"),
    ("rings past the film end", "rings_past_end", "frac"),
    ("pad parallels / 100 changes", "pad_parallels_per_100", "1"),
    ("  pad P5 / P8 / changes", "pad_p5_p8_changes", "p58"),
    ("outer-voice parallels / 100", "outer_parallels_per_100", "1"),
    ("  outer P5 / P8 / changes", "outer_p5_p8_changes", "p58"),
    ("CC per score: 1/11/64/other", "cc_per_score", "cc"),
    ("onsets on 16th/triplet grid", "on_grid_share", "pct"),
    ("distinct velocities/part/cue", "distinct_velocities_per_part_cue", "2"),
    ("melody on top", "melody_on_top_share", "pct"),
    ("distinct bar rhythms per cue", "distinct_bar_rhythms_per_cue", "2"),
    ("  bars with onsets per cue", "bars_per_cue", "1"),
    ("longest flat dynamics (s)", "longest_flat_dynamics_s", "2"),
    ("compose s per cue-minute", "compose_s_per_cue_min", "4"),
]


def table(columns: dict[str, dict]) -> str:
    w = max(len(r[0]) for r in ROWS) + 2
    lines = [f"{'':{w}}" + "".join(f"{name:>16}" for name in columns)]
    for label, key, kind in ROWS:
        lines.append(f"{label:{w}}" + "".join(f"{_fmt(col[key], kind):>16}" for col in columns.values()))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "scorer-bench-music",
                    help="where the generated cuts (and kept cue sheets) live")
    ap.add_argument("--keep-cues", action="store_true",
                    help="keep each cut's cue sheet in --cache and reuse it on later runs")
    args = ap.parse_args()
    t_start = time.perf_counter()
    import scorer
    from scorer.compose import load_presets

    root = Path(scorer.__file__).resolve().parent.parent
    print(f"scorer: {scorer.__file__}", flush=True)
    demo = root / "examples" / "demo.mp4"
    cuts = {"demo": demo if demo.exists() else HERE.parent / "examples" / "demo.mp4",
            **{f"cut {k}": v for k, v in generated_cuts(args.cache).items()}}
    presets = sorted(load_presets())
    raws, info = {}, {}
    for name, cut in cuts.items():
        sheet, analyse_s = cue_sheet(cut, args.cache, args.keep_cues)
        t = time.perf_counter()
        raws[name] = bench_cut(sheet, presets)
        info[name] = {"path": str(cut), "duration_s": sheet.source.duration_s, "fps": str(sheet.source.fps),
                      "cues": [(c.id, c.preset, round(c.duration_s, 2), sum(h.scored for h in c.hits))
                               for c in sheet.cues],
                      "analyse_s": round(analyse_s, 1), "bench_s": round(time.perf_counter() - t, 1)}
        print(f"{name}: {cut.name}, {sheet.source.duration_s:.1f} s at {sheet.source.fps} fps, "
              f"{len(sheet.cues)} cues {[c.preset for c in sheet.cues]}; analysed in {analyse_s:.1f} s, "
              f"composed and measured in {info[name]['bench_s']:.1f} s", flush=True)
    columns = {name: summary(raw) for name, raw in raws.items()}
    columns["all"] = summary(merge(list(raws.values())))
    print()
    print(table(columns))
    print(f"\n{len(presets)} shipped presets + the cues' own, seeds {SEEDS}; "
          f"whole run {time.perf_counter() - t_start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"scorer": scorer.__file__, "seeds": SEEDS, "presets": presets,
                                         "cuts": info, "columns": columns}, indent=1))


if __name__ == "__main__":
    main()
