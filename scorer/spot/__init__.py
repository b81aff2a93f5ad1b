"""Analysis → CueSheet: where music plays, what it feels like, and what it must hit."""
from __future__ import annotations

from dataclasses import replace

from scorer.spot.cues import cue_id, segment
from scorer.spot.hits import candidates, select
from scorer.spot.mood import intensity_curve
from scorer.spot.notes import Note, apply_notes
from scorer.types import Analysis, Cue, CueSheet


def spot(analysis: Analysis, *, presets=None, preset: str | None = None, min_cue_s: float = 6.0,
         reel: int = 1, notes: tuple[Note, ...] = (), dry_dialogue: bool = True) -> CueSheet:
    """Spot the cut into cues `1M1`, `1M2`, … with mood, preset, intensity and ranked hits.

    presets: name → Preset (default: the shipped presets). preset: force one for all cues.
    notes: the director's notes (see spot.notes), which move mood and intensity, name a
    preset or ask for no music. dry_dialogue: leave quiet, talk-heavy scenes without music.
    """
    from scorer.music.presets import choose_preset, load_presets

    presets = presets if presets is not None else load_presets()
    if preset is not None and preset not in presets:
        from scorer.errors import InputError
        raise InputError(f"unknown preset {preset!r}; available: {', '.join(sorted(presets))}")
    all_hits = candidates(analysis)
    cues = []
    for seg in segment(analysis, min_cue_s=min_cue_s):
        noted = any(n.start_s < seg.end_s and (n.end_s is None or n.end_s > seg.start_s) for n in notes)
        if dry_dialogue and not noted and _plays_dry(seg, analysis.dialogue):
            continue
        # Cue bounds are shot bounds: frame starts already (PTS times for a variable rate).
        start_s = seg.start_s
        end_s = min(analysis.source.duration_s, seg.end_s)
        cue = Cue(
            id="", start_s=start_s, end_s=end_s,
            preset=preset or choose_preset(seg.valence, seg.arousal, presets),
            valence=round(seg.valence, 4), arousal=round(seg.arousal, 4),
            intensity=intensity_curve(analysis, start_s, end_s),
            hits=select(all_hits, start_s=start_s, end_s=end_s))
        cue = apply_notes(cue, notes, presets=presets) if notes else cue
        if cue is not None:
            cues.append(replace(cue, preset=preset) if preset else cue)
    # Numbered after the gaps are decided: a scene without music gets no number.
    cues = [replace(c, id=cue_id(reel, n)) for n, c in enumerate(cues, start=1)]
    return CueSheet(source=analysis.source, shots=analysis.shots, dialogue=analysis.dialogue,
                    cues=tuple(cues), transitions=analysis.transitions)


DRY_DIALOGUE_SHARE = 0.6
DRY_AROUSAL = -0.4


def _plays_dry(seg, dialogue) -> bool:
    """A calm scene that is mostly talk is left without music: a gap is a decision."""
    talk = sum(max(0.0, min(d.end_s, seg.end_s) - max(d.start_s, seg.start_s)) for d in dialogue)
    return seg.arousal <= DRY_AROUSAL and talk >= DRY_DIALOGUE_SHARE * seg.duration_s
