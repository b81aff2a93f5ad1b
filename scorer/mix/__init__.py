"""Stems → a music mix under the dialogue, at a delivery loudness.

Every gain is applied to every stem alike, so the stems always sum to mix.wav. The
loudness spec applies to the programme (the cut's own sound + the music), which is what
the preview plays; the music keeps the same gain in the stems and in mix.wav.

Nothing here holds the film whole: clips are read in windows (io.clipstore parks rendered
clips on disk), their tail fades and ducking are gains computed per window (place.py),
and the loudness is measured block by block. The cut's own sound may likewise be a
window-read source instead of an array.

Levels: the music bed is set MUSIC_UNDER_PRODUCTION_LU under the cut's own sound, and
under each line of dialogue where the rule in duck.py puts it (measured against the
line's own level, sharing the budget with the arrangement's own thinning), then
the whole programme is normalised to the spec's integrated loudness (dialogue-gated for
Netflix), then its peaks are held under the spec's true-peak ceiling by a look-ahead
limiter — which may take at most the spec's max_limiting_db off a peak; past that the
level is lowered instead, and the Mix says it falls short (meets_spec). The music files are not limited (their stems must sum to mix.wav), so
their own true peak is kept under the ceiling by their gain.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator

import numpy as np

from scorer.errors import InputError
from scorer.mix.duck import Ducking, LineGain, line_gain_db
from scorer.mix.limit import TRUE_PEAK_MARGIN_DB, limit
from scorer.mix.loudness import SILENCE_DB, DeliverySpec, LoudnessMeter, db_to_gain, get_spec, measure
from scorer.mix.place import BLOCK_SAMPLES, tail_and_duck, window
from scorer.timebase import SAMPLE_RATE, n_samples, s_to_sample
from scorer.types import AudioSource, Clip, CueSheet, Stems

MUSIC_UNDER_PRODUCTION_LU = 4.0   # music bed sits this far below the cut's own sound
CROSSFADE_S = 0.75                # a tail ringing into the next cue fades out within this
SELF_FADING_GROUPS = frozenset({"ambience"})   # beds that carry their own designed crossfades
# Below the limiter's own threshold by this much, a programme's true peak provably leaves
# the limiter idle (its gain is exactly 1), so the programme's figures follow from the
# measured ones by the gain alone and need no further pass.
_IDLE_LIMITER_MARGIN_DB = 0.1
_MAX_CORRECTIONS = 4              # passes over the limited programme to home in on the level

GATE_INTEGRATED = "integrated"
GATE_DIALOGUE = "dialogue"
GATE_NO_DIALOGUE = "integrated (no dialogue to gate on)"


@dataclass(frozen=True)
class Mix:
    """The mixed music. `stems` hold the clips with their mix gain attached (tails faded,
    ducked — computed as they are read); every stem plays at `music_gain_db` (applied
    block by block as they are laid out, so the same gain reaches every stem and they sum
    to the music mix). `production_audio` is the cut's own sound — a (channels, n) array
    or an AudioSource read in windows — played at `production_gain_db` in the programme."""
    stems: Stems
    n_samples: int
    spec: DeliverySpec
    music_gain_db: float
    production_gain_db: float
    music_lufs: float
    music_true_peak_dbtp: float
    programme_lufs: float
    programme_true_peak_dbtp: float
    production_audio: "np.ndarray | AudioSource | None" = None
    # How programme_lufs was measured: "integrated" (the whole programme), "dialogue"
    # (dialogue-gated, for specs that ask for it: BS.1770 gating blocks taken only inside
    # the lines of dialogue), or "integrated (no dialogue to gate on)" when a
    # dialogue-gated spec meets a cut in which nobody speaks — said, not hidden.
    loudness_gate: str = GATE_INTEGRATED
    ducking: Ducking = Ducking()
    # The rule's decision per line of dialogue (mix/duck.py): the music's gain under it,
    # and why the target could not be met where it could not.
    lines: tuple[LineGain, ...] = ()
    crossfade_s: float = CROSSFADE_S

    @property
    def meets_spec(self) -> bool:
        """Whether the programme is within ±0.5 LU of the spec's loudness (as measured by
        loudness_gate) with its true peak under the ceiling. False where the level was
        held back (the limiter would have had to take more than the spec allows, or the
        unlimited music files would have peaked over the ceiling) or nothing sounds."""
        return (self.programme_lufs > SILENCE_DB
                and abs(self.programme_lufs - self.spec.integrated_lufs) <= 0.5
                and self.programme_true_peak_dbtp <= self.spec.true_peak_dbtp + 0.05)

    def music_blocks(self) -> Iterator[np.ndarray]:
        """(2, n) float32 blocks of the full-length music mix (the sum of the stems)."""
        return _music_blocks(self.stems, n_total=self.n_samples, gain_db=self.music_gain_db)

    def stem_blocks(self, group: str) -> Iterator[np.ndarray]:
        """(2, n) float32 blocks of one full-length stem, at the music's gain."""
        return _music_blocks(self.stems, n_total=self.n_samples, gain_db=self.music_gain_db, groups=(group,))

    def production_blocks(self) -> Iterator[np.ndarray]:
        """(2, n) float32 blocks of the cut's own sound as the programme plays it
        (silence when there is none)."""
        return _production_blocks(self.production_audio, n_total=self.n_samples,
                                  gain_db=self.production_gain_db)

    def programme_blocks(self, music_blocks: Iterable[np.ndarray] | None = None, *,
                         ceiling_dbtp: float | None = None) -> Iterator[np.ndarray]:
        """(2, n) blocks of the cut's own sound plus the music, true-peak limited to the
        spec, as the preview plays it.

        music_blocks: the music as music_blocks() yields it, when the caller reads it too
        (e.g. one branch of deliver.measure.fork(mix.music_blocks())), so the clips are read once.
        ceiling_dbtp: limit to this ceiling instead of the spec's (the preview's AAC adds
        to the peaks, so its programme may be limited lower: deliver/preview.py).
        """
        music = self.music_blocks() if music_blocks is None else music_blocks
        return limit(_programme(music, self.production_audio, n_total=self.n_samples,
                                production_gain_db=self.production_gain_db),
                     ceiling_dbtp=self.spec.true_peak_dbtp if ceiling_dbtp is None else ceiling_dbtp)


