"""Stems → a music mix under the dialogue, at a delivery loudness.

Every gain is applied to every stem alike, so the stems always sum to mix.wav. The
loudness spec applies to the programme (the cut's own sound + the music), which is what
the preview plays; the music keeps the same gain in the stems and in mix.wav.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from scorer.mix.duck import duck_envelope_db
from scorer.mix.limit import limit
from scorer.mix.loudness import SILENCE_DB, DeliverySpec, db_to_gain, get_spec, measure
from scorer.mix.place import fade_tail, sum_blocks, timeline_blocks
from scorer.timebase import SAMPLE_RATE, n_samples, s_to_sample
from scorer.types import Clip, CueSheet, Stems

MUSIC_UNDER_PRODUCTION_LU = 4.0   # music bed sits this far below the cut's own sound
CROSSFADE_S = 0.75                # a tail ringing into the next cue fades out within this
SELF_FADING_GROUPS = frozenset({"ambience"})   # beds that carry their own designed crossfades
MAX_LIMITING_DB = 6.0             # the limiter may take peaks down this far, no further


@dataclass(frozen=True)
class Mix:
    """The mixed music. `stems` hold the clips with tails faded and ducked; every stem plays
    at `music_gain_db` (applied block by block as they are laid out, so the same gain
    reaches every stem and they sum to the music mix). `production_audio` (2, n) is the
    cut's own sound, played at `production_gain_db` in the programme."""
    stems: Stems
    n_samples: int
    spec: DeliverySpec
    music_gain_db: float
    production_gain_db: float
    music_lufs: float
    music_true_peak_dbtp: float
    programme_lufs: float
    programme_true_peak_dbtp: float
    production_audio: np.ndarray | None = None
    # How programme_lufs was measured: "integrated" (the whole programme), "dialogue"
    # (dialogue-gated, for specs that ask for it), or "integrated (no dialogue to gate on)"
    # when a dialogue-gated spec meets a cut in which nobody speaks — said, not hidden.
    loudness_gate: str = "integrated"

    def music_blocks(self):
        """(2, n) blocks of the full-length music mix (the sum of the stems)."""
        return _music_blocks(self.stems, n_total=self.n_samples, gain_db=self.music_gain_db)

    def stem_blocks(self, group: str):
        gain = np.float32(db_to_gain(self.music_gain_db))
        return (block * gain for block in timeline_blocks(self.stems.groups[group], n_total=self.n_samples))

    def programme_blocks(self):
        """(2, n) blocks of the cut's own sound plus the music, true-peak limited to the
        spec, as the preview plays it."""
        return limit(_programme(self.music_blocks(), self.production_audio,
                                db_to_gain(self.production_gain_db)),
                     ceiling_dbtp=self.spec.true_peak_dbtp)


def _music_blocks(stems: Stems, *, n_total: int, gain_db: float):
    """The stems laid out and summed block by block, at gain_db."""
    gain = np.float32(db_to_gain(gain_db))
    return (b * gain for b in sum_blocks(timeline_blocks(stems.groups[g], n_total=n_total)
                                         for g in sorted(stems.groups)))


def _programme(music_blocks, production: np.ndarray | None, production_gain: float):
    pos = 0
    for block in music_blocks:
        n = block.shape[1]
        if production is not None:
            block = block + production_gain * production[:, pos:pos + n]
        pos += n
        yield block


