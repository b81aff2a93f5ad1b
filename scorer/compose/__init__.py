"""compose: CueSheet → Score.

For each cue: pick its preset, fit a tempo map so the scored hits land on beats, choose a
key and chords, and arrange the layers around intensity and dialogue. Deterministic: the
same cue sheet, presets, theme and seed give the same Score. Each cue draws from its own
generators (seed + a stable hash of its id), so editing one cue leaves the others as they
were; the theme comes from the seed (or the user), so it recurs across cues.

Cues that follow each other without a gap are one passage of music: the second takes a
key close to the first's, and the first's cadence modulates into it.

refine() changes one thing of one cue — seed, preset, intensity, tempo, instruments or
theme — and keeps everything else, including every other cue.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from scorer.compose.arrange import FINAL_RING_S, Variation, arrange
from scorer.compose.harmony import choose_tonic, fifths_apart, parse_key, plan_chords
from scorer.music.presets import Preset, choose_preset, in_meter, load_preset_file, load_presets
from scorer.compose.tempo import DEFAULT_MAX_CHANGE, TempoFit, fit_tempo
from scorer.compose.theme import Motif, develop, load_theme, make_motif
from scorer import seeds
from scorer.errors import InputError, PresetError
from scorer.types import Cue, CueScore, CueSheet, Score, Span, TempoAlternative

__all__ = ["compose", "compose_cue", "refine", "CueKey", "cue_rng", "preset_for", "fit_tempo",
           "TempoFit", "TempoAlternative", "load_presets", "load_preset_file", "choose_preset",
           "Preset", "Motif", "make_motif", "load_theme", "score_theme", "CONNECT_S", "THEME"]

# Cues closer than this are heard as one passage: the music carries on across the join.
CONNECT_S = 0.5
_KEY, _HARMONY, _ARRANGE = 1, 2, 3   # independent generator streams of a cue


def cue_rng(seed: int, cue_id: str, stream: int = 0) -> np.random.Generator:
    """The cue's own generator: seed, a stable hash of the id (never Python's hash()) and
    a stream number, so drawing a key does not shift the chords drawn after it."""
    return seeds.rng(seed, cue_id, stream)


def preset_for(cue: Cue, presets: dict[str, Preset], *, preset_override: str | None = None) -> Preset:
    """The preset a cue is composed with: the override, else the cue's own, else the one
    nearest its mood (when the cue names none)."""
    name = preset_override or cue.preset or choose_preset(cue.valence, cue.arousal, presets)
    if name not in presets:
        source = "preset_override" if preset_override else f"cue {cue.id}"
        raise PresetError(f"{source} names preset {name!r}; available: {', '.join(sorted(presets))}")
    return presets[name]


@dataclass(frozen=True)
class CueKey:
    """A cue's key, and how it joins its neighbours."""
    tonic: str
    mode: str
    into: tuple[str, str] | None = None   # the next cue's key, when it follows without a gap
    entered: bool = False                 # the previous cue runs into this one


def _button_beat(fit: TempoFit, final_s: float | None) -> float:
    """The beat of the cue's last chord: its end — or, when the picture ends too soon
    after it for that chord to be heard (the reel's last cue), the last bar line (else
    beat) at least FINAL_RING_S before the picture's end."""
    tm, end = fit.tempo_map, fit.end_beat
    if final_s is None or final_s - fit.cue.end_s >= FINAL_RING_S:
        return end
    latest = tm.s_to_beat(final_s - FINAL_RING_S)
    start = tm.s_to_beat(fit.cue.start_s)
    bpb = tm.beats_per_bar
    bar_line = math.floor(latest / bpb + 1e-9) * bpb
    if bar_line >= max(start, 0.0) + bpb - 1e-9:
        return float(bar_line)
    beat = math.floor(latest + 1e-9)
    return float(beat) if beat > start + 1 else end


