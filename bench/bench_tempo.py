"""Benchmark: tempo fitting against a single constant tempo (what a plain generator does).

    python bench/bench_tempo.py [N_CUES]

Generates N_CUES (default 50) cues, 15–120 s long, each with 3–8 hits at frame-exact
times (random strengths, frame rates 23.976/24/25/29.97) and a preset drawn from the
shipped ones — once with hits at least 2 s apart, as the spotter scores them, and once
on any frames at all. For every requested hit it measures the distance from the hit to the beat
the music puts it on — honoured hits sit on a beat of the fitted map; a hit the fit
gives up counts at its distance to the nearest beat of the map, so nothing is hidden —
in frames and milliseconds. The peer, measured on the same cues: the best constant
tempo in the preset's range (the one with the least mean error), beat 1 at the cue start,
which is what a generator that only takes "a tempo" can do. Also reported: the tempo
changes the fitted maps need (relative change between consecutive segments, and the
largest change inside any bar), how many strong hits land on downbeats with and without
pickups and other meters (the peer there: every cue starting on a downbeat in its
preset's own meter), and the time to fit and to compose per cue-minute.
"""
from __future__ import annotations

import sys
import time
from fractions import Fraction

import numpy as np

RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001))


def make_cues(n: int, seed: int = 2026, min_spacing_s: float = 0.0):
    from scorer.music.presets import load_presets
    from scorer.timebase import frame_to_s, nearest_frame
    from scorer.types import Cue, Hit

    presets = load_presets()
    names = sorted(presets)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        fps = RATES[int(rng.integers(len(RATES)))]
        dur = float(rng.uniform(15, 120))
        start = frame_to_s(nearest_frame(float(rng.uniform(0, 600)), fps), fps)
        end = frame_to_s(nearest_frame(start + dur, fps), fps)
        k = int(rng.integers(3, 9))
        frames: list[int] = []
        for _ in range(200):
            if len(frames) == k:
                break
            f = int(rng.integers(nearest_frame(start + 1.0, fps), nearest_frame(end - 1.0, fps)))
            if all(abs(frame_to_s(f, fps) - frame_to_s(g, fps)) >= max(min_spacing_s, 1e-9) for g in frames):
                frames.append(f)
        frames.sort()
        hits = tuple(Hit(frame_to_s(f, fps), f, float(rng.uniform(0.2, 1.0)), "cut", True) for f in frames)
        name = names[int(rng.integers(len(names)))]
        out.append((Cue(f"{i + 1}M1", start, end, name, 0.0, 0.0, ((start, 0.5), (end, 0.6)), hits), fps,
                    presets[name]))
    return out


def constant_tempo_errors(cue, preset, fps) -> np.ndarray:
    """|hit − nearest beat| in seconds at the best constant tempo of the preset's range."""
    t_rel = np.array([h.t_s - cue.start_s for h in cue.hits if h.scored])
    tempos = np.arange(preset.min_bpm, preset.max_bpm + 1e-9, 0.01)
    beats = t_rel[None, :] * tempos[:, None] / 60.0
    err = np.abs(np.round(beats) - beats) * 60.0 / tempos[:, None]
    return err[int(np.argmin(err.mean(axis=1)))]


def fitted_errors(fit) -> np.ndarray:
    out = []
    for hf in fit.hit_fits:
        if hf.hit.scored:
            out.append(abs(fit.tempo_map.beat_to_s(hf.beat) - hf.hit.t_s))
        else:
            b = round(fit.tempo_map.s_to_beat(hf.hit.t_s))
            out.append(abs(fit.tempo_map.beat_to_s(b) - hf.hit.t_s))
    return np.array(out)


