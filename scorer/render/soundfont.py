"""The default backend: a real SoundFont synthesizer (TinySoundFont), driven sample-accurately.

Each stem group is rendered on its own so stems sum exactly to the mix. Our own event
loop feeds the synth: it renders up to each event's sample, then applies the event, so a
note written at t_s starts at sample round(t_s·rate) (TinySoundFont's own sequencer
drifts as events accumulate).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorer.compose.presets import Preset
from scorer.errors import BackendUnavailable, InputError
from scorer.render.effects import apply_stem_fx
from scorer.timebase import SAMPLE_RATE, s_to_sample
from scorer.types import Clip, CueScore, Part, Score, Stems

DEFAULT_SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),   # Debian fluid-soundfont-gm (MIT)
)
DRUM_CHANNEL = 9
# Headroom: many voices summed at full GM velocity clip easily; mix/ sets the final level.
SYNTH_GAIN_DB = -12.0


def find_soundfont(explicit: str | os.PathLike | None = None) -> Path:
    """The SoundFont to use: explicit path, else $SCORER_SOUNDFONT, else the installed GM font."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise InputError("SoundFont not found", path=str(path))
        return path
    env = os.environ.get("SCORER_SOUNDFONT")
    if env:
        path = Path(env)
        if not path.is_file():
            raise InputError("SoundFont named by SCORER_SOUNDFONT not found", path=str(path))
        return path
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


def _events(parts: list[Part], clip_start: int, channels: list[int]):
    """(sample, order, kind, channel, pitch, velocity) sorted; note-offs before note-ons."""
    events = []
    for part, chan in zip(parts, channels):
        for note in part.notes:
            on = s_to_sample(note.start_s) - clip_start
            off = max(s_to_sample(note.end_s) - clip_start, on + 1)
            events.append((on, 1, chan, note.pitch, note.velocity))
            events.append((off, 0, chan, note.pitch, 0))
    events.sort()
    return events


def render_parts(synth, sfid: int, parts: list[Part], *, clip_start: int, n: int) -> np.ndarray:
    """Render `parts` into a (2, n) float32 buffer whose sample 0 is timeline sample clip_start."""
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
    out = np.zeros((n, 2), dtype=np.float32)
    view = memoryview(out).cast("B")
    frame_bytes = 8  # stereo float32
    pos = 0
    for sample, kind, chan, pitch, velocity in _events(parts, clip_start, channels):
        sample = min(max(sample, 0), n)
        if sample > pos:
            synth.generate_simple(sample - pos, buffer=view[pos * frame_bytes:sample * frame_bytes])
            pos = sample
        if kind == 1:
            synth.noteon(chan, pitch, velocity)
        else:
            synth.noteoff(chan, pitch)
    if pos < n:
        synth.generate_simple(n - pos, buffer=view[pos * frame_bytes:n * frame_bytes])
    synth.sounds_off()
    # A short fade at the very end of the buffer: a note cut at the buffer edge would click.
    fade = min(n, SAMPLE_RATE // 100)
    out[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return np.ascontiguousarray(out.T)


def render_cue(synth, sfid: int, cue_score: CueScore, preset: Preset) -> dict[str, Clip]:
    """One clip per stem group for one cue, from cue start to end + tail, through the
    preset's effects for that group."""
    start = s_to_sample(cue_score.cue.start_s)
    n = s_to_sample(cue_score.cue.end_s + cue_score.tail_s) - start
    groups: dict[str, list[Part]] = {}
    for part in cue_score.parts:
        groups.setdefault(part.group, []).append(part)
    return {group: Clip(start, apply_stem_fx(render_parts(synth, sfid, parts, clip_start=start, n=n),
                                             preset.stem_fx(group)), label=cue_score.cue.id)
            for group, parts in sorted(groups.items())}


def cue_presets(score: Score, presets: dict[str, Preset] | None) -> dict[str, Preset]:
    """Each cue's preset (for its effects), by cue id; a cue whose preset is unknown is an
    error, not a silent default room."""
    from scorer.compose.presets import load_presets
    from scorer.errors import PresetError

    presets = load_presets() if presets is None else presets
    missing = sorted({cs.cue.preset for cs in score.cues} - set(presets))
    if missing:
        raise PresetError(f"the score names presets that are not loaded: {', '.join(missing)}")
    return {cs.cue.id: presets[cs.cue.preset] for cs in score.cues}


@dataclass(frozen=True)
class SoundFontBackend:
    name: str = "soundfont"

    def render(self, score: Score, *, progress=None, soundfont=None, presets=None, **options) -> Stems:
        """presets: name → Preset for the cues' effects (default: the shipped presets)."""
        if options:
            raise InputError(f"unknown options for the soundfont backend: {sorted(options)}")
        path = find_soundfont(soundfont)
        by_cue = cue_presets(score, presets)
        synth, sfid = _load_synth(path)
        groups: dict[str, list[Clip]] = {}
        total = len(score.cues)
        for i, cue_score in enumerate(score.cues):
            for group, clip in render_cue(synth, sfid, cue_score, by_cue[cue_score.cue.id]).items():
                groups.setdefault(group, []).append(clip)
            if progress:
                progress("render", i + 1, total)
        return Stems(groups={g: tuple(c) for g, c in groups.items()},
                     duration_s=score.source.duration_s, backend=self.name,
                     info={"soundfont": str(path)})


BACKEND = SoundFontBackend()
