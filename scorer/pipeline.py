"""The whole job in one call: analyze → spot → compose → render → mix → deliver."""
from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Callable

from scorer.music.presets import presets_with
from scorer.errors import InputError
from scorer.io.clipstore import ClipStore, remove_stale
from scorer.settings import ScoreSettings, check
from scorer.types import CueSheet

ProgressFn = Callable[[str, float, float], None]


def load_cue_sheet(path: str | os.PathLike) -> CueSheet:
    """A cues.json written by `scorer analyze` (possibly edited by hand), validated."""
    from scorer.io.files import read_json

    try:
        return CueSheet.from_dict(read_json(path))
    except InputError as exc:
        if exc.path:
            raise
        raise InputError(str(exc), path=str(path))


def analyze_and_spot(cut: str | os.PathLike, settings: ScoreSettings | None = None, *,
                     progress: ProgressFn | None = None, timings_s: dict | None = None,
                     **changes) -> CueSheet:
    """Analyse the cut and spot it by the settings' spotting fields (or those fields as
    keywords): timeline, the editor's EDL/OTIO/FCP XML, whose cuts and markers replace
    detected cuts; notes, the director's notes file (see spot.notes); preset, one preset
    for every cue."""
    from scorer.analyze import analyze
    from scorer.spot import spot

    settings = (settings or ScoreSettings()).with_(**changes)
    timeline, notes = settings.timeline, settings.notes
    t0 = time.perf_counter()
    analysis = analyze(cut, progress=progress)
    fps = analysis.source.fps
    if timeline is not None:
        from scorer.analyze.timeline import apply_timeline
        from scorer.io.timeline import read_timeline
        analysis = apply_timeline(analysis, read_timeline(timeline, fps=fps))
    director_notes = ()
    if notes is not None:
        from scorer.spot.notes import read_notes
        director_notes = read_notes(notes, fps=fps)
    t1 = time.perf_counter()
    presets, preset = presets_with(settings.preset)
    sheet = spot(analysis, presets=presets, preset=preset, notes=director_notes)
    if timings_s is not None:
        timings_s["analyze"] = t1 - t0
        timings_s.update({f"analyze.{k}": v for k, v in analysis.timings_s.items()})
        timings_s["spot"] = time.perf_counter() - t1
    return sheet


def load_themes(settings: ScoreSettings) -> tuple[object | None, dict]:
    """The settings' theme and named motifs, read (a recording transcribed) once."""
    if settings.theme is None and not settings.motifs:
        return None, {}
    from scorer.compose.theme import load_theme

    theme = load_theme(settings.theme) if settings.theme is not None else None
    return theme, {name: load_theme(path) for name, path in settings.motifs}


def compose_score(sheet: CueSheet, settings: ScoreSettings, *, presets: dict, preset: str | None = None,
                  themes: tuple | None = None):
    """The score of `sheet` by the settings (seed, theme, motifs): what `scorer score`
    delivers and what a project's takes start from. presets, preset: the presets and the
    name of the one forced on every cue, as presets_with(settings.preset) gives them (None:
    each cue's own, as the cue sheet names it)."""
    from scorer.compose import compose

    theme, named = themes if themes is not None else load_themes(settings)
    return compose(sheet, seed=settings.seed, presets=presets, preset_override=preset, theme=theme,
                   motifs=named, cue_motifs=dict(settings.cue_motifs) or None)