def _music_blocks(stems: Stems, *, n_total: int, gain_db: float,
                  groups: tuple[str, ...] | None = None) -> Iterator[np.ndarray]:
    """The stems' clips laid out and summed block by block, at gain_db."""
    gain = np.float32(db_to_gain(gain_db))
    clips = sorted((c for g in (sorted(stems.groups) if groups is None else groups)
                    for c in stems.groups[g]), key=lambda c: c.start_sample)
    for start in range(0, n_total, BLOCK_SAMPLES):
        n = min(BLOCK_SAMPLES, n_total - start)
        block = window([c for c in clips if c.start_sample < start + n and c.end_sample > start],
                       start=start, n=n)
        if gain != 1:
            block *= gain
        yield block


def _production_blocks(audio, *, n_total: int, gain_db: float = 0.0) -> Iterator[np.ndarray]:
    """The cut's own sound (array or AudioSource, mono or stereo) as (2, n) blocks over
    [0, n_total): padded with silence or cut off to the picture's length."""
    clip = None if audio is None else Clip(0, audio)
    gain = np.float32(db_to_gain(gain_db))
    for start in range(0, n_total, BLOCK_SAMPLES):
        n = min(BLOCK_SAMPLES, n_total - start)
        block = np.zeros((2, n), np.float32) if clip is None else clip.window(start, n, channels=2)
        if gain != 1:
            block *= gain
        yield block


def _programme(music_blocks, production, *, n_total: int, production_gain_db: float) -> Iterator[np.ndarray]:
    if production is None:
        yield from music_blocks
        return
    for m, p in zip(music_blocks, _production_blocks(production, n_total=n_total, gain_db=production_gain_db)):
        yield m + p


def shape_stems(stems: Stems, cue_sheet: CueSheet, *, ducking: Ducking, crossfade_s: float,
                gains_db: tuple[float, ...] | None = None) -> Stems:
    """The stems with each clip's mix gain attached (tail fade and crossfade by the rule
    in place.py; the music's gain under each line of cue_sheet.dialogue, gains_db, by the
    rule in duck.py — none when not given). Nothing is read or copied."""
    gains_db = (0.0,) * len(cue_sheet.dialogue) if gains_db is None else gains_db
    ends = {c.id: c.end_s for c in cue_sheet.cues}
    starts = sorted(c.start_s for c in cue_sheet.cues)
    next_start = {c.id: next((t for t in starts if t >= c.end_s - 1e-9 and t > c.start_s), None)
                  for c in cue_sheet.cues}
    groups = {}
    for g, clips in stems.groups.items():
        groups[g] = tuple(
            replace(clip, gain=tail_and_duck(clip, cue_end_s=ends.get(clip.label),
                                             next_start_s=next_start.get(clip.label),
                                             dialogue=cue_sheet.dialogue, gains_db=gains_db, ducking=ducking,
                                             crossfade_s=crossfade_s,
                                             fade_tail=g not in SELF_FADING_GROUPS))
            for clip in clips)
    return replace(stems, groups=groups)


