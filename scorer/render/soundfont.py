"""The default backend: a real SoundFont synthesizer (TinySoundFont), driven sample-accurately.

Each part of each cue is rendered on its own and placed at its seat on the stage (pan
and width, music/seating.py, render/stage.py); a stem group's parts are summed into a
clip that runs from the cue's start to the end of its tail, through the effects chain
its cue's preset sets for that group (render/effects.py), and each group carries its
share of the score's one hall (its send through the same impulse response; the returns,
being linear, sum to what one shared reverb would give): stems sum exactly to the mix
and each stem alone still sounds in the room. Our own event loop feeds
the synth: it renders up to each event's sample, then applies the event, so a note
written at t_s starts at sample round(t_s·rate) (TinySoundFont's own sequencer drifts as
events accumulate). Controller changes (Part.controls: CC11/CC1 dynamics, CC7, pan) go
the same way, and the sustain pedal (CC64), which TinySoundFont lacks, is played by the
loop itself (_Pedals).

Streaming: a clip is rendered block by block — synth, seat, effects, then straight to a
raw file in a ClipStore (io/clipstore.py) — so memory holds a block, not a cue, and the
Stems hold file references, not audio. Cues are independent (the synth is returned to a
clean state before every clip), so they may be rendered by several worker processes at
once and the result is the same, sample for sample, as rendering them one by one.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorer.music import DRUM_CHANNEL
from scorer.music.presets import NO_SEND_DB, Preset, StemFx
from scorer.music.seating import seat_for
from scorer.config import VARIABLES, current
from scorer.errors import BackendUnavailable, InputError
from scorer.io.clipstore import ClipStore
from scorer.render.effects import StemChain
from scorer.render.stage import Hall, hall_convolver, place
from scorer.timebase import SAMPLE_RATE, n_samples, s_to_sample
from scorer.types import SUSTAIN_PEDAL, Clip, CueScore, Part, Score, Stems

DEFAULT_SOUNDFONTS = (
    # Debian fluid-soundfont-gm (MIT), chosen by measurement: bench/README.md "SoundFonts".
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
)
# Headroom: many voices summed at full GM velocity clip easily; mix/ sets the final level.
SYNTH_GAIN_DB = -12.0
# A clip is rendered in one piece up to this long (the parts summed in memory, the hall
# in one transform), longer ones in equal blocks no longer than this (memory: a block).
RENDER_BLOCK = n_samples(30.0)
# Each worker loads the SoundFont (FluidR3_GM: ~450 MB in memory): more than a few cost
# more memory than they save time.
MAX_WORKERS = 4
# Below this much clip audio (seconds, summed over cues and groups) starting worker
# processes costs more than it saves. Measured on 2 cores: one process renders ~115 s of
# clip audio a second; a pool of two pays ~1.3 s to start (interpreter, imports, SoundFont),
# so it gains only past ~300 s (the demo, 230 s: 2.0 s alone, 2.3 s in two workers).
POOL_MIN_AUDIO_S = 300.0


def find_soundfont(explicit: str | os.PathLike | None = None) -> Path:
    """The SoundFont to use: explicit path, else $SCORER_SOUNDFONT (config.current()),
    else the installed GM font."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise InputError("SoundFont not found", path=str(path))
        return path
    configured = current().soundfont
    if configured is not None:
        if not configured.is_file():
            raise InputError(f"SoundFont named by {VARIABLES['soundfont']} not found", path=str(configured))
        return configured
    for path in DEFAULT_SOUNDFONTS:
        if path.is_file():
            return path
    raise BackendUnavailable(
        "no General MIDI SoundFont found for the 'soundfont' backend; install one "
        "(Debian: apt-get install fluid-soundfont-gm) or pass --soundfont PATH / set "
        f"SCORER_SOUNDFONT. Looked in: {', '.join(map(str, DEFAULT_SOUNDFONTS))}")


def _load_synth(soundfont: Path):
    import tinysoundfont

    synth = tinysoundfont.Synth(gain=SYNTH_GAIN_DB, samplerate=SAMPLE_RATE)
    try:
        sfid = synth.sfload(str(soundfont))
    except Exception as exc:  # tinysoundfont raises its own or OSError on a bad file
        raise InputError(f"cannot load SoundFont ({exc})", path=str(soundfont))
    return synth, sfid


