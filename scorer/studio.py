"""What people do in a project, as functions: the studio UI and `scorer project` call these.

A take is one cue composed with a set of parameters — the project's seed or a new one, and
whatever someone refined (preset, intensity, tempo, instruments) — and rendered on its own.
Its files are written once into the project (project.py): `take.wav` (the cue from its
first sample to the end of its tail, loudness-matched so takes can be compared fairly),
`take.mid`, and `take.json` (the parameters, the tempo map, the hits and how they land).
Because the symbolic backend is deterministic, the export composes each cue again from
its selected take's parameters and delivers the whole film exactly as auditioned. A neural
take is not reproducible from its seed, so it also keeps its stems (`stem-<group>.flac`,
at unity gain unless louder than full scale; take.json says the gain), and the export
mixes those — no model needed — unless the cue was moved since (then it is generated
again, and the export's chosen_takes.json says so).

Edits to the cue sheet (split, merge, move, hits, preset, intensity) are pure functions of
a CueSheet; `save_edit` stores the result. Locked cues refuse edits and new takes;
approved and locked cues are skipped by bulk regeneration.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np

from scorer import seeds
from scorer.errors import InputError
from scorer.project import Project, Take, check_cue_id
from scorer.settings import ScoreSettings, check
from scorer.types import Cue, CueSheet, Hit, Score

ProgressFn = Callable[[str, float, float], None]
TAKE_LUFS = -20.0          # every take's audition level: A/B by the music, not by the level
REFINABLE = ("preset", "intensity", "tempo_bpm", "instrumentation")
MAX_TAKES_AT_ONCE = 8
STORED_IN_ZIP = (".mp4", ".mov", ".mxf", ".flac", ".mp3")     # already compressed


# --- projects ----------------------------------------------------------------------------------

def new_project(folder: str | os.PathLike, cut: str | os.PathLike, settings: ScoreSettings | None = None, *,
                progress: ProgressFn | None = None, **changes) -> Project:
    """Analyse `cut`, spot it by the settings (or their fields as keywords: seed, preset,
    theme, timeline, notes, spec …), and create a project for it in `folder` that keeps
    the settings: its takes compose with them and its exports deliver by them."""
    from scorer.music.presets import presets_with
    from scorer.pipeline import analyze_and_spot, load_themes

    settings = (settings or ScoreSettings()).with_(**changes)
    if (Path(folder) / "project.db").exists():
        raise InputError("a project already exists here; open it instead", path=str(folder))
    check(settings)
    load_themes(settings)                       # refuse an unreadable theme before the analysis
    _, name = presets_with(settings.preset)     # a user preset file is read and checked now
    user = None
    if name is not None and name != settings.preset:
        user = {name: Path(settings.preset).read_text(encoding="utf-8")}
    sheet = analyze_and_spot(cut, settings, progress=progress)
    p = Project.create(folder, cut_path=cut, cue_sheet=sheet)
    # A forced preset has done its work in the cue sheet (every cue names it); the project
    # keeps its name, and the text of a user preset file, not its path: it composes the
    # same if the file is edited, moved or lost.
    p.set_setting(SETTINGS_KEY, json.dumps(settings.resolved().with_(preset=name).to_dict()))
    if user:
        p.set_setting("user_presets", json.dumps(user))
    production_waveform(p)                      # drawn on the studio's timeline
    return p


SETTINGS_KEY = "score_settings"
WAVEFORM_POINTS = 1200          # one per point of the studio's timeline drawing
_WAVEFORM_RATE = 4000           # Hz: enough for a level per 1/1200 of a film
WAVEFORM_RANGE_DB = 48.0        # the levels the timeline's sound row spans, under the loudest peak


def production_waveform(p: Project, points: int = WAVEFORM_POINTS) -> np.ndarray | None:
    """The cut's own sound as a picture, for the timeline: in each of `points` equal
    stretches of the cut its peak level on a WAVEFORM_RANGE_DB scale up to the cut's
    loudest peak (1: that peak, 0: that far below it or silence), so that quiet documentary
    sound shows as clearly as a loud drama's. None for a cut without sound. Decoded once
    and kept in the project's cache (by the cut's size and time), not among its files."""
    from scorer.io.video import decode_audio

    sheet = p.cue_sheet()
    if not sheet.source.has_audio:
        return None
    st = Path(p.cut_path).stat()
    cached = p.folder / "cache" / f"waveform-db-{points}-{st.st_size}-{st.st_mtime_ns}.npy"
    if cached.is_file():
        return np.load(cached)
    y = decode_audio(p.cut_path, sample_rate=_WAVEFORM_RATE, mono=True)[0]
    n = max(round(sheet.source.duration_s * _WAVEFORM_RATE), 1)
    y = np.abs(np.pad(y[:n], (0, max(n - y.shape[0], 0))))
    edges = np.linspace(0, n, points + 1).astype(np.int64)
    peaks = np.array([y[a:b].max() if b > a else 0.0 for a, b in zip(edges[:-1], edges[1:])], np.float32)
    db = 20 * np.log10(np.maximum(peaks, 1e-6))
    levels = np.clip((db - (db.max() - WAVEFORM_RANGE_DB)) / WAVEFORM_RANGE_DB, 0.0, 1.0).astype(np.float32)
    peaks = levels if peaks.max() > 1e-6 else np.zeros_like(peaks)
    cached.parent.mkdir(parents=True, exist_ok=True)
    from scorer.io.files import atomic_path
    with atomic_path(cached, suffix=".npy") as tmp:
        np.save(tmp, peaks)
    return peaks


def project_settings(p: Project) -> ScoreSettings:
    """The settings a project was created with (a project made before settings were kept:
    its seed and theme, the rest as default)."""
    stored = p.setting(SETTINGS_KEY)
    if stored:
        return ScoreSettings.from_dict(json.loads(stored), where=f"{p.db_path}: {SETTINGS_KEY}")
    theme = p.setting("theme") or None
    return ScoreSettings(seed=int(p.setting("seed", "0")), theme=theme)


def project_presets(p: Project) -> dict:
    """The presets a project composes with: the shipped ones and the user presets it was
    created with (kept in the project)."""
    from scorer.music.presets import load_presets, parse_preset_text

    presets = load_presets()
    for name, text in json.loads(p.setting("user_presets") or "{}").items():
        presets[name] = parse_preset_text(text, path=f"{p.folder / 'project.db'}:user-presets/{name}.toml")
    return presets


def project_seed(p: Project) -> int:
    return project_settings(p).seed


@dataclass
class Composer:
    """Composes takes for one project, remembering the base score of the current cue
    sheet (a take changes one cue of it). One per project per session; not shared."""
    project: Project
    _key: str = ""
    _base: Score | None = None
    _presets: dict | None = None

    @property
    def presets(self) -> dict:
        if self._presets is None:
            self._presets = project_presets(self.project)
        return self._presets

    def base(self) -> Score:
        from scorer.pipeline import compose_score

        sheet = self.project.cue_sheet()
        settings = project_settings(self.project)
        key = json.dumps([sheet.to_dict(), settings.to_dict()], sort_keys=True)
        if self._base is None or key != self._key:
            # The cue sheet names each cue's preset (a forced one too): composed as it says.
            self._base = compose_score(sheet, settings, presets=self.presets)
            self._key = key
        return self._base

    def cue_score(self, cue_id: str, params: dict) -> Score:
        """The whole score with `cue_id` composed by `params` (see take_params)."""
        sheet = self.project.cue_sheet()
        return _composed_as(self.base(), sheet, _cue(sheet, cue_id), params, presets=self.presets)


def _composed_as(score: Score, sheet: CueSheet, cue: Cue, params: dict, *, presets: dict) -> Score:
    """`score` with `cue` composed by a take's parameters (see take_params)."""
    from scorer.compose import refine

    kwargs = {k: params[k] for k in REFINABLE if params.get(k) is not None}
    return refine(score, cue.id, cue=cue, dialogue=sheet.dialogue, seed=params["seed"], presets=presets, **kwargs)