def compose_cue(cue: Cue, *, preset: Preset, fps, dialogue: tuple[Span, ...], seed: int,
                motif: Motif, key: CueKey | None = None, tempo_bpm: float | None = None,
                max_change: float = DEFAULT_MAX_CHANGE, final_s: float | None = None) -> tuple[CueScore, TempoFit]:
    """One cue's music, and the tempo fit behind it (alternatives, unhonoured hits).

    motif: the theme (it is developed here for the cue's meter and mood). key: the cue's
    key and joins (default: drawn from the preset with the cue's generator). tempo_bpm:
    fit around this tempo (±max_change) instead of the preset's range. final_s: the
    picture's end when this is the reel's last cue (its last chord must ring before it).
    The returned cue carries the preset actually used (an override or a mood choice).
    """
    cue = replace(cue, preset=preset.name)
    if tempo_bpm is None:
        fit = fit_tempo(cue, preset=preset, fps=fps, max_change=max_change)
    else:
        if not 20.0 <= tempo_bpm <= 300.0:
            raise InputError(f"cue {cue.id}: tempo {tempo_bpm} BPM is outside 20–300")
        fit = fit_tempo(cue, preset=preset, fps=fps, max_change=max_change,
                        min_bpm=tempo_bpm * (1 - max_change), max_bpm=tempo_bpm * (1 + max_change))
    honoured = tuple((hf.hit, hf.beat) for hf in fit.hit_fits if hf.hit.scored)
    preset = in_meter(preset, fit.tempo_map.beats_per_bar)     # the meter the fit chose
    bpb = preset.beats_per_bar

    def chord_bars_at(bar: int) -> int:
        t = min(fit.tempo_map.beat_to_s((bar + 0.5) * bpb), cue.end_s)
        return preset.band(cue.intensity_at(t)).chord_bars

    if key is None:
        key = CueKey(choose_tonic(preset, cue_rng(seed, cue.id, _KEY)), preset.mode)
    button = _button_beat(fit, final_s)
    harmony = plan_chords(preset=preset, tonic=key.tonic, tempo_map=fit.tempo_map, end_beat=button,
                          hit_beats=tuple(b for _, b in honoured if b < button - 1e-9), chord_bars_at=chord_bars_at,
                          rng=cue_rng(seed, cue.id, _HARMONY), into=key.into, open_on_tonic=key.entered)
    arrangement = arrange(fit.cue, preset=preset, harmony=harmony, tempo_map=fit.tempo_map,
                          end_beat=button, hits=honoured, dialogue=dialogue,
                          motif=develop(motif, beats_per_bar=bpb, arousal=cue.arousal),
                          variation=Variation.draw(cue_rng(seed, cue.id, _ARRANGE), preset),
                          final_s=final_s if button != fit.end_beat else None)
    chords = tuple((c.start_s, c.symbol) for c in harmony.chords)
    sections = tuple((sec.kind, round(max(fit.tempo_map.beat_to_s(sec.first_bar * bpb), cue.start_s), 6))
                     for sec in arrangement.form.sections)
    idioms = tuple((part.name, arrangement.idioms.get(part.name, "")) for part in arrangement.parts
                   if part.name in arrangement.idioms)
    return CueScore(cue=fit.cue, tempo_map=fit.tempo_map, key=harmony.key, chords=chords,
                    parts=arrangement.parts, hit_fits=fit.hit_fits, tail_s=arrangement.tail_s,
                    alternatives=fit.alternatives, unhonoured=fit.unhonoured,
                    sections=sections, idioms=idioms), fit


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def score_theme(cues: list[tuple[Cue, Preset]], seed: int) -> Motif:
    """The generated theme of a score, in the meter that most of its music is in."""
    time_in: Counter[int] = Counter()
    for cue, preset in cues:
        time_in[preset.beats_per_bar] += cue.duration_s
    bpb = min(time_in, key=lambda b: (-time_in[b], b)) if time_in else 4
    return make_motif(seed, bpb)


def _connected(a: Cue, b: Cue) -> bool:
    return 0 <= b.start_s - a.end_s <= CONNECT_S


# The key plan of a reel: a cue after a gap in the same mood stays within this many steps
# of the circle of fifths of the cue before (the same, dominant, subdominant or relative
# key); where the picture changes mood the music may move further (a mediant shift).
SAME_MOOD_FIFTHS, NEW_MOOD_FIFTHS = 1, 3


def _related_tonic(preset: Preset, rng: np.random.Generator, before: tuple[str, str], *, new_mood: bool) -> str:
    """A tonic of the preset related to the key of the cue before: within SAME_MOOD_FIFTHS
    (NEW_MOOD_FIFTHS where the mood changes) on the circle of fifths, drawn with the cue's
    generator; the nearest candidates when none is that close."""
    reach = NEW_MOOD_FIFTHS if new_mood else SAME_MOOD_FIFTHS
    dist = {t: fifths_apart(before, (t, preset.mode)) for t in preset.tonics}
    near = [t for t in preset.tonics if dist[t] <= reach] or [t for t in preset.tonics if dist[t] == min(dist.values())]
    return str(near[int(rng.integers(len(near)))])