def _clean(synth) -> None:
    """Return the synth to the state of a freshly loaded one: no voice left from the last
    clip (sounds_off ends them quickly, not at once — a short render lets them finish),
    every channel back to its defaults (SoundFont.reset: programs, volume, expression,
    pan, pitch bend). Without it a clip's first samples would depend on what was rendered
    before it. The sustain pedal is ours (_Pedals), made afresh for every clip."""
    synth.sounds_off()
    synth.generate_simple(1024)
    for soundfont in synth.soundfonts.values():
        soundfont.reset()


# Event kinds, in the order they apply at one sample (as in the MIDI file, deliver/midi.py):
# note-offs, then controller changes (a CC11 reset at a note's start precedes it), then
# note-ons.
_OFF, _CONTROL, _ON = 0, 1, 2


def _events(parts: tuple[Part, ...] | list[Part], clip_start: int, channels: list[int]):
    """(sample, kind, channel, pitch or controller, velocity or value), sorted by sample then
    kind (_OFF, _CONTROL, _ON); samples relative to the clip."""
    events = []
    for part, chan in zip(parts, channels):
        for note in part.notes:
            on = s_to_sample(note.start_s) - clip_start
            off = max(s_to_sample(note.end_s) - clip_start, on + 1)
            events.append((on, _ON, chan, note.pitch, note.velocity))
            events.append((off, _OFF, chan, note.pitch, 0))
        for c in part.controls:
            events.append((s_to_sample(c.t_s) - clip_start, _CONTROL, chan, c.number, c.value))
    events.sort()
    return events


class _Pedals:
    """The sustain pedal (CC64), which TinySoundFont does not implement: while a channel's
    pedal is down (value ≥ 64) its note-offs are held, and sent when the pedal lifts. A key
    struck again while held is released first (the new note replaces the ringing one)."""

    def __init__(self, synth):
        self.synth = synth
        self.held: dict[int, set[int] | None] = {}   # channel → held keys; None: pedal up

    def noteoff(self, chan: int, pitch: int) -> None:
        held = self.held.get(chan)
        if held is None:
            self.synth.noteoff(chan, pitch)
        else:
            held.add(pitch)

    def noteon(self, chan: int, pitch: int, velocity: int) -> None:
        held = self.held.get(chan)
        if held and pitch in held:
            held.discard(pitch)
            self.synth.noteoff(chan, pitch)
        self.synth.noteon(chan, pitch, velocity)

    def pedal(self, chan: int, value: int) -> None:
        if value >= 64:
            if self.held.get(chan) is None:
                self.held[chan] = set()
            return
        for pitch in sorted(self.held.pop(chan, None) or ()):
            self.synth.noteoff(chan, pitch)


def _assign_channels(synth, sfid: int, parts) -> list[int]:
    channels, next_chan = [], 0
    for part in parts:
        if part.is_drums:
            chan = DRUM_CHANNEL
        else:
            if next_chan == DRUM_CHANNEL:
                next_chan += 1
            if next_chan > 15:
                raise InputError(f"too many melodic parts in one stem group ({len(parts)})")
            chan, next_chan = next_chan, next_chan + 1
        synth.program_select(chan, sfid, 128 if part.is_drums else 0,
                             0 if part.is_drums else part.program, is_drums=part.is_drums)
        channels.append(chan)
    return channels


def _fade_clip_end(block: np.ndarray, b0: int, n: int, fade: int) -> np.ndarray:
    """(2, b) block starting at clip sample b0, faded linearly to 0 over the clip's last
    `fade` samples (in place; returned)."""
    b1 = b0 + block.shape[1]
    if b1 > n - fade:
        i = np.arange(max(b0, n - fade), b1)
        block[:, i - b0] *= ((n - 1 - i) / max(fade - 1, 1)).astype(np.float32)
    return block