def score(cut: str | os.PathLike, out_dir: str | os.PathLike, settings: ScoreSettings | None = None, *,
          cues: CueSheet | str | os.PathLike | None = None, store: ClipStore | None = None,
          backend_options: dict[str, dict] | None = None, progress: ProgressFn | None = None,
          **changes) -> dict:
    """Temp-score `cut` into out_dir; returns the report (also written as report.json).

    settings: every choice about the score (scorer.settings.ScoreSettings), or its fields
    as keywords (`score(cut, out, seed=2, spec="web")`; see ScoreSettings.with_ for the
    forms it takes). cues: an edited cue sheet (object or path to cues.json) to score
    instead of analysing. store: where the rendered clips and the cut's decoded sound are
    parked while they are mixed and delivered (the caller keeps it, and the Stems and Mix
    that read from it); default: a folder next to the outputs, removed when the run ends.
    backend_options: backend name → render options over the settings' own (a loaded model,
    window sizes …).
    """
    cut = Path(cut)
    settings = (settings or ScoreSettings()).with_(**changes)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    check(settings, out_dir, cues=cues if not isinstance(cues, CueSheet) else None,
          render_options=backend_options)
    themes = load_themes(settings)      # before the analysis: a theme that can't be read fails now
    if cues is None:
        sheet = analyze_and_spot(cut, settings, progress=progress, timings_s=timings)
    else:
        sheet = cues if isinstance(cues, CueSheet) else load_cue_sheet(cues)
        _check_same_cut(sheet, cut)
    t = time.perf_counter()
    presets, preset = presets_with(settings.preset)
    composed = compose_score(sheet, settings, presets=presets, preset=preset, themes=themes)
    timings["compose"] = time.perf_counter() - t
    if progress:
        progress("compose", 1, 1)

    # The delivery is written whole into a staging folder and appears at once as the next
    # version (deliver/versions.py): a failed or killed run leaves the last one as it was.
    from scorer.deliver import versions
    staged = versions.begin(out_dir)
    try:
        report = render_mix_deliver(composed, sheet, cut, staged.folder, settings, presets=presets, store=store,
                                    timings_s=timings, backend_options=backend_options,
                                    version=staged.version, progress=progress)
        timings["total"] = time.perf_counter() - start
        report["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        report["realtime_factor"] = round(sheet.source.duration_s / timings["total"], 2)
        report["files"]["folder"] = staged.final.name
        from scorer.io.files import write_json
        write_json(staged.folder / "settings.json", settings.resolved().to_dict())
        write_json(staged.folder / "report.json", report)
        versions.commit(staged)
    except BaseException:
        versions.abandon(staged)
        raise
    return report


def render_mix_deliver(composed, sheet: CueSheet, cut: str | os.PathLike, out_dir: str | os.PathLike,
                       settings: ScoreSettings | None = None, *, presets: dict | None = None,
                       store: ClipStore | None = None, timings_s: dict | None = None,
                       backend_options: dict[str, dict] | None = None, recorded: dict | None = None,
                       version: int | None = None, notes: tuple = (), progress: ProgressFn | None = None) -> dict:
    """A composed Score (scorer.types.Score) of `sheet` rendered, mixed under the cut's own
    sound and delivered into out_dir by the settings' render, mix and delivery fields (the
    part of score() after composing; the studio's export calls it with the takes people
    chose). timings_s collects the stages' seconds. recorded: cue id → {"start_sample",
    "groups": group → (audio file, gain)}: those cues' stems as already rendered (a neural
    take's), not rendered again. version: the delivery's number in the file names
    (deliver()). notes: review notes (scorer.types.ReviewNote) the delivery carries.
    Returns deliver()'s report."""
    from scorer.deliver import deliver
    from scorer.mix import mix
    from scorer.render.plan import render_plan

    settings = settings or ScoreSettings()
    timings = {} if timings_s is None else timings_s
    recorded = dict(recorded or {})
    unknown = sorted(set(recorded) - {cs.cue.id for cs in composed.cues})
    if unknown:
        raise InputError(f"recorded stems given for cues that are not in the score: {', '.join(unknown)}")
    to_render = replace(composed, cues=tuple(cs for cs in composed.cues if cs.cue.id not in recorded))
    backend = settings.backend
    backend_by_cue = {k: v for k, v in settings.backend_by_cue if k not in recorded} or None
    layers = settings.layers
    used = {(backend_by_cue or {}).get(cs.cue.id, backend) for cs in to_render.cues} | set(layers)
    given = settings.render_options(backend_options)
    options = {name: dict(given.get(name, {})) for name in used}
    if settings.soundfont:    # the SoundFont plays the symbolic parts (and MusicGen's melody input)
        for name in used & {"soundfont", "musicgen"}:
            options[name]["soundfont"] = settings.soundfont
    # Rendered clips and the cut's decoded sound are parked on disk while they are mixed
    # and delivered (memory follows a block, not the film), next to the outputs rather
    # than in a temporary folder that may live in RAM; removed when the run ends.
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    remove_stale(out_dir)             # what a killed earlier run left there
    with (contextlib.nullcontext(store) if store is not None else ClipStore(out_dir)) as store, \
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="scorer-beside") as beside:
        # Work that does not wait for the score runs beside its render, on the other core:
        # the cut's sound decoded (in its own process) and the procedural ambience beds
        # (numpy and scipy, which release the interpreter while they compute). AudioGen,
        # where it is used, delivers the ambience stem instead.
        production_job = beds_job = None
        if sheet.source.has_audio:
            from scorer.io.video import decode_audio
            from scorer.timebase import SAMPLE_RATE
            production_job = beside.submit(decode_audio, cut, sample_rate=SAMPLE_RATE, mono=False, into=store)
        if settings.procedural_ambience:
            from scorer.render.ambience import render_ambience
            beds_job = beside.submit(render_ambience, composed, sheet, presets=presets, store=store)
        t = time.perf_counter()
        stems = render_plan(to_render, backend_by_cue=backend_by_cue, default=backend, layers=layers,
                            options=options, progress=progress, presets=presets, store=store)
        if recorded:
            stems = with_recorded(stems, recorded, store=store)
        if beds_job is not None:
            beds = beds_job.result()
            if progress:
                progress("ambience", len(beds), len(beds))
            stems = replace(stems, groups={**stems.groups, "ambience": beds})
        timings["render"] = time.perf_counter() - t

        t = time.perf_counter()
        production = None if production_job is None else production_job.result()
        mixed = mix(stems, sheet, production_audio=production, spec=settings.spec, ducking=settings.ducking,
                    crossfade_s=settings.crossfade_s, progress=progress)
        timings["mix"] = time.perf_counter() - t

        t = time.perf_counter()
        report = deliver(composed, mixed, sheet, out_dir, cut_path=cut, timings_s=dict(timings),
                         preview=settings.preview, project=settings.project, per_cue_stems=settings.per_cue_stems,
                         click=settings.click, burn_in=settings.burn_in, version=version, notes=tuple(notes),
                         progress=progress)
        timings["deliver"] = time.perf_counter() - t
    return report


