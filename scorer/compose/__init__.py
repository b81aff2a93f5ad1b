"""compose: CueSheet → Score.

For each cue: pick its preset, fit a tempo map so the scored hits land on beats, choose a
key and chords, and arrange the layers around intensity and dialogue. Deterministic: the
same cue sheet, presets and seed give the same Score. Each cue draws from its own
generator (seed + a stable hash of its id), so editing one cue leaves the others as they
were; the theme comes from the seed alone, so it recurs across cues.
"""
from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np

from scorer.compose.arrange import arrange
from scorer.compose.theme import Motif, make_motif
from scorer.compose.harmony import choose_tonic, plan_chords
from scorer.compose.presets import Preset, choose_preset, load_preset_file, load_presets
from scorer.compose.tempo import TempoAlternative, TempoFit, fit_tempo
from scorer.errors import InputError, PresetError
from scorer.types import Cue, CueScore, CueSheet, Score, Span

__all__ = ["compose", "compose_cue", "cue_rng", "preset_for", "fit_tempo", "TempoFit",
           "TempoAlternative", "load_presets", "load_preset_file", "choose_preset", "Preset"]


def cue_rng(seed: int, cue_id: str) -> np.random.Generator:
    """The cue's own generator: seed and a stable hash of the id (never Python's hash())."""
    return np.random.default_rng([seed, zlib.crc32(cue_id.encode("utf-8"))])


def preset_for(cue: Cue, presets: dict[str, Preset], *, preset_override: str | None = None) -> Preset:
    """The preset a cue is composed with: the override, else the cue's own, else the one
    nearest its mood (when the cue names none)."""
    name = preset_override or cue.preset or choose_preset(cue.valence, cue.arousal, presets)
    if name not in presets:
        source = "preset_override" if preset_override else f"cue {cue.id}"
        raise PresetError(f"{source} names preset {name!r}; available: {', '.join(sorted(presets))}")
    return presets[name]


def compose_cue(cue: Cue, *, preset: Preset, fps, dialogue: tuple[Span, ...], seed: int,
                motif: Motif | None = None) -> tuple[CueScore, TempoFit]:
    """One cue's music, and the tempo fit behind it (alternatives, unhonoured hits).

    The returned cue carries the preset actually used (an override or a mood choice).
    """
    rng = cue_rng(seed, cue.id)
    cue = replace(cue, preset=preset.name)
    fit = fit_tempo(cue, preset=preset, fps=fps)
    honoured = tuple((hf.hit, hf.beat) for hf in fit.hit_fits if hf.hit.scored)
    bpb = preset.beats_per_bar

    def chord_bars_at(bar: int) -> int:
        t = min(fit.tempo_map.beat_to_s((bar + 0.5) * bpb), cue.end_s)
        return preset.band(cue.intensity_at(t)).chord_bars

    tonic = choose_tonic(preset, rng)
    harmony = plan_chords(preset=preset, tonic=tonic, tempo_map=fit.tempo_map, end_beat=fit.end_beat,
                          hit_beats=tuple(b for _, b in honoured), chord_bars_at=chord_bars_at, rng=rng)
    arrangement = arrange(fit.cue, preset=preset, harmony=harmony, tempo_map=fit.tempo_map,
                          end_beat=fit.end_beat, hits=honoured, dialogue=dialogue,
                          motif=motif or make_motif(seed, bpb))
    chords = tuple((c.start_s, c.symbol) for c in harmony.chords)
    return CueScore(cue=fit.cue, tempo_map=fit.tempo_map, key=harmony.key, chords=chords,
                    parts=arrangement.parts, hit_fits=fit.hit_fits, tail_s=arrangement.tail_s,
                    alternatives=fit.alternatives, unhonoured=fit.unhonoured), fit


def compose(cue_sheet: CueSheet, *, seed: int = 0, presets: dict[str, Preset] | None = None,
            preset_override: str | None = None) -> Score:
    """The temp score of every cue in `cue_sheet`.

    seed: a non-negative integer; the same inputs and seed give an identical Score.
    presets: name → Preset (default: load_presets()). preset_override: compose every cue
    with this preset instead of the one the cue names.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    presets = load_presets() if presets is None else presets
    if preset_override is not None and preset_override not in presets:
        raise PresetError(f"preset_override {preset_override!r} is not a preset; available: "
                          f"{', '.join(sorted(presets))}")
    scores = []
    for cue in sorted(cue_sheet.cues, key=lambda c: (c.start_s, c.id)):
        preset = preset_for(cue, presets, preset_override=preset_override)
        cue_score, _ = compose_cue(cue, preset=preset, fps=cue_sheet.source.fps,
                                   dialogue=cue_sheet.dialogue, seed=int(seed))
        scores.append(cue_score)
    return Score(source=cue_sheet.source, cues=tuple(scores), seed=int(seed))