def take_params(*, seed: int, preset: str | None = None, intensity: float | None = None,
                tempo_bpm: float | None = None, instrumentation: dict | None = None) -> dict:
    """A take's parameters as stored (JSON): everything needed to compose it again."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise InputError(f"seed must be a whole number ≥ 0, got {seed!r}")
    return {"seed": seed, "preset": preset, "intensity": intensity, "tempo_bpm": tempo_bpm,
            "instrumentation": dict(instrumentation) if instrumentation else None}


def _cue(sheet: CueSheet, cue_id: str) -> Cue:
    for c in sheet.cues:
        if c.id == cue_id:
            return c
    raise InputError(f"no cue {cue_id!r}; cues: {', '.join(c.id for c in sheet.cues)}")


# --- takes -----------------------------------------------------------------------------------

def make_take(p: Project, cue_id: str, params: dict, *, composer: Composer | None = None,
              parent: int | None = None, backend: str = "soundfont", options: dict | None = None,
              progress: ProgressFn | None = None, by: str | None = None) -> Take:
    """Compose and render one take of one cue and store it. The take's row exists from
    the start ('running'), so a crash or a cancel leaves a 'failed' take, never a half one.
    options: the backend's render options (a neural backend's model, model_path, device …)."""
    check_cue_id(cue_id)
    p.require(by, "take")
    if p.status(cue_id) == "locked":
        raise InputError(f"cue {cue_id} is locked; unlock it before making new takes")
    composer = composer or Composer(p)
    take_id = p.start_take(cue_id, seed=params["seed"], params=params, backend=backend, parent=parent)
    try:
        files = _render_take(composer, cue_id, params, backend=backend, options=options, progress=progress)
        take = p.finish_take(take_id, files)
        p.log(by, "made", cue_id, f"take {take_id} ({backend}, seed {params['seed']})")
        return take
    except BaseException as exc:            # cancelled or failed: the row says so, no files stay
        p.fail_take(take_id, f"{type(exc).__name__}: {exc}")
        raise


def _render_take(composer: Composer, cue_id: str, params: dict, *, backend: str, options: dict | None,
                 progress: ProgressFn | None) -> dict[str, bytes]:
    from scorer.deliver.midi import midi_bytes
    from scorer.io.clipstore import ClipStore
    from scorer.io.takes import take_info, take_info_bytes
    from scorer.render import get_backend

    whole = composer.cue_score(cue_id, params)
    cs = next(c for c in whole.cues if c.cue.id == cue_id)
    one = replace(whole, cues=(cs,))
    if progress:
        progress("compose", 1, 1)
    # The take plays with the project's SoundFont, as its export will.
    soundfont = project_settings(composer.project).soundfont
    options = {**({"workers": 1} if backend == "soundfont" else {}),
               **({"soundfont": soundfont} if soundfont and backend in ("soundfont", "musicgen") else {}),
               **(options or {})}
    # Rendered next to the project (not in a RAM-backed /tmp), so what a killed process
    # leaves is found and removed when the project is next opened.
    with ClipStore(composer.project.folder / "cache") as store:
        stems = get_backend(backend).render(one, progress=progress, store=store, presets=composer.presets, **options)
        start, n = _extent(stems)
        audio = _take_audio(stems, cs, start=start, n=n)
        # A neural take cannot be made again from its seed (the soundfont's can): its stems
        # are kept, so the export delivers the performance people auditioned.
        kept = {} if backend == "soundfont" else _stem_files(stems, start=start, n=n)
    info = take_info(cs, params=params, backend=backend, groups=stems.groups, level_lufs=TAKE_LUFS,
                     stems=None if not kept else {
                         "start_sample": start, "n_samples": n,
                         "files": {g: {"file": name, "gain": gain} for g, (name, gain, _) in kept.items()}})
    return {"take.wav": _wav_bytes(audio), "take.mid": midi_bytes(one), "take.json": take_info_bytes(info),
            **{name: data for name, _, data in kept.values()}}


def _extent(stems) -> tuple[int, int]:
    """First sample and length covering every clip of the (one-cue) stems."""
    clips = [c for g in stems.groups.values() for c in g]
    start = min(c.start_sample for c in clips)
    return start, max(c.end_sample for c in clips) - start


def _stem_files(stems, *, start: int, n: int) -> dict[str, tuple[str, float, bytes]]:
    """Each group over [start, start + n) as a 24-bit stereo FLAC: group → (file name, gain
    to apply when read, bytes). A group louder than full scale is stored scaled under it."""
    import io

    import soundfile as sf

    from scorer.deliver import project_name
    from scorer.mix.place import window
    from scorer.timebase import SAMPLE_RATE

    out = {}
    for group, clips in sorted(stems.groups.items()):
        y = window(clips, start=start, n=n)
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        gain = peak if peak > 1.0 else 1.0
        buf = io.BytesIO()
        sf.write(buf, (y / np.float32(gain)).T, SAMPLE_RATE, format="FLAC", subtype="PCM_24")
        out[group] = (f"stem-{project_name(group)}.flac", gain, buf.getvalue())
    return out


def _take_audio(stems, cs, *, start: int, n: int) -> np.ndarray:
    """The cue's groups summed from its first sample to the end of its tail, the tail
    faded, at TAKE_LUFS (true peak held under −1 dBTP)."""
    from scorer.mix.loudness import SILENCE_DB, db_to_gain, measure
    from scorer.mix.place import equal_power_fade, window
    from scorer.timebase import SAMPLE_RATE, s_to_sample

    clips = [c for g in stems.groups.values() for c in g]
    y = window(clips, start=start, n=n)
    fade = equal_power_fade(start, n, fade_from=s_to_sample(cs.cue.end_s), fade_to=start + n)
    if fade is not None:
        y *= fade
    lufs, tp = measure([y], sample_rate=SAMPLE_RATE)
    if lufs > SILENCE_DB:
        gain_db = min(TAKE_LUFS - lufs, -1.0 - tp)
        y *= np.float32(db_to_gain(gain_db))
    return y


def _wav_bytes(audio: np.ndarray) -> bytes:
    import io

    from scorer.io.audio import WavWriter
    from scorer.timebase import SAMPLE_RATE

    buf = io.BytesIO()
    w = WavWriter(buf, sample_rate=SAMPLE_RATE, channels=audio.shape[0])
    w.write(audio)
    w.close()
    return buf.getvalue()


def regenerate(p: Project, cue_ids: list[str], *, takes: int = 1, seeds: list[int] | None = None,
               composer: Composer | None = None, bulk: bool = False, backend: str = "soundfont",
               progress: ProgressFn | None = None, by: str | None = None) -> list[Take]:
    """New takes with new seeds (or the given ones) for each cue, everything else as the
    cue's selected take has it. A new seed is the project's next take seed for the cue
    (next_take_seed: the same seeds `scorer batch` gives its takes), so a project asked
    for the same takes again makes the same music. bulk=True (a whole-film action) skips approved and locked
    cues; asking for one of them by name is refused instead."""
    if not 1 <= takes <= MAX_TAKES_AT_ONCE:
        raise InputError(f"takes must be 1…{MAX_TAKES_AT_ONCE}, got {takes}")
    p.require(by, "take")
    ids = p.regenerable(cue_ids) if bulk else list(cue_ids)
    for cid in ids:
        if not bulk and p.status(cid) in ("approved", "locked"):
            raise InputError(f"cue {cid} is {p.status(cid)}; step it back to sketch to make new takes")
    composer = composer or Composer(p)
    out = []
    total = len(ids) * takes
    for i, cid in enumerate(ids):
        base = current_params(p, cid)
        for k in range(takes):
            seed = seeds[k] if seeds and k < len(seeds) else next_take_seed(p, cid)
            params = {**base, "seed": seed}
            out.append(make_take(p, cid, params, composer=composer, parent=_selected_id(p, cid), backend=backend,
                                 by=by))
            if progress:
                progress("takes", i * takes + k + 1, total)
    return out


def take_seed(seed: int, cut_name: str, cue_id: str, k: int) -> int:
    """The seed of take k (0-based) of a cue of a cut: take 0 has the project's own seed,
    so the first take of every cue is the score `scorer score --seed SEED` writes; the
    others are drawn from the seed, the cut's name, the cue and k — the same on every run,
    < 2**31."""
    if int(k) == 0:
        return int(seed)
    return seeds.derive(seed, "take", cut_name, cue_id, int(k))


def next_take_seed(p: Project, cue_id: str) -> int:
    """The seed of the cue's next new take: take k of a cue (k counting every take it
    has) has the seed derived from the project's seed, the cut's name, the cue and k —
    the seed `scorer batch` gives take k — skipping seeds the cue's takes already used."""
    used = {t.seed for t in p.takes(cue_id)}
    k = max(len(used), 1)
    while (seed := take_seed(project_seed(p), Path(p.cut_path).stem, cue_id, k)) in used:
        k += 1
    return seed