def synth_blocks(synth, sfid: int, parts, *, clip_start: int, n: int, block: int = RENDER_BLOCK):
    """Render `parts` as consecutive (2, ≤block) float32 blocks covering [0, n) of a clip
    whose sample 0 is timeline sample clip_start. The synth is cleaned first."""
    _clean(synth)
    events = _events(parts, clip_start, _assign_channels(synth, sfid, parts))
    keys = _Pedals(synth)                   # the pedals' state lives in this clip only
    fade = min(n, n_samples(0.01))
    k = 0
    for b0 in range(0, n, block):
        b1 = min(b0 + block, n)
        out = np.zeros((b1 - b0, 2), dtype=np.float32)       # the synth writes interleaved frames
        view = memoryview(out).cast("B")
        frame_bytes = 8                                      # stereo float32
        pos = b0
        while k < len(events) and min(max(events[k][0], 0), n) < b1:
            sample, kind, chan, key, value = events[k]   # key: pitch or controller
            sample = min(max(sample, 0), n)
            if sample > pos:
                synth.generate_simple(sample - pos, buffer=view[(pos - b0) * frame_bytes:(sample - b0) * frame_bytes])
                pos = sample
            if kind == _ON:
                keys.noteon(chan, key, value)
            elif kind == _OFF:
                keys.noteoff(chan, key)
            elif key == SUSTAIN_PEDAL:
                keys.pedal(chan, value)
            else:
                # TinySoundFont applies CC7 volume and CC11 expression (to sounding notes
                # too), CC10 pan and the RPNs; others, such as CC1 — written for sample
                # libraries, where the mod wheel is the dynamics — it leaves alone.
                synth.control_change(chan, key, value)
            k += 1
        if pos < b1:
            synth.generate_simple(b1 - pos, buffer=view[(pos - b0) * frame_bytes:(b1 - b0) * frame_bytes])
        # A short fade at the very end of the clip: a note cut at its edge would click.
        yield _fade_clip_end(out.T, b0, n, fade)
    # Events at the clip's very end (note-offs at n) have nothing left to sound into.


@dataclass(frozen=True)
class StemJob:
    """One stem group of one cue: its parts, its chain and the raw file it goes to."""
    group: str
    parts: tuple[Part, ...]
    fx: StemFx
    path: str


@dataclass(frozen=True)
class CueJob:
    """One cue's clips, one per stem group, from cue start to end + tail, all `n_samples`
    long from `start_sample`; `hall`: the room they all play in (None: dry)."""
    label: str                 # the cue id
    start_sample: int
    n_samples: int
    stems: tuple[StemJob, ...]
    hall: Hall | None


def cue_job(cue_score: CueScore, preset: Preset, store: ClipStore, hall: Hall | None) -> CueJob:
    """The job that renders one cue: its stem groups, sorted by name."""
    start = s_to_sample(cue_score.cue.start_s)
    n = s_to_sample(cue_score.cue.end_s + cue_score.tail_s) - start
    groups: dict[str, list[Part]] = {}
    for part in cue_score.parts:
        groups.setdefault(part.group, []).append(part)
    cue_id = cue_score.cue.id
    stems = tuple(StemJob(group, tuple(parts), preset.stem_fx(group), str(store.new_path(f"{cue_id}-{group}")))
                  for group, parts in sorted(groups.items()))
    return CueJob(cue_id, start, n, stems, hall)


_FRAME = np.dtype("<f4")


def _read(f, lo: int, n: int) -> np.ndarray:
    """(2, n) float32: frames [lo, lo + n) of an open raw stereo file."""
    f.seek(lo * 2 * _FRAME.itemsize)
    return np.fromfile(f, dtype=_FRAME, count=2 * n).reshape(n, 2).T


def _write(f, lo: int, block: np.ndarray) -> None:
    f.seek(lo * 2 * _FRAME.itemsize)
    np.ascontiguousarray(block.T, dtype=_FRAME).tofile(f)