def mix(stems: Stems, cue_sheet: CueSheet, *, production_audio: np.ndarray | None = None,
        spec: str = "ebu", duck_db: float = -8.0,
        progress: Callable[[str, float, float], None] | None = None) -> Mix:
    """Fade cue tails, duck under dialogue, set the level so the programme meets `spec`.

    production_audio: the cut's own sound, (channels, n) float32 at 48 kHz, or None.
    """
    delivery = get_spec(spec)
    total = n_samples(cue_sheet.source.duration_s)
    if production_audio is not None:
        production_audio = _fit_production(production_audio, total)
    ends = {c.id: c.end_s for c in cue_sheet.cues}
    # Where the next cue starts before a cue's tail has rung out, the tail crossfades into
    # it: an equal-power fade from the cue's end over at most CROSSFADE_S after the next
    # cue's first downbeat (which itself is left untouched), then silence.
    starts = sorted(c.start_s for c in cue_sheet.cues)
    next_start = {c.id: next((t for t in starts if t >= c.end_s - 1e-9 and t > c.start_s), None)
                  for c in cue_sheet.cues}
    groups = {}
    for g, clips in stems.groups.items():
        out = []
        for clip in clips:
            samples = clip.samples
            if clip.label in ends and g not in SELF_FADING_GROUPS:
                tail_start = s_to_sample(ends[clip.label]) - clip.start_sample
                nxt = next_start[clip.label]
                tail_end = None if nxt is None else s_to_sample(nxt + CROSSFADE_S) - clip.start_sample
                samples = fade_tail(samples, tail_start=tail_start, tail_end=tail_end)
            env = duck_envelope_db(cue_sheet.dialogue, start_sample=clip.start_sample,
                                   n=samples.shape[1], depth_db=duck_db)
            out.append(replace(clip, samples=(samples * (10 ** (env / 20))[None, :]).astype(np.float32)))
        groups[g] = tuple(out)
    ducked = replace(stems, groups=groups)
    if progress:
        progress("mix", 1, 3)

    def music_of(s: Stems, gain_db: float = 0.0):
        return _music_blocks(s, n_total=total, gain_db=gain_db)

    music_lufs, music_tp = measure(music_of(ducked), sample_rate=SAMPLE_RATE)
    gate, gate_name = None, "integrated"
    if delivery.dialogue_gated:
        spans = [(sp.start_s, sp.end_s) for sp in cue_sheet.dialogue]
        if spans:
            gate, gate_name = spans, "dialogue"
        else:
            gate_name = "integrated (no dialogue to gate on)"
    music_gain_db = 0.0
    if production_audio is not None:
        prod_lufs, _ = measure(timeline_blocks([Clip(0, production_audio)], n_total=total),
                               sample_rate=SAMPLE_RATE, true_peak=False)
        if prod_lufs > SILENCE_DB and music_lufs > SILENCE_DB:
            music_gain_db = prod_lufs - MUSIC_UNDER_PRODUCTION_LU - music_lufs
        prog_lufs, prog_tp = measure(_programme(music_of(ducked, music_gain_db), production_audio, 1.0),
                                     sample_rate=SAMPLE_RATE, only_s=gate)
    else:
        prog_lufs, prog_tp = music_lufs, music_tp
        if gate is not None:
            prog_lufs, _ = measure(music_of(ducked), sample_rate=SAMPLE_RATE, true_peak=False, only_s=gate)
    if progress:
        progress("mix", 2, 3)
    gain_db = 0.0 if prog_lufs <= SILENCE_DB else delivery.integrated_lufs - prog_lufs
    # The programme limiter catches the peaks normalising pushes over the ceiling, but a
    # few dB at most: past that it would audibly squash the cut's own sound.
    if prog_tp > SILENCE_DB:
        gain_db = min(gain_db, delivery.true_peak_dbtp - prog_tp + MAX_LIMITING_DB)
    # The music files themselves are not limited (their stems must sum to mix.wav), so
    # their own peaks must stay under the ceiling.
    music_ceiling_db = (delivery.true_peak_dbtp - music_tp - music_gain_db
                        if music_tp > SILENCE_DB else float("inf"))
    gain_db = min(gain_db, music_ceiling_db)

    def mixed(gain_db: float) -> Mix:
        # Gains are linear, so the music's final figures follow from the measured ones
        # exactly; the programme is measured after its limiter.
        total_db = music_gain_db + gain_db
        m = Mix(stems=ducked, n_samples=total, spec=delivery,
                music_gain_db=total_db, production_gain_db=gain_db,
                music_lufs=_plus(music_lufs, total_db), music_true_peak_dbtp=_plus(music_tp, total_db),
                programme_lufs=SILENCE_DB, programme_true_peak_dbtp=SILENCE_DB,
                production_audio=production_audio, loudness_gate=gate_name)
        p_lufs, p_tp = measure(m.programme_blocks(), sample_rate=SAMPLE_RATE, only_s=gate)
        return replace(m, programme_lufs=p_lufs, programme_true_peak_dbtp=p_tp)

    result = mixed(gain_db)
    # The limiter lowers the loudness a little; one correction brings it back to the spec.
    correction = delivery.integrated_lufs - result.programme_lufs
    if result.programme_lufs > SILENCE_DB and abs(correction) > 0.1:
        result = mixed(min(gain_db + correction, delivery.true_peak_dbtp - prog_tp + MAX_LIMITING_DB,
                           music_ceiling_db))
    if progress:
        progress("mix", 3, 3)
    return result


def _plus(level_db: float, gain_db: float) -> float:
    return level_db if level_db <= SILENCE_DB else level_db + gain_db


def _fit_production(audio: np.ndarray, total: int) -> np.ndarray:
    """The cut's own sound as (2, total): mono doubled, padded or trimmed to the picture."""
    if audio.ndim != 2:
        raise ValueError(f"production audio must be (channels, n), got {audio.shape}")
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    audio = audio[:2, :total]
    if audio.shape[1] < total:
        audio = np.pad(audio, ((0, 0), (0, total - audio.shape[1])))
    return np.ascontiguousarray(audio, dtype=np.float32)