def regenerate_in(folder: str, cue_ids: list[str], *, takes: int = 1, bulk: bool = False,
                  backend: str = "soundfont", by: str | None = None) -> list[int]:
    """regenerate() on the project in `folder`, returning the new takes' ids: what a
    worker process runs for the studio (so rendering never holds up its page)."""
    return [t.id for t in regenerate(Project.open(folder), cue_ids, takes=takes, bulk=bulk, backend=backend,
                                     by=by)]


def refine_in(folder: str, cue_id: str, change: dict, by: str | None = None) -> int:
    """refine_take() on the project in `folder` (for a worker process); the new take's id."""
    return refine_take(Project.open(folder), cue_id, by=by, **change).id


def refine_take(p: Project, cue_id: str, *, composer: Composer | None = None,
                progress: ProgressFn | None = None, by: str | None = None, **change) -> Take:
    """A new take of `cue_id` that changes one or more of REFINABLE (or the seed) and keeps
    everything else of the selected take (or of the project's first composition)."""
    unknown = set(change) - set(REFINABLE) - {"seed"}
    if unknown or not change:
        raise InputError(f"refine changes one of {', '.join(('seed',) + REFINABLE)}; got {sorted(change) or 'nothing'}")
    params = {**current_params(p, cue_id), **{k: v for k, v in change.items()}}
    params = take_params(**params)
    return make_take(p, cue_id, params, composer=composer, parent=_selected_id(p, cue_id), progress=progress, by=by)