def clip_block(n: int) -> int:
    """The block a clip of n samples is rendered in: the whole clip up to RENDER_BLOCK,
    else equal blocks under it (an uneven last block would cost a full-size transform in
    the hall for a few samples)."""
    blocks = -(-n // RENDER_BLOCK)
    return max(1, -(-n // max(blocks, 1)))


def _seated(synth, sfid: int, part: Part, *, clip_start: int, n: int, block: int):
    """One part's blocks, placed at its seat."""
    seat = seat_for(part.program, is_drums=part.is_drums)
    for raw in synth_blocks(synth, sfid, (part,), clip_start=clip_start, n=n, block=block):
        yield place(raw, seat)


class _Finish:
    """The stem's chain and its share of the hall, block by block (state carried)."""

    def __init__(self, stem: StemJob, n: int, block: int, hall: Hall | None):
        self.chain = StemChain(stem.fx)
        self.send = (None if hall is None or stem.fx.send_db <= NO_SEND_DB
                     else np.float32(10 ** (stem.fx.send_db / 20)))
        self.conv = None if self.send is None else hall_convolver(hall, block)
        self.n, self.fade = n, min(n, n_samples(0.01))

    def __call__(self, pos: int, y: np.ndarray) -> np.ndarray:
        y = self.chain(y)
        if self.conv is not None:
            wet = self.conv.process(self.send * y)
            # What rings past the clip's end is cut off: the synth's short fade.
            y = y + _fade_clip_end(wet, pos, self.n, self.fade)
        return y


def render_stem(synth, sfid: int, stem: StemJob, *, clip_start: int, n: int, hall: Hall | None) -> None:
    """A group's parts, each rendered on its own and placed at its seat, summed, through
    the group's chain, and with the group's share of the hall added (its send through the
    score's one impulse response: convolution is linear, so the stems' returns sum to the
    one hall the summed sends would give). A clip of one block (clip_block) is summed in
    memory and written once; a longer one streams part by part through its file: the
    first writes it, the others add to it (memory one block), the last part's pass also
    runs the chain and the hall over the sum."""
    block = clip_block(n)
    finish = _Finish(stem, n, block, hall)
    if n <= block:
        dry = np.zeros((2, n), np.float32)
        for part in stem.parts:
            for y in _seated(synth, sfid, part, clip_start=clip_start, n=n, block=block):
                dry += y
        with open(stem.path, "wb") as f:
            _write(f, 0, finish(0, dry))
        return
    last = len(stem.parts) - 1
    with open(stem.path, "w+b") as f:
        for i, part in enumerate(stem.parts):
            pos = 0
            for y in _seated(synth, sfid, part, clip_start=clip_start, n=n, block=block):
                if i:
                    y = y + _read(f, pos, y.shape[1])      # what the parts before it left
                if i == last:
                    y = finish(pos, y)
                _write(f, pos, y)
                pos += y.shape[1]


def render_cues(synth, sfid: int, jobs, done=None) -> None:
    """Every stem of every cue; `done(i)` as cue i is rendered."""
    for i, job in enumerate(jobs):
        for stem in job.stems:
            render_stem(synth, sfid, stem, clip_start=job.start_sample, n=job.n_samples, hall=job.hall)
        if done:
            done(i)


# A process keeps its synth between renders (loading a SoundFont takes ~0.3 s, a take of
# one cue little more): pool workers between jobs, and a long-lived process — the studio's,
# a Ray worker — between takes. One per thread: a synth is not shared by two renders at once.
# _clean() returns it to the freshly loaded state before every clip, so reuse never changes
# a sample. Keyed by the file's path, size and time, so an edited SoundFont is loaded again.
_synths = threading.local()


def _cached_synth(soundfont: Path):
    st = os.stat(soundfont)
    key = (str(soundfont), st.st_size, st.st_mtime_ns)
    held = getattr(_synths, "held", None)
    if held is None or held[0] != key:
        _synths.held = None                     # the old one goes before the new one loads
        _synths.held = (key, _load_synth(soundfont))
    return _synths.held[1]


def _start_worker(hall_irs: dict) -> None:
    from scorer.render.stage import adopt_hall_irs
    adopt_hall_irs(hall_irs)


def _render_in_worker(soundfont: str, job: CueJob) -> None:
    render_cues(*_cached_synth(Path(soundfont)), [job])


def cue_presets(score: Score, presets: dict[str, Preset] | None) -> dict[str, Preset]:
    """Each cue's preset (for its effects), by cue id; a cue whose preset is unknown is an
    error, not a silent default room."""
    from scorer.music.presets import load_presets
    from scorer.errors import PresetError

    presets = load_presets() if presets is None else presets
    missing = sorted({cs.cue.preset for cs in score.cues} - set(presets))
    if missing:
        raise PresetError(f"the score names presets that are not loaded: {', '.join(missing)}")
    return {cs.cue.id: presets[cs.cue.preset] for cs in score.cues}


def auto_workers(score: Score) -> int:
    """How many processes to render with: one for a short score, else up to one per core."""
    audio_s = sum((cs.cue.duration_s + cs.tail_s) * len({p.group for p in cs.parts}) for cs in score.cues)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if audio_s < POOL_MIN_AUDIO_S:
        return 1
    return max(1, min(cores, MAX_WORKERS, len(score.cues)))


@dataclass(frozen=True)
class SoundFontBackend:
    name: str = "soundfont"

    def render(self, score: Score, *, progress=None, soundfont=None, presets=None, store=None,
               workers: int | None = None, hall: Hall | None = Hall(), **options) -> Stems:
        """presets: name → Preset for the cues' effects (default: the shipped presets).
        soundfont: a .sf2/.sf3 file (default: find_soundfont()). store: the ClipStore the
        clips are written to (default: a new one in the system's temporary folder, removed
        when the Stems are gone). workers: processes rendering cues side by side (default:
        auto_workers(); the result does not depend on it). hall: the one room every stem
        plays in (render/stage.py), each stem carrying its own share of it; None: dry."""
        if options:
            raise InputError(f"unknown options for the soundfont backend: {sorted(options)}")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise InputError(f"workers must be a whole number ≥ 1, got {workers!r}")
        path = find_soundfont(soundfont)
        by_cue = cue_presets(score, presets)
        store = ClipStore() if store is None else store
        jobs = [cue_job(cs, by_cue[cs.cue.id], store, hall) for cs in score.cues]
        n_workers = auto_workers(score) if workers is None else min(workers, max(len(jobs), 1))

        def done(i: int) -> None:
            if progress:
                progress("render", i + 1, len(jobs))

        if n_workers <= 1:
            render_cues(*_cached_synth(path), jobs, done)
        else:
            _render_pool(str(path), jobs, n_workers, done)
        groups: dict[str, list[Clip]] = {}
        for job in jobs:
            for st in job.stems:
                audio = store.adopt(st.path, n_samples=job.n_samples, channels=2)
                groups.setdefault(st.group, []).append(Clip(job.start_sample, audio, label=job.label))
        info = {"soundfont": str(path), "hall": None if hall is None else hall.name}
        return Stems(groups={g: tuple(c) for g, c in groups.items()},
                     duration_s=score.source.duration_s, backend=self.name, info=info)


def _render_pool(soundfont: str, jobs: list[CueJob], n_workers: int, done) -> None:
    """Render the cues in a pool of spawned processes, longest first (so no worker is
    left with a long cue at the end); `done(i)` as each finishes. Spawned, not forked:
    the caller may hold threads (the studio UI). Like any spawned process, the workers
    import the caller's main module: a script must guard its entry point with
    `if __name__ == "__main__":` (or render with workers=1)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    from scorer.render.stage import hall_ir

    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].n_samples * len(jobs[i].stems))
    # The hall's response is built here once and handed to every worker, not built in each.
    irs = {(h, SAMPLE_RATE): hall_ir(h) for h in {job.hall for job in jobs} - {None}}
    pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=mp.get_context("spawn"),
                               initializer=_start_worker, initargs=(irs,))
    try:
        futures = {pool.submit(_render_in_worker, soundfont, jobs[i]): i for i in order}
        for k, fut in enumerate(as_completed(futures)):
            exc = fut.exception()
            if isinstance(exc, BrokenProcessPool):
                job = jobs[futures[fut]]
                raise InputError(f"the synthesizer process stopped while rendering cue {job.label}: "
                                 f"a damaged SoundFont, or out of memory?", path=soundfont)
            if exc is not None:
                raise exc
            done(k)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


BACKEND = SoundFontBackend()
