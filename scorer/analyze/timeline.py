"""Using the editor's timeline instead of detected cuts: its cuts and dissolves become the
shots, its markers become hits."""
from __future__ import annotations

from dataclasses import replace

from scorer.analyze.shots import describe_shots, shots_from_boundaries
from scorer.io.timeline import EditorTimeline
from scorer.types import Analysis, Transition


def apply_timeline(analysis: Analysis, timeline: EditorTimeline) -> Analysis:
    """The analysis with the editor's shots and markers (picture and sound features kept).

    A dissolve starts its new shot at its edit point.
    """
    n = analysis.source.n_frames
    kinds = {c: "cut" for c in timeline.cuts if 0 < c < n}
    kinds.update({edit: kind for _, edit, _, kind in timeline.transitions if 0 < edit < n})
    shots = shots_from_boundaries(tuple(sorted(kinds.items())), frame_times_s=analysis.frame_times_s,
                                  end_s=analysis.source.duration_s, motion=analysis.motion,
                                  brightness=analysis.brightness)
    shots = describe_shots(shots, {"contrast": analysis.contrast, "saturation": analysis.saturation,
                                   "warmth": analysis.warmth, "brightness": analysis.brightness})
    markers = tuple((f, name) for f, name in timeline.markers if 0 <= f < n)
    times = analysis.frame_times_s
    end_s = analysis.source.duration_s
    transitions = tuple(Transition(float(times[a]) if a < n else end_s, float(times[b]) if b < n else end_s, kind)
                        for a, _, b, kind in timeline.transitions if 0 <= a < b)
    return replace(analysis, shots=shots, markers=markers, transitions=transitions)