def current_params(p: Project, cue_id: str) -> dict:
    sel = p.selected(cue_id)
    return dict(sel.params) if sel is not None else take_params(seed=project_seed(p))


def _selected_id(p: Project, cue_id: str) -> int | None:
    sel = p.selected(cue_id)
    return None if sel is None else sel.id


def take_preview(p: Project, take_id: int, *, pre_roll_s: float = 2.0,
                 progress: ProgressFn | None = None) -> Path:
    """A short video of the take against picture: the cut from pre_roll_s before the cue
    to the end of its tail, its own sound with the take under it as the mix would set it
    (MUSIC_UNDER_PRODUCTION_LU below the cut's sound, and under each line by the mix's rule,
    mix/duck.py). Derived
    from the take, so it lives in the project's cache, not among the take's files."""
    from scorer.io.audio import read_wav
    from scorer.io.takes import read_take_info
    from scorer.deliver.preview import write_excerpt
    from scorer.mix import MUSIC_UNDER_PRODUCTION_LU
    from scorer.mix.duck import duck_envelope_db, line_gain_db
    from scorer.mix.loudness import SILENCE_DB, LoudnessMeter, db_to_gain, measure
    from scorer.timebase import SAMPLE_RATE, s_to_sample, sample_to_s

    take = p.take(take_id)
    if take.status != "done":
        raise InputError(f"take {take_id} is {take.status}; only a finished take can be watched")
    target = p.folder / "cache" / "previews" / f"take-{take.id:06d}.mp4"
    if target.exists():
        return target
    info = read_take_info(take_file(p, take, "take.json"))
    music, _ = read_wav(take_file(p, take, "take.wav"))
    sheet = p.cue_sheet()
    start_s = max(info["start_s"] - pre_roll_s, 0.0)
    end_s = min(info["start_s"] + sample_to_s(music.shape[1]), sheet.source.duration_s)
    a, n = s_to_sample(start_s), s_to_sample(end_s) - s_to_sample(start_s)
    y = np.zeros((2, n), np.float32)
    offset = s_to_sample(info["start_s"]) - a
    part = music[:, :max(n - offset, 0)]
    y[:, offset:offset + part.shape[1]] = part
    if sheet.source.has_audio:
        from scorer.io.video import decode_audio
        own = decode_audio(p.cut_path, sample_rate=SAMPLE_RATE, mono=False)[:, a:a + n]
        own_lufs, _ = measure([own], sample_rate=SAMPLE_RATE)
        if own_lufs > SILENCE_DB:
            y *= np.float32(db_to_gain(own_lufs - MUSIC_UNDER_PRODUCTION_LU - TAKE_LUFS))
        # Under each line, the mix's own rule: the music this far under the voice.
        lines = [sp for sp in sheet.dialogue if sp.end_s > start_s and sp.start_s < end_s]
        spans = [(max(s_to_sample(sp.start_s) - a, 0), min(s_to_sample(sp.end_s) - a, own.shape[1])) for sp in lines]
        music_m = LoudnessMeter(SAMPLE_RATE, 2, true_peak=False, spans=spans)
        own_m = LoudnessMeter(SAMPLE_RATE, 2, true_peak=False, spans=spans)
        music_m.add(y[:, :own.shape[1]])
        own_m.add(own if own.shape[0] == 2 else np.repeat(own, 2, axis=0))
        gains = [line_gain_db(d, m_).gain_db for d, m_ in zip(own_m.span_lufs(), music_m.span_lufs())]
        y *= np.power(10.0, duck_envelope_db(lines, start_sample=a, n=n, gains_db=gains) / 20.0).astype(np.float32)
        y[:, :own.shape[1]] += own
    if progress:
        progress("preview", 0, 1)
    write_excerpt(p.cut_path, start_s, end_s, y, target)
    if progress:
        progress("preview", 1, 1)
    return target


