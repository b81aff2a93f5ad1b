"""Analysis → CueSheet: where music plays, what it feels like, and what it must hit."""
from __future__ import annotations

from scorer.spot.cues import cue_id, segment
from scorer.spot.hits import candidates, select
from scorer.spot.mood import intensity_curve
from scorer.timebase import frame_to_s, s_to_frame
from scorer.types import Analysis, Cue, CueSheet


def spot(analysis: Analysis, *, presets=None, preset: str | None = None, min_cue_s: float = 6.0,
         reel: int = 1) -> CueSheet:
    """Spot the cut into cues `1M1`, `1M2`, … with mood, preset, intensity and ranked hits.

    presets: name → Preset (default: the shipped presets). preset: force one for all cues.
    """
    from scorer.compose.presets import choose_preset, load_presets

    presets = presets if presets is not None else load_presets()
    if preset is not None and preset not in presets:
        from scorer.errors import InputError
        raise InputError(f"unknown preset {preset!r}; available: {', '.join(sorted(presets))}")
    fps = analysis.source.fps
    all_hits = candidates(analysis)
    cues = []
    for n, seg in enumerate(segment(analysis, min_cue_s=min_cue_s), start=1):
        # Cue bounds on frame starts (they are shot bounds already; the cut's end may not be).
        start_s = frame_to_s(s_to_frame(seg.start_s, fps), fps)
        end_s = min(analysis.source.duration_s, seg.end_s)
        cues.append(Cue(
            id=cue_id(reel, n), start_s=start_s, end_s=end_s,
            preset=preset or choose_preset(seg.valence, seg.arousal, presets),
            valence=round(seg.valence, 4), arousal=round(seg.arousal, 4),
            intensity=intensity_curve(analysis, start_s, end_s),
            hits=select(all_hits, start_s=start_s, end_s=end_s)))
    return CueSheet(source=analysis.source, shots=analysis.shots, dialogue=analysis.dialogue,
                    cues=tuple(cues))