def with_recorded(stems, recorded: dict, *, store: ClipStore):
    """`stems` with the recorded cues' stems added (see render_mix_deliver), each file read
    block by block into the store (memory follows a block, not the cue), its gain applied."""
    import numpy as np
    import soundfile as sf

    from scorer.timebase import SAMPLE_RATE
    from scorer.types import Clip

    groups = {g: list(c) for g, c in stems.groups.items()}
    for cue_id, rec in sorted(recorded.items()):
        for group, (path, gain) in sorted(rec["groups"].items()):
            try:
                info = sf.info(str(path))
                if info.samplerate != SAMPLE_RATE or info.channels != 2:
                    raise InputError(f"a take's stem must be stereo at {SAMPLE_RATE} Hz, "
                                     f"got {info.channels} channels at {info.samplerate} Hz", path=str(path))
                blocks = sf.blocks(str(path), blocksize=1 << 16, dtype="float32", always_2d=True)
                audio = store.write(f"{cue_id}-{group}-take", (b.T * np.float32(gain) for b in blocks))
            except sf.LibsndfileError as exc:
                raise InputError(f"cannot read a take's stem ({exc})", path=str(path))
            groups.setdefault(group, []).append(Clip(int(rec["start_sample"]), audio, label=cue_id))
    return replace(stems, groups={g: tuple(sorted(c, key=lambda clip: clip.start_sample))
                                  for g, c in groups.items()})


def _check_same_cut(sheet: CueSheet, cut: Path) -> None:
    from scorer.io.video import probe
    from scorer.timebase import frame_to_s

    src = probe(cut)
    if abs(src.duration_s - sheet.source.duration_s) > frame_to_s(2, src.fps) or src.fps != sheet.source.fps:
        raise InputError(
            f"the cue sheet was made for a cut of {sheet.source.duration_s:.3f} s at "
            f"{sheet.source.fps} fps, but this cut is {src.duration_s:.3f} s at {src.fps} fps; "
            "analyse the new cut (re-conform is not automatic yet)", path=str(cut))