def line_spans(cue_sheet: CueSheet, n_total: int) -> list[tuple[int, int]]:
    """Each line of dialogue as samples [start, end) of the delivered files."""
    return [(min(max(s_to_sample(sp.start_s), 0), n_total), min(max(s_to_sample(sp.end_s), 0), n_total))
            for sp in cue_sheet.dialogue]


NO_VOICE = "no production sound to measure the line against: the music is not dipped"


def mix(stems: Stems, cue_sheet: CueSheet, *, production_audio: "np.ndarray | AudioSource | None" = None,
        spec: str = "ebu", ducking: Ducking = Ducking(), crossfade_s: float = CROSSFADE_S,
        progress: Callable[[str, float, float], None] | None = None) -> Mix:
    """Fade cue tails, make room under dialogue, set the level so the programme meets `spec`.

    production_audio: the cut's own sound at 48 kHz, sample 0 at the cut's first frame:
    a (channels, n) float32 array or an AudioSource (e.g. a RawAudio on disk), mono or
    stereo; padded with silence or cut off to the picture's length.
    ducking: how far the music sits under each line of dialogue, measured against the
    line's own level in the cut's sound (mix/duck.py); fades and limits.
    crossfade_s: how long a cue's tail may sound under the next cue (see mix/place.py).
    """
    delivery = get_spec(spec)
    if not isinstance(ducking, Ducking):
        raise InputError(f"ducking must be a scorer.mix.duck.Ducking, got {type(ducking).__name__}")
    if not np.isfinite(crossfade_s) or crossfade_s < 0:
        raise InputError(f"crossfade_s must be ≥ 0, got {crossfade_s}")
    if isinstance(production_audio, np.ndarray) and (production_audio.ndim != 2
                                                     or production_audio.shape[0] not in (1, 2)):
        raise ValueError(f"production audio must be (1 or 2 channels, n), got {production_audio.shape}")
    total = n_samples(cue_sheet.source.duration_s)
    lines = line_spans(cue_sheet, total)
    if progress:
        progress("mix", 1, 4)

    gate, gate_name = None, GATE_INTEGRATED
    if delivery.dialogue_gated:
        spans = [(sp.start_s, sp.end_s) for sp in cue_sheet.dialogue]
        if spans:
            gate, gate_name = spans, GATE_DIALOGUE
        else:
            gate_name = GATE_NO_DIALOGUE

    # Pass 1 (with the cut's own sound): the music as arranged (tails faded, no dip) and
    # the cut's sound side by side, whole and over every line: the bed's level and, line
    # by line, the gain that puts the music where the rule wants it under the voice.
    music_gain_db = 0.0
    decisions = tuple(LineGain(0.0, NO_VOICE) for _ in lines)
    if production_audio is not None:
        plain = shape_stems(stems, cue_sheet, ducking=ducking, crossfade_s=crossfade_s)
        music_meter = LoudnessMeter(SAMPLE_RATE, 2, true_peak=False, spans=lines)
        prod_meter = LoudnessMeter(SAMPLE_RATE, 2, true_peak=False, spans=lines)
        for m, p in zip(_music_blocks(plain, n_total=total, gain_db=0.0),
                        _production_blocks(production_audio, n_total=total)):
            music_meter.add(m)
            prod_meter.add(p)
        music_lufs, prod_lufs = music_meter.integrated_lufs(), prod_meter.integrated_lufs()
        if prod_lufs > SILENCE_DB and music_lufs > SILENCE_DB:
            music_gain_db = prod_lufs - MUSIC_UNDER_PRODUCTION_LU - music_lufs
        if ducking.active:
            decisions = tuple(line_gain_db(d, _plus(m, music_gain_db), ducking)
                              for d, m in zip(prod_meter.span_lufs(), music_meter.span_lufs()))
        else:
            decisions = tuple(LineGain(0.0, None) for _ in lines)
    shaped = shape_stems(stems, cue_sheet, ducking=ducking, crossfade_s=crossfade_s,
                         gains_db=tuple(d.gain_db for d in decisions))
    if progress:
        progress("mix", 2, 4)

    # Pass 2: the music as mixed (with its dips) and the programme at that balance,
    # before the limiter.
    music_meter = LoudnessMeter(SAMPLE_RATE, 2)
    prog_meter = music_meter if production_audio is None else LoudnessMeter(SAMPLE_RATE, 2)
    prods = None if production_audio is None else _production_blocks(production_audio, n_total=total)
    for m in _music_blocks(shaped, n_total=total, gain_db=music_gain_db):
        music_meter.add(m)
        if prods is not None:
            prog_meter.add(m + next(prods))
    music_lufs = _plus(music_meter.integrated_lufs(), -music_gain_db)        # at 0 dB, as the stems are
    music_tp = _plus(music_meter.true_peak_dbtp(), -music_gain_db)
    # (without the cut's own sound music_gain_db is 0: the programme is the music at 0 dB)
    prog_lufs, prog_tp = prog_meter.integrated_lufs(only_s=gate), prog_meter.true_peak_dbtp()
    if progress:
        progress("mix", 3, 4)

    gain_db = 0.0 if prog_lufs <= SILENCE_DB else delivery.integrated_lufs - prog_lufs
    # The programme limiter catches the peaks normalising pushes over the ceiling, but no
    # more than the spec allows: past that it would audibly squash the cut's own sound.
    limit_cap = (delivery.true_peak_dbtp - prog_tp + delivery.max_limiting_db) if prog_tp > SILENCE_DB else float("inf")
    # The music files themselves are not limited (their stems must sum to mix.wav), so
    # their own peaks must stay under the ceiling: past this gain the music stops rising
    # and, under the cut's own sound, sits further below it than the bed rule asks.
    music_ceiling_db = (delivery.true_peak_dbtp - music_tp) if music_tp > SILENCE_DB else float("inf")
    # Without the cut's own sound the music is the programme: its ceiling caps the level.
    cap = limit_cap if production_audio is not None else min(limit_cap, music_ceiling_db)

    def mixed(gain_db: float) -> Mix:
        total_db = min(music_gain_db + gain_db, music_ceiling_db)
        m = Mix(stems=shaped, n_samples=total, spec=delivery, music_gain_db=total_db,
                production_gain_db=gain_db, music_lufs=_plus(music_lufs, total_db),
                music_true_peak_dbtp=_plus(music_tp, total_db),
                programme_lufs=SILENCE_DB, programme_true_peak_dbtp=SILENCE_DB,
                production_audio=production_audio, loudness_gate=gate_name, ducking=ducking,
                lines=decisions, crossfade_s=crossfade_s)
        # Gains are linear: where the balance is the measured one and the limiter provably
        # does nothing, the programme's figures follow from the measured ones; otherwise
        # the programme is measured after its limiter.
        balanced = total_db == music_gain_db + gain_db or production_audio is None
        if balanced and prog_tp + gain_db <= delivery.true_peak_dbtp - TRUE_PEAK_MARGIN_DB - _IDLE_LIMITER_MARGIN_DB:
            return replace(m, programme_lufs=_plus(prog_lufs, gain_db),
                           programme_true_peak_dbtp=_plus(prog_tp, gain_db))
        p_lufs, p_tp = measure(m.programme_blocks(), sample_rate=SAMPLE_RATE, only_s=gate)
        return replace(m, programme_lufs=p_lufs, programme_true_peak_dbtp=p_tp)

    gain_db = min(gain_db, cap)
    result = mixed(gain_db)
    # The limiter (and a music held at its ceiling) flatten the curve from gain to
    # loudness: a few secant steps on it bring the programme to the spec.
    tried = [(gain_db, result.programme_lufs)]
    for _ in range(_MAX_CORRECTIONS):
        g, lufs = tried[-1]
        error = delivery.integrated_lufs - lufs
        if lufs <= SILENCE_DB or abs(error) <= 0.1 or (error > 0 and g >= cap):
            break
        slope = 1.0
        if len(tried) > 1 and tried[-1][0] != tried[-2][0]:
            slope = (tried[-1][1] - tried[-2][1]) / (tried[-1][0] - tried[-2][0])
            slope = min(max(slope, 0.2), 1.0)
        g = min(g + error / slope, cap)
        result = mixed(g)
        tried.append((g, result.programme_lufs))
    if progress:
        progress("mix", 4, 4)
    return result


def _plus(level_db: float, gain_db: float) -> float:
    return level_db if level_db <= SILENCE_DB else level_db + gain_db
