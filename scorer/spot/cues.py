"""Segmentation of the cut into musical cues: groups of shots that share pace and mood."""
from __future__ import annotations

from dataclasses import dataclass

from scorer.spot.mood import arousal_of, features, valence_of
from scorer.types import Analysis


@dataclass(frozen=True)
class Segment:
    start_s: float
    end_s: float
    valence: float
    arousal: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _segment(analysis: Analysis, start_s: float, end_s: float) -> Segment:
    f = features(analysis, start_s, end_s)
    return Segment(start_s, end_s, valence_of(f), arousal_of(f))


def segment(analysis: Analysis, *, min_cue_s: float = 6.0, max_cue_s: float = 150.0,
            merge_below: float = 0.35) -> list[Segment]:
    """Cue spans from the shot list, by agglomerative merging.

    Start from one segment per shot; repeatedly merge the adjacent pair whose mood
    differs least (|Δvalence| + |Δarousal|, short segments weighing less) until every
    segment is at least min_cue_s long and every remaining boundary separates moods that
    differ by more than merge_below. A merge that would exceed max_cue_s is avoided while
    another is possible. Cue bounds are shot bounds, so they fall on cuts.
    """
    source = analysis.source
    bounds = [s.start_s for s in analysis.shots] + [source.duration_s]
    if not analysis.shots:
        bounds = [0.0, source.duration_s]
    segs = [_segment(analysis, a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
    while len(segs) > 1:
        costs = []
        for i, (a, b) in enumerate(zip(segs, segs[1:])):
            diff = abs(a.valence - b.valence) + abs(a.arousal - b.arousal)
            short = min(a.duration_s, b.duration_s) < min_cue_s
            too_long = a.duration_s + b.duration_s > max_cue_s
            # Short segments must merge whatever their mood (with their most similar
            # neighbour first); long merges are a last resort.
            costs.append((not short, too_long, diff, i))
        not_short, too_long, cost, i = min(costs)
        if not_short and (too_long or cost > merge_below):
            break
        a, b = segs[i], segs[i + 1]
        segs[i:i + 2] = [_segment(analysis, a.start_s, b.end_s)]
    return segs


def cue_id(reel: int, number: int) -> str:
    """'1M1', '1M2', … (reel, music cue number)."""
    return f"{reel}M{number}"


