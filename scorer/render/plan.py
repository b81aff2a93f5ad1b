"""Several render backends in one score: a backend per cue, and layers over every cue.

`render_plan` splits the score by cue (each cue rendered by the backend it is given, the
rest by `default`), renders `layers` (e.g. "audiogen" for ambience beds) over all cues,
and merges the Stems: clips of the same group name from different backends sit side by
side. Each backend gets its own options; an unknown backend name fails before anything
renders (no silent fallback).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

from scorer.errors import InputError
from scorer.io.clipstore import ClipStore
from scorer.types import Score, Stems


def render_plan(score: Score, *, backend_by_cue: Mapping[str, str] | None = None, default: str = "soundfont",
                layers: Sequence[str] = (), options: Mapping[str, dict] | None = None, progress=None,
                presets=None, store=None) -> Stems:
    """Stems of `score`, each cue by backend_by_cue.get(cue id, default), plus every
    backend in `layers` over all cues. options: backend name → its render options."""
    from scorer.render import get_backend

    backend_by_cue = dict(backend_by_cue or {})
    options = dict(options or {})
    ids = {cs.cue.id for cs in score.cues}
    unknown = sorted(set(backend_by_cue) - ids)
    if unknown:
        raise InputError(f"backend_by_cue names cues that are not in the score: {', '.join(unknown)}")
    names = sorted({backend_by_cue.get(i, default) for i in ids} | set(layers))
    backends = {name: get_backend(name) for name in names}        # BackendUnavailable up front
    extra = sorted(set(options) - set(names))
    if extra:
        raise InputError(f"options given for backends the plan does not use: {', '.join(extra)}")
    store = ClipStore() if store is None else store
    parts: dict[str, Stems] = {}
    for name in sorted({backend_by_cue.get(i, default) for i in ids}):
        cues = tuple(cs for cs in score.cues if backend_by_cue.get(cs.cue.id, default) == name)
        parts[name] = backends[name].render(replace(score, cues=cues), progress=progress, presets=presets,
                                            store=store, **options.get(name, {}))
    for name in layers:
        key = name if name not in parts else f"{name} (layer)"
        parts[key] = backends[name].render(score, progress=progress, presets=presets, store=store,
                                           **options.get(name, {}))
    groups: dict[str, tuple] = {}
    for stems in parts.values():
        for group, clips in stems.groups.items():
            groups[group] = groups.get(group, ()) + tuple(clips)
    groups = {g: tuple(sorted(c, key=lambda clip: clip.start_sample)) for g, c in groups.items()}
    return Stems(groups=groups, duration_s=score.source.duration_s, backend="+".join(parts),
                 info={"backends": {name: stems.info for name, stems in parts.items()},
                       "backend_by_cue": {cs.cue.id: backend_by_cue.get(cs.cue.id, default) for cs in score.cues}})
