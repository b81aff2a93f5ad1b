"""Tempo fitting: a tempo map on which a cue's scored hits land exactly on beats.

Like a cue-tempo calculator, a base tempo is searched across the preset's range (beat 0 at
the cue start), scoring how near the scored hits fall to beats — the strong ones to
downbeats. Then every hit that can be honoured is made exact by small tempo changes
between consecutive honoured hits: each stretch gets a whole number of beats (a weak hit
that no beat reaches may take the eighth between two), so its tempo is
beats·60/interval, kept inside a band around the base whose top is (1 + max_change)
times its bottom — no two tempos of a map, at a hit or inside a bar, differ by more than
max_change — and inside the range. The choice is a small dynamic programme over eighths
that prefers downbeats for strong hits, beats over eighths, tempos near the base, and
honouring strong hits over weak ones. The cue may start with a pickup — a few beats
before its first downbeat (beat 0), where that puts strong hits on downbeats — at a small
cost. The cue end is made to land on a beat (a bar line where possible) the same way. A hit that cannot be honoured is returned with
scored=False and a reason, never dropped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from scorer.music.presets import Preset
from scorer.errors import InputError
from scorer.timebase import frames_in
from scorer.types import Cue, Hit, HitFit, TempoAlternative, TempoMap, TempoSegment

DEFAULT_MAX_CHANGE = 0.08
# Width of "on the beat" in the constant-tempo score: about a frame at 24 fps. Early music
# (a beat before the picture) reads as a mistake sooner than late, so it is judged tighter.
_SIGMA_S = 0.04
_EARLY_SIGMA_S = 0.028
_END_WEIGHT = 0.5          # the cue end counts like half a weak hit
# The cue end off a bar line costs less than a strong hit off its downbeat, more than a
# weak one: pickups and hit positions are chosen to put the last chord on a downbeat.
_END_BAR_WEIGHT = 0.8
# Giving up a hit costs this many times its weight: landing hits comes first, downbeats
# and steady tempo second.
_SKIP_FACTOR = 4.0
# A hit of strength 1 off the downbeat loses this much of its quality.
_DOWNBEAT_WEIGHT = 0.8
_LOOKBACK = 6              # at most this many consecutive scored hits can be given up
_EPS = 1e-9


@dataclass(frozen=True)
class TempoFit:
    """The fitted tempo of one cue.

    cue: the cue with hits[*].scored set to what the map honours.
    hit_fits: one per hit of the cue, in the cue's order; honoured hits sit on an integer
    beat with error ~0, others on their nearest beat with its error (beat time − hit time).
    unhonoured: the scored hits that could not be honoured, with the reason.
    end_beat: the beat at the cue end (an integer when end_on_beat).
    """
    cue: Cue
    tempo_map: TempoMap
    base_bpm: float
    hit_fits: tuple[HitFit, ...]
    alternatives: tuple[TempoAlternative, ...]
    unhonoured: tuple[tuple[Hit, str], ...]
    end_beat: float
    end_on_beat: bool


@dataclass(frozen=True)
class _Plan:
    base_bpm: float
    quality: float
    anchors: tuple[tuple[int, int], ...]   # (index into the requested hits, tick)
    end_ticks: int | None                 # ticks from the last anchor to the end, None = off-beat
    pickup_beats: int = 0                 # beats from the cue start to the first downbeat


# The plan's grid: eighth notes. A weak hit that no whole beat can reach within the tempo
# limits may land on the "and" between two beats — a composer accents an eighth there
# rather than miss the cut — at a cost; a strong hit lands only on a beat.
TICKS_PER_BEAT = 2
_EIGHTH_COST = 0.6          # share of a hit's weight lost by landing on an eighth
STRONG_STRENGTH = 0.7       # hits at least this strong land on beats only
# A cue may start with a pickup (anacrusis): a few beats before its first downbeat, when
# that puts its strong hits on downbeats. Starting on the downbeat is the plain choice, so
# a pickup costs this much (a fraction of a weak hit's weight).
_PICKUP_COST = 0.3


def _off_downbeat(beat: int, bpb: int) -> float:
    """0 on a downbeat, 0.5 on the half bar of an even meter, else 1."""
    if beat % bpb == 0:
        return 0.0
    if bpb % 2 == 0 and beat % (bpb // 2) == 0:
        return 0.5
    return 1.0


def _tick_range(gap_s: float, lo_bpm: float, hi_bpm: float, ticks_per_beat: int = TICKS_PER_BEAT) -> range:
    """Tick counts n ≥ 1 (ticks_per_beat to a beat) that fill gap_s at a tempo within
    [lo_bpm, hi_bpm]."""
    n_lo = max(1, math.ceil(gap_s * lo_bpm * ticks_per_beat / 60.0 - _EPS))
    n_hi = math.floor(gap_s * hi_bpm * ticks_per_beat / 60.0 + _EPS)
    return range(n_lo, n_hi + 1)


def _plan(base: float, *, t_rel: list[float], strength: list[float], dur_s: float, bpb: int,
          lo: float, hi: float, max_change: float, pickups: bool = True) -> _Plan:
    """Best assignment of hits to beats (or, for weak hits, eighths) at base tempo `base`
    (dynamic programme over ticks).

    What follows a hit depends on its tick only through the position in the bar, so one
    state per (hit, position) is enough: small and exact. The cue start may sit at any
    beat of the bar (a pickup of 1…beats_per_bar − 1 beats before the first downbeat).
    """
    n = len(t_rel)
    tpb = TICKS_PER_BEAT
    per_bar = bpb * tpb
    w = [0.5 + s for s in strength]
    total_w = _SKIP_FACTOR * sum(w) + _END_WEIGHT + _END_BAR_WEIGHT
    scale = 1.0 / (base * max_change)
    # Position costs: a downbeat is free, a beat costs by _off_downbeat, an eighth more.
    off = [_off_downbeat(r // tpb, bpb) if r % tpb == 0 else 1.0 for r in range(per_bar)]

    def seg_q(tempo: float) -> float:
        return 0.25 * min(((tempo - base) * scale) ** 2, 1.0)

    # states[(j, position in the bar)] = (cost, tick from the cue start, previous state);
    # j = −1: the cue start, at position 0 (a downbeat) or, after a pickup of k beats,
    # at per_bar − k·tpb.
    State = tuple[int, int]
    starts = [0] + ([per_bar - k * tpb for k in range(1, bpb)] if pickups else [])
    states: dict[State, tuple[float, int, State | None]] = {
        (-1, r0): (0.0 if r0 == 0 else _PICKUP_COST, 0, None) for r0 in starts}
    by_hit: dict[int, list[State]] = {-1: sorted((-1, r0) for r0 in starts)}
    prefix = [0.0]
    for x in w:
        prefix.append(prefix[-1] + _SKIP_FACTOR * x)

    def preds(j: int) -> list[int]:
        return sorted({-1, *range(max(-1, j - _LOOKBACK), j)})

    for j in range(n):
        new: dict[State, tuple[float, int, State]] = {}
        down_w = _DOWNBEAT_WEIGHT * strength[j] * w[j]
        eighths_ok = strength[j] < STRONG_STRENGTH
        for i in preds(j):
            t_i = 0.0 if i < 0 else t_rel[i]
            gap = t_rel[j] - t_i
            skipped = prefix[j] - prefix[i + 1]
            options = [(nt, w[j] * seg_q(nt * 60.0 / (tpb * gap))) for nt in _tick_range(gap, lo, hi)]
            for key in by_hit.get(i, ()):
                cost_i, tick_i, _ = states[key]
                for nt, dev_cost in options:
                    t = tick_i + nt
                    r = (key[1] + nt) % per_bar
                    if r % tpb:
                        if not eighths_ok:
                            continue
                        c = cost_i + skipped + dev_cost + down_w + _EIGHTH_COST * w[j]
                    else:
                        c = cost_i + skipped + dev_cost + down_w * off[r]
                    if (j, r) not in new or c < new[(j, r)][0] - 1e-12:
                        new[(j, r)] = (c, t, key)
        states.update(new)
        by_hit[j] = sorted(new)

    best: tuple[float, State, int | None] | None = None
    for i in preds(n):
        t_i = 0.0 if i < 0 else t_rel[i]
        gap = dur_s - t_i
        skipped = prefix[n] - prefix[i + 1]
        for key in by_hit.get(i, ()):
            cost_i, tick_i, _ = states[key]
            end_cost, end_n = _END_WEIGHT + _END_BAR_WEIGHT, None
            for nt in _tick_range(gap, lo, hi):
                if (key[1] + nt) % tpb:
                    continue                       # the button falls on a beat
                tempo = nt * 60.0 / (tpb * gap)
                # Ending off the bar line means a bar of another length at the end (an
                # added or removed beat): written, but it should be the exception.
                c_end = _END_WEIGHT * seg_q(tempo) + _END_BAR_WEIGHT * off[(key[1] + nt) % per_bar]
                if c_end < end_cost - 1e-12 or end_n is None:
                    end_cost, end_n = c_end, nt
            c = cost_i + skipped + end_cost
            if best is None or c < best[0] - 1e-12:
                best = (c, key, end_n)
    cost, key, end_n = best
    anchors = []
    while key is not None and key[0] >= 0:
        _, tick, prev = states[key]
        anchors.append((key[0], tick))
        key = prev
    pickup = ((per_bar - key[1]) % per_bar) // tpb      # key: the cue start's state
    return _Plan(base, 1.0 - cost / total_w, tuple(reversed(anchors)), end_n, pickup)


def _band(base: float, max_change: float, lo_range: float, hi_range: float) -> tuple[float, float]:
    """The tempos a map around `base` may use: a band whose top is (1 + max_change) times
    its bottom, so no two tempos of the map differ by more, clipped to the range."""
    m = max_change / (2.0 + max_change)
    return max(lo_range, base * (1 - m)), min(hi_range, base * (1 + m))


def _constant_scores(tempos: np.ndarray, *, t_rel: np.ndarray, strength: np.ndarray,
                     dur_s: float, bpb: int) -> np.ndarray:
    """How well hits fall on beats (strong ones on downbeats) at each constant tempo, 0…1."""
    def q(beats: np.ndarray, grid: int) -> np.ndarray:
        err_s = (np.round(beats / grid) * grid - beats) * 60.0 / tempos[:, None]
        sigma = np.where(err_s < 0, _EARLY_SIGMA_S, _SIGMA_S)
        return np.exp(-0.5 * (err_s / sigma) ** 2)

    beats = t_rel[None, :] * tempos[:, None] / 60.0
    alpha = 0.6 * strength[None, :]
    hit_q = (1 - alpha) * q(beats, 1) + alpha * q(beats, bpb)
    w = 0.5 + strength
    end_q = q(np.full((len(tempos), 1), dur_s) * tempos[:, None] / 60.0, bpb)[:, 0]
    return ((hit_q * w[None, :]).sum(axis=1) + _END_WEIGHT * end_q) / (w.sum() + _END_WEIGHT)


def _local_maxima(values: np.ndarray, k: int) -> list[int]:
    idx = [i for i in range(len(values))
           if (i == 0 or values[i] >= values[i - 1]) and (i == len(values) - 1 or values[i] > values[i + 1])]
    return sorted(idx, key=lambda i: -values[i])[:k]


def _constant_errors(tempo: float, t_rel: np.ndarray, fps: Fraction) -> tuple[float, float, float, float]:
    """(mean, max) absolute error in frames and in ms of the hits to their nearest beat."""
    if len(t_rel) == 0:
        return 0.0, 0.0, 0.0, 0.0
    beats = t_rel * tempo / 60.0
    err = np.abs(np.round(beats) - beats) * 60.0 / tempo
    return (frames_in(float(err.mean()), fps), frames_in(float(err.max()), fps),
            float(err.mean() * 1e3), float(err.max() * 1e3))


# Playing in one of the preset's other meters costs this much of the fit's 0…1 score: the
# preset's own meter wins unless another puts clearly more hits where they belong.
METER_COST = 0.04


def fit_tempo(cue: Cue, *, preset: Preset, fps: Fraction, min_bpm: float | None = None,
              max_bpm: float | None = None, beats_per_bar: int | None = None,
              step_bpm: float = 0.1, max_change: float = DEFAULT_MAX_CHANGE,
              n_alternatives: int = 3, allow_pickup: bool = True) -> TempoFit:
    """Fit a tempo map to `cue` so its scored hits land exactly on beats (see _fit_meter).

    The meter is searched too: the preset's own and its alt_meters (unless beats_per_bar
    is given), the others at a small cost. Alternatives are the best fits over all meters.
    """
    kwargs = dict(preset=preset, fps=fps, min_bpm=min_bpm, max_bpm=max_bpm, step_bpm=step_bpm,
                  max_change=max_change, n_alternatives=n_alternatives, allow_pickup=allow_pickup)
    if beats_per_bar is not None or not preset.alt_meters:
        return _fit_meter(cue, beats_per_bar=beats_per_bar, **kwargs)
    fits = [_fit_meter(cue, beats_per_bar=m, **kwargs) for m in (preset.beats_per_bar, *preset.alt_meters)]

    def rank(fit: TempoFit, alt: TempoAlternative) -> float:
        return alt.score - (0.0 if alt.beats_per_bar == preset.beats_per_bar else METER_COST)

    best = max(fits, key=lambda f: (rank(f, f.alternatives[0]), f.tempo_map.beats_per_bar == preset.beats_per_bar))
    # Each alternative's score includes its meter's cost, so the list reads best first.
    merged = sorted((replace(a, score=round(rank(f, a), 6)) for f in fits for a in f.alternatives),
                    key=lambda a: (-a.score, a.beats_per_bar != preset.beats_per_bar, a.tempo_bpm))
    chosen = replace(best.alternatives[0], score=round(rank(best, best.alternatives[0]), 6))
    alternatives = [chosen] + [a for a in merged if a != chosen][:n_alternatives - 1]
    return replace(best, alternatives=tuple(alternatives))


def _fit_meter(cue: Cue, *, preset: Preset, fps: Fraction, min_bpm: float | None = None,
               max_bpm: float | None = None, beats_per_bar: int | None = None,
               step_bpm: float = 0.1, max_change: float = DEFAULT_MAX_CHANGE,
               n_alternatives: int = 3, allow_pickup: bool = True) -> TempoFit:
    """Fit a tempo map to `cue` so its scored hits land exactly on beats.

    The range and meter come from `preset` unless min_bpm/max_bpm/beats_per_bar are given.
    max_change: the largest change between any two tempos of the map, as a fraction
    (0.08 = 8 %): every segment stays within a band around the base tempo that is that
    wide, so no change — at a hit, inside a bar — is larger. Every tempo stays in the range.
    Weak hits (strength < STRONG_STRENGTH) that no beat can reach may sit on an eighth.
    allow_pickup: the cue may start a few beats before its first downbeat (beat 0 is
    always the first downbeat; the cue then starts at a negative beat).
    fps: the cut's frame rate, for errors in frames.
    """
    lo_range = preset.min_bpm if min_bpm is None else float(min_bpm)
    hi_range = preset.max_bpm if max_bpm is None else float(max_bpm)
    bpb = preset.beats_per_bar if beats_per_bar is None else int(beats_per_bar)
    if not 0 < lo_range < hi_range:
        raise InputError(f"tempo range {lo_range}..{hi_range} BPM is empty or not positive")
    if bpb < 1:
        raise InputError(f"beats_per_bar = {bpb} must be at least 1")
    if not 0 < step_bpm <= hi_range - lo_range:
        raise InputError(f"step_bpm = {step_bpm} must be in (0, {hi_range - lo_range}]")
    if not 0 < max_change < 0.5:
        raise InputError(f"max_change = {max_change} must be in (0, 0.5)")
    if n_alternatives < 1:
        raise InputError(f"n_alternatives = {n_alternatives} must be at least 1")
    if cue.end_s <= cue.start_s:
        raise InputError(f"cue {cue.id} ends ({cue.end_s}) at or before it starts ({cue.start_s})")
    start, dur = cue.start_s, cue.end_s - cue.start_s

    # Which scored hits can take part at all.
    unhonoured: dict[int, str] = {}
    at_start: list[int] = []
    inside: list[int] = []
    for k, h in enumerate(cue.hits):
        if not h.scored:
            continue
        if h.t_s < start - _EPS:
            unhonoured[k] = f"at {h.t_s:.3f} s, before the cue starts ({start:.3f} s)"
        elif abs(h.t_s - start) <= _EPS:
            at_start.append(k)      # beat 0 is the cue start: honoured as it is
        elif h.t_s >= cue.end_s - _EPS:
            unhonoured[k] = f"at {h.t_s:.3f} s, at or after the cue end ({cue.end_s:.3f} s)"
        else:
            inside.append(k)
    inside.sort(key=lambda k: (cue.hits[k].t_s, k))
    t_rel = [cue.hits[k].t_s - start for k in inside]
    strength = [float(cue.hits[k].strength) for k in inside]
    n_requested = len(inside) + len(at_start)

    tempos = np.round(lo_range + step_bpm * np.arange(int(math.floor((hi_range - lo_range) / step_bpm + 1e-9)) + 1), 6)
    const = _constant_scores(tempos, t_rel=np.array(t_rel), strength=np.array(strength),
                             dur_s=dur, bpb=bpb)
    centre = 0.5 * (lo_range + hi_range)

    cache: dict[float, tuple[float, _Plan]] = {}

    def evaluate(i: int) -> tuple[float, _Plan]:
        base = float(tempos[i])
        if base not in cache:
            lo, hi = _band(base, max_change, lo_range, hi_range)
            plan = _plan(base, t_rel=t_rel, strength=strength, dur_s=dur, bpb=bpb, lo=lo, hi=hi,
                         max_change=max_change, pickups=allow_pickup)
            centred = 1.0 - abs(base - centre) / (0.5 * (hi_range - lo_range))
            cache[base] = (0.85 * plan.quality + 0.1 * float(const[i]) + 0.05 * centred, plan)
        return cache[base]

    # Coarse pass over the range plus the constant-tempo peaks, then refine the best.
    stride = max(1, int(round(1.0 / step_bpm)))
    for i in sorted(set(range(0, len(tempos), stride)) | set(_local_maxima(const, 12)) | {len(tempos) - 1}):
        evaluate(i)
    index = {float(t): i for i, t in enumerate(tempos)}

    def ranked() -> list[float]:
        return sorted(cache, key=lambda b: (-round(cache[b][0], 12), abs(b - centre), b))

    for b in ranked()[:2 * n_alternatives]:
        i = index[b]
        for j in range(max(0, i - stride), min(len(tempos), i + stride + 1)):
            evaluate(j)
    alternatives, chosen_plans = [], []
    for b in ranked():
        score, plan = cache[b]
        # Alternatives are different maps, not the same map reached from a nearby base.
        if (any(abs(b - a.tempo_bpm) < 1.0 for a in alternatives)
                or any((p.anchors, p.end_ticks) == (plan.anchors, plan.end_ticks) for p in chosen_plans)):
            continue
        errs = _constant_errors(b, np.array(t_rel), fps)
        alternatives.append(TempoAlternative(
            tempo_bpm=round(b, 6), beats_per_bar=bpb, score=round(score, 6),
            n_honoured=len(plan.anchors) + len(at_start), n_requested=n_requested,
            pickup_beats=plan.pickup_beats,
            mean_error_frames=errs[0], max_error_frames=errs[1], mean_error_ms=errs[2],
            max_error_ms=errs[3]))
        chosen_plans.append(plan)
        if len(alternatives) >= n_alternatives:
            break
    plan = chosen_plans[0]
    base = plan.base_bpm

    # The tempo map: one segment per anchor, each starting exactly at its hit time.
    tpb = TICKS_PER_BEAT
    # Beat 0 is the first downbeat: after a pickup of k beats the cue starts at beat −k.
    first_beat = -float(plan.pickup_beats)
    anchors = [(start, first_beat)] + [(cue.hits[inside[j]].t_s, first_beat + tick / tpb)
                                       for j, tick in plan.anchors]
    segments = []
    for (t0, b0), (t1, b1) in zip(anchors, anchors[1:]):
        segments.append(TempoSegment(t0, float(b0), (b1 - b0) * 60.0 / (t1 - t0)))
    t_last, b_last = anchors[-1]
    if plan.end_ticks is not None:
        last_tempo = plan.end_ticks / tpb * 60.0 / (cue.end_s - t_last)
    else:
        last_tempo = segments[-1].tempo_bpm if segments else base
    segments.append(TempoSegment(t_last, float(b_last), last_tempo))
    tempo_map = TempoMap(tuple(segments), bpb)
    end_on_beat = plan.end_ticks is not None
    end_beat = float(b_last + plan.end_ticks / tpb) if end_on_beat else tempo_map.s_to_beat(cue.end_s)

    honoured = {inside[j]: first_beat + tick / tpb for j, tick in plan.anchors} | \
        {k: first_beat for k in at_start}
    lo, hi = _band(base, max_change, lo_range, hi_range)
    anchor_times = [start] + [cue.hits[k].t_s for k in sorted(honoured, key=lambda k: cue.hits[k].t_s)
                              if k not in at_start]
    for k in inside:
        if k not in honoured:
            unhonoured[k] = _reason(cue.hits[k], anchor_times, start=start, lo=lo, hi=hi,
                                    base=base, max_change=max_change)

    hits, fits = [], []
    for k, h in enumerate(cue.hits):
        if k in honoured:
            b = honoured[k]
            fits.append(HitFit(replace(h, scored=True), float(b), tempo_map.beat_to_s(b) - h.t_s,
                               b % bpb == 0))
            hits.append(replace(h, scored=True))
        else:
            b = round(tempo_map.s_to_beat(h.t_s))
            hits.append(replace(h, scored=False))
            fits.append(HitFit(hits[-1], float(b), tempo_map.beat_to_s(b) - h.t_s, b % bpb == 0))
    return TempoFit(
        cue=replace(cue, hits=tuple(hits)), tempo_map=tempo_map, base_bpm=base,
        hit_fits=tuple(fits), alternatives=tuple(alternatives),
        unhonoured=tuple((replace(cue.hits[k], scored=False), unhonoured[k]) for k in sorted(unhonoured)),
        end_beat=end_beat, end_on_beat=end_on_beat)


def _reason(hit: Hit, anchor_times: list[float], *, start: float, lo: float, hi: float,
            base: float, max_change: float) -> str:
    """Why a scored hit was not honoured, in words a composer reads."""
    grid = 1 if hit.strength >= STRONG_STRENGTH else TICKS_PER_BEAT
    unit = "beat" if grid == 1 else "eighth"
    one_s = 60.0 / hi / grid
    near = [t for t in anchor_times[1:] if abs(t - hit.t_s) < one_s]
    if near:
        t = min(near, key=lambda t: abs(t - hit.t_s))
        return (f"{abs(t - hit.t_s) * 1e3:.0f} ms from the stronger hit at {t:.3f} s: less than "
                f"one {unit} even at {hi:.1f} BPM")
    before = [t for t in anchor_times if t < hit.t_s]
    t_prev = before[-1] if before else start
    what = "the cue start" if t_prev == start else f"the hit at {t_prev:.3f} s"
    gap = hit.t_s - t_prev
    if gap < one_s:
        return f"{gap * 1e3:.0f} ms after {what}: less than one {unit} even at {hi:.1f} BPM"
    if not _tick_range(gap, lo, hi, grid):
        n = max(1, round(gap * base * grid / 60.0))
        return (f"{gap:.3f} s after {what} holds no whole number of {unit}s within {lo:.1f}–{hi:.1f} "
                f"BPM (the {max_change:.0%} tempo band around {base:.1f}); {n} {unit}s would need "
                f"{n * 60.0 / gap / grid:.1f} BPM")
    return (f"honouring it would stop a stronger hit or the cue end from landing within "
            f"the {max_change:.0%} tempo band around {base:.1f} BPM")