def _keys(cues: list[tuple[Cue, Preset]], seed: int) -> list[CueKey]:
    """Every cue's key in time order, as a key plan: a cue that follows another without a
    gap takes a key near it (the earlier cue then modulates into it); after a gap the key
    relates to the cue before — closely in the same mood, more freely where the mood (the
    preset) changes with the picture."""
    keys: list[CueKey] = []
    for i, (cue, preset) in enumerate(cues):
        entered = i > 0 and _connected(cues[i - 1][0], cue)
        rng = cue_rng(seed, cue.id, _KEY)
        if entered or i == 0:
            after = (keys[-1].tonic, keys[-1].mode) if entered else None
            tonic = choose_tonic(preset, rng, after=after)
        else:
            tonic = _related_tonic(preset, rng, (keys[-1].tonic, keys[-1].mode),
                                   new_mood=preset.name != cues[i - 1][1].name)
        keys.append(CueKey(tonic, preset.mode, entered=entered))
    for i in range(len(keys) - 1):
        if keys[i + 1].entered:
            keys[i] = replace(keys[i], into=(keys[i + 1].tonic, keys[i + 1].mode))
    return keys


def _final_s(cue: Cue, duration_s: float, *, last: bool) -> float | None:
    """The picture's end, for the reel's last cue (its last chord must be heard)."""
    return duration_s if last and cue.end_s >= duration_s - 5.0 else None


THEME = "theme"   # the name of the score's main theme among its motifs


def _motif_plan(cue_sheet: CueSheet, motifs: dict[str, Motif] | None, cue_motifs: dict[str, str] | None,
                *, seed: int, bpb: int) -> tuple[dict[str, Motif], dict[str, str]]:
    """The score's named motifs and which cue develops which: a name a cue asks for that
    no motif was given for is generated from the seed and the name."""
    motifs = dict(motifs or {})
    plan = dict(cue_motifs or {})
    if THEME in motifs:
        raise InputError(f"{THEME!r} names the score's main theme (theme=…); give other motifs other names")
    ids = {c.id for c in cue_sheet.cues}
    for cue_id, name in sorted(plan.items()):
        if cue_id not in ids:
            raise InputError(f"cue_motifs names cue {cue_id!r}, which is not in the cue sheet; cues: "
                             f"{', '.join(sorted(ids))}")
        if not isinstance(name, str) or not name.strip():
            raise InputError(f"cue {cue_id}: the motif name must be a non-empty string, got {name!r}")
        if name != THEME and name not in motifs:
            motifs[name] = make_motif(seed, bpb, name)
    return motifs, plan


def compose(cue_sheet: CueSheet, *, seed: int = 0, presets: dict[str, Preset] | None = None,
            preset_override: str | None = None, theme: Motif | None = None,
            motifs: dict[str, Motif] | None = None, cue_motifs: dict[str, str] | None = None) -> Score:
    """The temp score of every cue in `cue_sheet`.

    seed: a non-negative integer; the same inputs and seed give an identical Score.
    presets: name → Preset (default: load_presets()). preset_override: compose every cue
    with this preset instead of the one the cue names. theme: the user's theme (see
    load_theme); default: one generated from the seed. motifs: other named motifs (a
    character's theme, a threat); cue_motifs: cue id → the motif it develops ("theme" or
    a name in motifs; a name not in motifs is generated from the seed and the name).
    Cues not named there develop the theme.
    """
    seed = _check_seed(seed)
    presets = load_presets() if presets is None else presets
    if preset_override is not None and preset_override not in presets:
        raise PresetError(f"preset_override {preset_override!r} is not a preset; available: "
                          f"{', '.join(sorted(presets))}")
    cues = [(c, preset_for(c, presets, preset_override=preset_override))
            for c in sorted(cue_sheet.cues, key=lambda c: (c.start_s, c.id))]
    theme = theme if theme is not None else score_theme(cues, seed)
    named, plan = _motif_plan(cue_sheet, motifs, cue_motifs, seed=seed, bpb=theme.beats_per_bar)
    scores = []
    for k, ((cue, preset), key) in enumerate(zip(cues, _keys(cues, seed))):
        motif = named.get(plan.get(cue.id, THEME), theme)
        cue_score, _ = compose_cue(cue, preset=preset, fps=cue_sheet.source.fps, dialogue=cue_sheet.dialogue,
                                   seed=seed, motif=motif, key=key,
                                   final_s=_final_s(cue, cue_sheet.source.duration_s, last=k == len(cues) - 1))
        scores.append(cue_score)
    return Score(source=cue_sheet.source, cues=tuple(scores), seed=seed, theme=theme,
                 motifs=tuple(sorted(named.items())), cue_motifs=tuple(sorted(plan.items())))