def take_file(p: Project, take: Take, name: str) -> Path:
    """The path of one of a done take's files (only names the take recorded)."""
    if name not in take.files:
        raise InputError(f"take {take.id} has no file {name!r}")
    return p.take_dir(take.id, take.cue_id) / name


# --- the cue sheet ---------------------------------------------------------------------------

class EditConflict(InputError):
    """An edit made on a view of a cue that someone else has changed since."""


def cue_version(sheet: CueSheet, cue_id: str) -> str:
    """A cue as someone saw it (a digest of its fields): what save_edit checks an edit
    against, so that an edit made on a stale view is refused rather than undoing another's."""
    import hashlib

    cue = next((c for c in sheet.cues if c.id == cue_id), None)
    text = "" if cue is None else json.dumps(cue.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def save_edit(p: Project, sheet: CueSheet, *, touched: list[str], by: str | None = None,
              seen: dict[str, str] | None = None) -> CueSheet:
    """Store an edited cue sheet; refused if it changes a locked cue. seen: cue id → its
    cue_version() as the person editing last saw it: where a touched cue has changed since
    (someone else edited it), the edit is refused, naming who and when."""
    p.require(by, "edit")
    current = p.cue_sheet()
    for cid, version in (seen or {}).items():
        if cid in touched and version and cue_version(current, cid) != version:
            last = next((a for a in reversed(p.activity(cid)) if a.action == "edited"), None)
            who = f" by {last.user or 'the owner'} at {last.at[11:19]} UTC" if last else ""
            raise EditConflict(f"{cid} was changed{who} since you opened it; look at it again "
                               f"(its fields now show the change) and make your edit once more")
    before = {c.id: c for c in current.cues}
    after = {c.id: c for c in sheet.cues}
    for cid in touched:
        if cid in before and p.status(cid) == "locked":
            raise InputError(f"cue {cid} is locked; unlock it before editing it")
    for cid, cue in before.items():
        if p.status(cid) == "locked" and after.get(cid) != cue:
            raise InputError(f"cue {cid} is locked; unlock it before editing it")
    CueSheet.from_dict(sheet.to_dict())          # the same checks as a cues.json from disk
    p.save_cue_sheet(sheet)
    for cid in touched:
        p.log(by, "edited", cid)
    return sheet


def _sorted(sheet: CueSheet, cues) -> CueSheet:
    return replace(sheet, cues=tuple(sorted(cues, key=lambda c: (c.start_s, c.id))))


def _snap(sheet: CueSheet, t_s: float) -> tuple[float, int]:
    from scorer.timebase import frame_to_s, s_to_frame
    frame = s_to_frame(t_s, sheet.source.fps)
    return frame_to_s(frame, sheet.source.fps), frame


def move_cue(sheet: CueSheet, cue_id: str, *, start_s: float | None = None, end_s: float | None = None) -> CueSheet:
    """The cue with new in and/or out points (frame-snapped); hits outside it are dropped."""
    c = _cue(sheet, cue_id)
    start = c.start_s if start_s is None else _snap(sheet, start_s)[0]
    end = c.end_s if end_s is None else _snap(sheet, end_s)[0]
    if not 0 <= start < end <= sheet.source.duration_s + 1e-9:
        raise InputError(f"cue {cue_id}: in {start:.3f} s and out {end:.3f} s must lie within the cut "
                         f"(0 … {sheet.source.duration_s:.3f} s), in before out")
    intensity = tuple((min(max(t, start), end), v) for t, v in c.intensity)
    moved = replace(c, start_s=start, end_s=end, intensity=intensity,
                    hits=tuple(h for h in c.hits if start <= h.t_s < end))
    return _sorted(sheet, [moved if x.id == cue_id else x for x in sheet.cues])


def split_cue(sheet: CueSheet, cue_id: str, at_s: float) -> CueSheet:
    """Two cues from one at `at_s` (frame-snapped): the first keeps the id, the second
    takes the next free letter ("1M3" → "1M3A"), as music editors number inserted cues."""
    c = _cue(sheet, cue_id)
    at, _ = _snap(sheet, at_s)
    if not c.start_s < at < c.end_s:
        raise InputError(f"cue {cue_id}: split point {at:.3f} s is not inside the cue "
                         f"({c.start_s:.3f} … {c.end_s:.3f} s)")
    ids = {x.id for x in sheet.cues}
    new_id = next(f"{cue_id}{ch}" for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if f"{cue_id}{ch}" not in ids)
    value = c.intensity_at(at)
    first = replace(c, end_s=at, hits=tuple(h for h in c.hits if h.t_s < at),
                    intensity=tuple((t, v) for t, v in c.intensity if t < at) + ((at, value),))
    second = replace(c, id=check_cue_id(new_id), start_s=at, hits=tuple(h for h in c.hits if h.t_s >= at),
                     intensity=((at, value),) + tuple((t, v) for t, v in c.intensity if t > at))
    return _sorted(sheet, [x for x in sheet.cues if x.id != cue_id] + [first, second])


def merge_cues(sheet: CueSheet, first_id: str, second_id: str) -> CueSheet:
    """One cue spanning both (the first's id, preset and mood), with both cues' hits."""
    a, b = _cue(sheet, first_id), _cue(sheet, second_id)
    if b.start_s < a.start_s:
        a, b = b, a
    between = [x for x in sheet.cues if x.id not in (a.id, b.id) and x.start_s < b.start_s and x.end_s > a.end_s]
    if between:
        raise InputError(f"cues {a.id} and {b.id} are not neighbours ({between[0].id} lies between)")
    merged = replace(a, end_s=max(a.end_s, b.end_s), hits=tuple(sorted(a.hits + b.hits, key=lambda h: h.t_s)),
                     intensity=tuple(sorted(a.intensity + b.intensity)),
                     note=" / ".join(n for n in (a.note, b.note) if n))
    return _sorted(sheet, [x for x in sheet.cues if x.id not in (a.id, b.id)] + [merged])


def set_cue(sheet: CueSheet, cue_id: str, *, preset: str | None = None, intensity: float | None = None,
            note: str | None = None, presets: dict | None = None) -> CueSheet:
    """Preset, mean intensity (0…1, the curve's shape kept) or note of one cue. presets:
    the names a cue may take (default: the shipped presets; a project's: project_presets)."""
    c = _cue(sheet, cue_id)
    if preset is not None:
        from scorer.music.presets import load_presets
        names = load_presets() if presets is None else presets
        if preset not in names:
            raise InputError(f"no preset {preset!r}; presets: {', '.join(sorted(names))}")
        c = replace(c, preset=preset)
    if intensity is not None:
        from scorer.compose import with_mean_intensity
        c = with_mean_intensity(c, intensity)
    if note is not None:
        c = replace(c, note=note[:500])
    return _sorted(sheet, [c if x.id == cue_id else x for x in sheet.cues])


def add_hit(sheet: CueSheet, cue_id: str, t_s: float, *, strength: float = 0.9, kind: str = "marker") -> CueSheet:
    """A hit the composer wants the music to catch (frame-snapped, inside the cue)."""
    c = _cue(sheet, cue_id)
    t, frame = _snap(sheet, t_s)
    if not c.start_s <= t < c.end_s:
        raise InputError(f"cue {cue_id}: a hit at {t:.3f} s is outside the cue ({c.start_s:.3f} … {c.end_s:.3f} s)")
    if any(h.frame == frame for h in c.hits):
        raise InputError(f"cue {cue_id} already has a hit on frame {frame}")
    hit = Hit.from_dict({"t_s": t, "frame": frame, "strength": strength, "kind": kind, "scored": False})
    return _sorted(sheet, [replace(x, hits=tuple(sorted(x.hits + (hit,), key=lambda h: h.t_s)))
                           if x.id == cue_id else x for x in sheet.cues])


def remove_hit(sheet: CueSheet, cue_id: str, t_s: float) -> CueSheet:
    """Drop the cue's hit on the frame at t_s."""
    c = _cue(sheet, cue_id)
    _, frame = _snap(sheet, t_s)
    if not any(h.frame == frame for h in c.hits):
        raise InputError(f"cue {cue_id} has no hit on frame {frame}")
    return _sorted(sheet, [replace(x, hits=tuple(h for h in x.hits if h.frame != frame))
                           if x.id == cue_id else x for x in sheet.cues])


def move_hit(sheet: CueSheet, cue_id: str, from_s: float, to_s: float) -> CueSheet:
    c = _cue(sheet, cue_id)
    _, frame = _snap(sheet, from_s)
    old = next((h for h in c.hits if h.frame == frame), None)
    if old is None:
        raise InputError(f"cue {cue_id} has no hit on frame {frame}")
    return add_hit(remove_hit(sheet, cue_id, from_s), cue_id, to_s, strength=old.strength, kind=old.kind)


# --- export ----------------------------------------------------------------------------------

def chosen_score(p: Project, composer: Composer | None = None) -> Score:
    """The whole score as people chose it: every cue by its selected take's parameters,
    cues without one as first composed."""
    composer = composer or Composer(p)
    sheet = p.cue_sheet()
    out = composer.base()
    for cue in sheet.cues:
        take = p.selected(cue.id)
        if take is None:
            continue
        out = _composed_as(out, sheet, cue, take.params, presets=composer.presets)
    return out


def _neural_sources(p: Project, sheet: CueSheet) -> tuple[dict, dict[str, str], dict[str, dict]]:
    """For cues whose chosen take is neural: the stems it kept (cue id → {"start_sample",
    "groups": group → (path, gain)}), the cues to generate again by their backend instead
    (cue id → backend: the cue was moved or retimed since the take, so its recording no
    longer fits), and what the export did for every cue, said in chosen_takes.json."""
    from scorer.io.takes import read_take_info

    recorded, again, sources = {}, {}, {}
    for cue in sheet.cues:
        take = p.selected(cue.id)
        if take is None:
            sources[cue.id] = {"take": None, "audio": "as first composed: no take chosen"}
            continue
        if take.backend == "soundfont":
            sources[cue.id] = {"take": take.id, "backend": take.backend, "seed": take.seed,
                               "audio": "rendered again from the take's parameters, as auditioned "
                                        "(the soundfont backend gives the same samples every time)"}
            continue
        info = read_take_info(take_file(p, take, "take.json"))
        kept = info.get("stems")            # only a neural take keeps its stems
        fits = kept is not None and (info["start_s"], info["end_s"]) == (cue.start_s, cue.end_s)
        if fits:
            recorded[cue.id] = {"start_sample": kept["start_sample"],
                                "groups": {g: (take_file(p, take, f["file"]), f["gain"])
                                           for g, f in kept["files"].items()}}
            how = "the take's own stems, as auditioned"
        else:
            again[cue.id] = take.backend
            how = ("generated again with the take's seed: the cue was moved or retimed since the take"
                   if kept is not None else "generated again with the take's seed: the take kept no stems")
        sources[cue.id] = {"take": take.id, "backend": take.backend, "seed": take.seed, "audio": how}
    return recorded, again, sources


# What an export may set for itself; the rest (how the score is composed) is the project's.
EXPORT_FIELDS = ("spec", "ducking", "crossfade_s", "project", "per_cue_stems", "click", "burn_in", "preview",
                 "soundfont", "ambience")


def export_version(p: Project) -> int:
    """The number the project's next delivery gets (v01, v02 …), handed out once: two
    exports at the same time get two numbers. A project exported before the count was
    kept starts after the deliveries it holds."""
    exports = p.folder / "exports"
    made = [d for d in exports.iterdir() if d.is_dir() and (d / "report.json").is_file()] if exports.is_dir() else []
    return p.next_number("exports", at_least=len(made))


def export(p: Project, out_zip: str | os.PathLike | None = None, *, composer: Composer | None = None,
           options: dict[str, dict] | None = None, progress: ProgressFn | None = None, by: str | None = None,
           **changes) -> Path:
    """The whole delivery (stems, mix, MIDI, cue sheet, timeline, preview, report) of the
    chosen takes, in `exports/<project> temp score v<NN>/` inside the project (NN: the
    project's deliveries in order) and zipped beside it, by the
    project's settings with `changes` to their mix and delivery fields (EXPORT_FIELDS:
    spec, ducking, crossfade_s, click, per_cue_stems, burn_in, preview …).
    options: backend name → render options (the soundfont's workers; the neural cues' model,
    model_path … as their takes had them). A cue whose chosen take is neural is delivered
    from the stems that take kept (the performance auditioned, no model needed), unless the
    cue changed since; chosen_takes.json in the export says, cue by cue, where its music
    came from.
    Returns the zip's path."""
    from scorer.io.files import atomic_path
    from scorer.pipeline import render_mix_deliver

    p.require(by, "export")
    wrong = sorted(set(changes) - set(EXPORT_FIELDS) - {"model", "model_path", "device", "prompt"})
    if wrong:
        raise InputError(f"an export sets only how the score is mixed and delivered "
                         f"({', '.join(EXPORT_FIELDS)}); {', '.join(wrong)} belong to the project's takes")
    sheet = p.cue_sheet()
    composer = composer or Composer(p)
    recorded, by_cue, sources = _neural_sources(p, sheet)
    # The music's backend is the takes' (a cue's neural take names its own); the project's
    # settings give the rest.
    base = project_settings(p)
    settings = base.with_(backend="soundfont", backend_by_cue=by_cue, preset=None,
                          project=base.project or Path(p.cut_path).stem, **changes)
    # (The timeline and notes did their work when the project was spotted.)
    check(settings.with_(timeline=None, notes=None), presets=composer.presets, render_options=options)
    score = chosen_score(p, composer)
    # The project's deliveries are numbered in order (v01, v02 …: in the stems' names, the
    # WAV headers, the folder and the zip), each number handed out once.
    from scorer.deliver import project_name

    version = export_version(p)
    stamp = f"{project_name(settings.project)} temp score v{version:02d}"
    folder = p.folder / "exports" / stamp
    try:
        render_mix_deliver(score, sheet, p.cut_path, folder, settings, recorded=recorded or None,
                           progress=progress, backend_options=options, presets=composer.presets,
                           notes=tuple(p.notes()), version=version)
    except BaseException:
        import shutil
        shutil.rmtree(folder, ignore_errors=True)        # this export's own folder: no half delivery stays
        raise
    from scorer.io.files import write_json
    write_json(folder / "chosen_takes.json", sources)
    write_json(folder / "settings.json", settings.resolved().to_dict())
    p.log(by, "exported", None, f"v{version:02d}")
    target = Path(out_zip) if out_zip is not None else p.folder / "exports" / f"{stamp}.zip"
    with atomic_path(target, suffix=".zip") as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for f in sorted(folder.rglob("*")):
                if f.is_file():
                    # Encoded media shrink by 1–2 % under deflate: stored as they are. WAVs
                    # are deflated: stems are mostly silence between cues and shrink 2–6×.
                    kind = zipfile.ZIP_STORED if f.suffix.lower() in STORED_IN_ZIP else zipfile.ZIP_DEFLATED
                    z.write(f, arcname=str(Path(stamp) / f.relative_to(folder)), compress_type=kind)
    return target