def tempo_changes(fit) -> tuple[list[float], float]:
    """Relative changes between consecutive segments, and the largest change in any bar."""
    segs = fit.tempo_map.segments
    changes = [abs(b.tempo_bpm / a.tempo_bpm - 1) for a, b in zip(segs, segs[1:])]
    bpb = fit.tempo_map.beats_per_bar
    worst_bar = 0.0
    for a, b in zip(segs, segs[1:]):
        bar = int(b.start_beat // bpb)
        in_bar = [s.tempo_bpm for s in segs if bar * bpb <= s.start_beat < (bar + 1) * bpb]
        before = [s.tempo_bpm for s in segs if s.start_beat < bar * bpb] or [a.tempo_bpm]
        tempi = in_bar + [before[-1]]
        worst_bar = max(worst_bar, max(tempi) / min(tempi) - 1)
    return changes, worst_bar


def main(n: int = 50) -> None:
    # As the spotter delivers them (scored hits at least 2 s apart, spot/hits.py), and
    # with hits on any frames at all (some a few frames apart: no tempo can honour both).
    for label, spacing in (("hits >= 2 s apart, as spotted", 2.0), ("hits on any frames", 0.0)):
        print(f"== {label}")
        run(n, spacing)


def run(n: int, min_spacing_s: float) -> None:
    from scorer.compose import compose
    from scorer.compose.tempo import fit_tempo
    from scorer.types import CueSheet, Source

    cues = make_cues(n, min_spacing_s=min_spacing_s)
    fit_errs_s, fit_errs_f, base_errs_s, base_errs_f = [], [], [], []
    changes, worst_bars, honoured, requested = [], [], 0, 0
    strong, strong_down, strong_down_no_pickup, pickups, other_meter = 0, 0, 0, 0, 0
    t_fit = 0.0
    for cue, fps, preset in cues:
        t = time.perf_counter()
        fit = fit_tempo(cue, preset=preset, fps=fps)
        t_fit += time.perf_counter() - t
        e = fitted_errors(fit)
        fit_errs_s += list(e)
        fit_errs_f += list(e * float(fps))
        b = constant_tempo_errors(cue, preset, fps)
        base_errs_s += list(b)
        base_errs_f += list(b * float(fps))
        c, w = tempo_changes(fit)
        changes += c
        worst_bars.append(w)
        honoured += sum(hf.hit.scored for hf in fit.hit_fits)
        requested += len(fit.hit_fits)
        pickups += fit.alternatives[0].pickup_beats > 0
        other_meter += fit.tempo_map.beats_per_bar != preset.beats_per_bar
        no_pickup = fit_tempo(cue, preset=preset, fps=fps, allow_pickup=False,
                              beats_per_bar=preset.beats_per_bar)
        for a, b in zip(fit.hit_fits, no_pickup.hit_fits):
            if a.hit.strength >= 0.8:
                strong += 1
                strong_down += a.hit.scored and a.on_downbeat
                strong_down_no_pickup += b.hit.scored and b.on_downbeat
    minutes = sum(c.duration_s for c, _, _ in cues) / 60.0
    t = time.perf_counter()
    for cue, fps, preset in cues:
        sheet = CueSheet(Source("bench.mov", fps, cue.end_s + 5, 0), (), (), (cue,))
        compose(sheet, seed=1)
    t_compose = time.perf_counter() - t

    def row(name, s, f):
        s, f = np.array(s), np.array(f)
        print(f"  {name:24} median {np.median(f):5.2f} frames ({np.median(s) * 1e3:6.1f} ms)   "
              f"p95 {np.percentile(f, 95):5.2f} frames ({np.percentile(s, 95) * 1e3:6.1f} ms)   "
              f"max {f.max():5.2f} frames")

    print(f"{n} cues, {requested} hits, {minutes:.1f} cue-minutes")
    print("hit error (distance from each requested hit to the beat the music puts it on):")
    row("tempo fitting (scorer)", fit_errs_s, fit_errs_f)
    row("best constant tempo", base_errs_s, base_errs_f)
    print(f"  hits honoured exactly: {honoured}/{requested} ({100 * honoured / requested:.1f} %)")
    within = np.mean(np.array(fit_errs_f) <= 0.5) * 100
    base_within = np.mean(np.array(base_errs_f) <= 0.5) * 100
    print(f"  within half a frame: scorer {within:.1f} %, constant tempo {base_within:.1f} % "
          f"(ratio {within / max(base_within, 1e-9):.2f}x)")
    print(f"  strong hits (>= 0.8) on downbeats: {strong_down}/{strong} with pickups "
          f"({pickups} cues start with one), {strong_down_no_pickup}/{strong} with every cue starting on a downbeat; "
          f"{other_meter} cues in another of their preset's meters")
    ch = np.array(changes) * 100 if changes else np.zeros(1)
    print(f"tempo changes between segments: median {np.median(ch):.2f} %, p95 {np.percentile(ch, 95):.2f} %, "
          f"max {ch.max():.2f} %; largest change within one bar {max(worst_bars) * 100:.2f} %")
    print(f"time: tempo fit {t_fit / minutes:.3f} s per cue-minute, full composition "
          f"{t_compose / minutes:.3f} s per cue-minute")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