def with_mean_intensity(cue: Cue, intensity: float) -> Cue:
    """The cue with its intensity curve moved so its mean is `intensity` (0…1), its shape
    kept (clipped to 0…1); a cue without a curve gets a flat one."""
    if not 0.0 <= intensity <= 1.0:
        raise InputError(f"cue {cue.id}: intensity must be in 0…1, got {intensity}")
    if not cue.intensity:
        return replace(cue, intensity=((cue.start_s, intensity),))
    shift = intensity - float(np.mean([v for _, v in cue.intensity]))
    return replace(cue, intensity=tuple((t, float(np.clip(v + shift, 0.0, 1.0))) for t, v in cue.intensity))


def refine(score: Score, cue_id: str, *, dialogue: tuple[Span, ...] = (), presets: dict[str, Preset] | None = None,
           seed: int | None = None, preset: str | None = None, intensity: float | None = None,
           tempo_bpm: float | None = None, instrumentation: dict[str, int] | None = None,
           theme: Motif | None = None, cue: Cue | None = None) -> Score:
    """`score` with one cue composed again, changing only what is asked:

    seed: new material (chords, voicings, tune placement), same timing and key.
    preset: another preset (its tempo range, meter, harmony and instruments); the hits
      stay the same, and the tonic where the new preset offers it.
    intensity: 0…1, the cue's intensity curve moved so its mean is this (its shape kept).
    tempo_bpm: the tempo map refitted around this tempo (±8 %).
    instrumentation: layer → General MIDI program (e.g. {"melody": 71}); the notes stay.
    theme: another theme for this cue.
    cue: an edited version of the cue (moved in/out, hits added or removed).
    dialogue: the cut's dialogue spans (CueSheet.dialogue), so the music keeps clear of them.
    Every other cue is returned unchanged; the result's seed is the score's.
    """
    presets = load_presets() if presets is None else presets
    index = next((i for i, cs in enumerate(score.cues) if cs.cue.id == cue_id), None)
    if index is None:
        raise InputError(f"no cue {cue_id!r} in the score; cues: {', '.join(cs.cue.id for cs in score.cues)}")
    old = score.cues[index]
    base_cue = cue if cue is not None else old.cue
    if base_cue.id != cue_id:
        raise InputError(f"the edited cue is {base_cue.id!r}, not {cue_id!r}")
    name = preset or old.cue.preset
    if name not in presets:
        raise PresetError(f"cue {cue_id}: no preset {name!r}; available: {', '.join(sorted(presets))}")
    p = presets[name]
    if instrumentation:
        layers = {layer.name: layer for layer in p.layers}
        for layer_name, program in instrumentation.items():
            if layer_name not in layers:
                raise InputError(f"cue {cue_id}: preset {p.name} has no layer {layer_name!r}; "
                                 f"layers: {', '.join(layers)}")
            if isinstance(program, bool) or not isinstance(program, int) or not 0 <= program <= 127:
                raise InputError(f"cue {cue_id}: {layer_name} program must be a General MIDI program 0…127, "
                                 f"got {program!r}")
        p = replace(p, layers=tuple(replace(layer, program=instrumentation.get(layer.name, layer.program))
                                    for layer in p.layers))
    if intensity is not None:
        base_cue = with_mean_intensity(base_cue, intensity)
    tonic, mode = parse_key(old.key)
    if p.mode != mode or tonic not in p.tonics:
        tonic = choose_tonic(p, cue_rng(score.seed, cue_id, _KEY), after=(tonic, mode))
    prev = score.cues[index - 1] if index > 0 else None
    nxt = score.cues[index + 1] if index + 1 < len(score.cues) else None
    key = CueKey(tonic, p.mode,
                 into=parse_key(nxt.key) if nxt is not None and _connected(base_cue, nxt.cue) else None,
                 entered=prev is not None and _connected(prev.cue, base_cue))
    assigned = dict(score.motifs).get(dict(score.cue_motifs).get(cue_id, THEME))
    motif = theme or assigned or score.theme or make_motif(score.seed, p.beats_per_bar)
    new, _ = compose_cue(base_cue, preset=p, fps=score.source.fps, dialogue=dialogue,
                         seed=score.seed if seed is None else _check_seed(seed), motif=motif, key=key,
                         tempo_bpm=tempo_bpm,
                         final_s=_final_s(base_cue, score.source.duration_s, last=index == len(score.cues) - 1))
    return replace(score, cues=score.cues[:index] + (new,) + score.cues[index + 1:])
