"""Arrangement: the parts of one cue from its form, chords, tempo map, intensity and dialogue.

Layers: melody (the theme, stated then developed: sequence, fragmentation, inversion,
augmentation), an optional counter-line, pad (voice-led chords below the tune), bass,
ostinato, pulse (General MIDI kit) and hits (on honoured hits). Each layer plays an
idiom (idioms.py: walking bass, spiccato, comping, pedal point, brushed swing…) that the
seed picks from the preset's list, in a variant per section of the cue's form (form.py);
builds move to the busiest idiom and add layers, the climax is tutti. Under dialogue the
melody rests, the pulse keeps only low drums on the beat, sustained parts stay below the
speech band (≈300 Hz–3 kHz) and everything plays softer. The cue ends with a button
chord on its last beat.

Every honoured hit is a stinger, an event rather than one more note (StingerPlan), scaled
by the hit's strength and the preset's mood ([stinger] and its stinger layers): the kit's
bass drum, floor tom and crash (and the preset's other cymbals on a strong hit), the
hits layer's root, a low hit (timpani, taiko, low piano or the basses in octaves), a
stab (a short full chord on brass or strings), and into a strong hit a riser that lands
on it (a reverse cymbal, a timpani roll, a harp or xylophone glissando, a string
crescendo; the kit may add its suspended-cymbal or snare roll). Before it the
arrangement makes room: in the rest (the preset's room_s, longer for the strongest
hits) nothing but the riser starts or sounds — notes end, the kit's ringing drums stop
a little earlier, and expression (CC11/CC1) drops so releases die — and everything is
back on the hit. That is what makes the hit stand 8–10 dB and more over the half second
before it (deliver.measure.accent_db), even with the hall ringing into the rest. Under
a line the stab keeps below the speech band, there is no riser, and the low drums keep
their weight (the mix's dip under the line already makes room). Every accent starts
exactly at its hit: the tempo map and the sync are the tempo fit's.

Then the parts are performed (perform.py): seeded timing and velocity, CC1/CC11 curves
on sustained parts, pedal on piano; the stinger's own layers are played as written.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scorer.compose import idioms as I
from scorer.compose import perform
from scorer.compose.form import BUILD, CLIMAX, DEVELOPMENT, ENDING, INTRO, RELEASE, STATEMENT, Form, \
    climax_and_peak, plan_form
from scorer.compose.harmony import Chord, Harmony, chord_scale, parallel_perfects, voice_chord
from scorer.music.presets import DRUM_NOTES, REVERSE_KEY, RISER_GLISS, RISER_REVERSE, RISER_ROLL, RISER_SWELL, \
    ROLL_PROGRAMS, Band, Layer, Preset, riser_kind
from scorer.compose.theme import DEVELOPMENT_TREATMENTS, Motif, phrase_bars, treated
from scorer.types import EXPRESSION, MOD_WHEEL, SUSTAIN_PEDAL, Control, Cue, Hit, MotifNote, Note, Part, Span, \
    TempoMap

# D4 ≈ 294 Hz: sustained notes above this sit in the speech band under dialogue.
SPEECH_TOP_PITCH = 62
DIALOGUE_GAIN = 0.7
# Melody keeps clear of a line a little before it starts and after it ends.
MELODY_REST_BEFORE_S, MELODY_REST_AFTER_S = 0.2, 0.1
DRUM_NOTE_S = 0.15
LOW_DRUMS = frozenset({"kick", "kick2", "tom_floor", "tom_low", "tom_mid"})
# Drums that ring on after their note ends (a General MIDI kit ignores note-offs): they
# stop KIT_RING_S earlier before a hit than the rest of the band, so their ring has died
# by the time the rest begins.
RINGING_DRUMS = frozenset({"tom_floor", "tom_low", "tom_mid", "tom_high", "crash", "crash2", "china", "splash",
                           "ride", "ride_bell", "hat_open"})
KIT_RING_S = 0.25
DRUM_ACCENT = {"X": 1.15, "x": 0.9, "o": 0.55}
# The reel's last chord must be heard: it starts at least this long before the picture ends.
FINAL_RING_S = 0.75

# Stingers. A hit at least this strong gets the whole event: a riser into it, every
# cymbal and the full stab, out of a rest that grows with its strength (up to
# STRONG_ROOM times the preset's room_s); a weaker one a lighter accent out of room_s.
# (The hall rings on into the rest: only a rest of about half a second leaves the hit
# standing 8–10 dB over what precedes it.)
STRONG_HIT = 0.6
STRONG_ROOM = 1.25
# Expression in the rest: low enough that what still rings there (releases, a held
# pedal) is gone, reached over ROOM_FADE_S so the drop does not click.
ROOM_EXPRESSION = 8
ROOM_FADE_S = 0.05
# A stab is short: half a beat, kept within these bounds (s).
STAB_S = (0.2, 0.35)
# FluidR3's reverse cymbal (program 119) on REVERSE_KEY peaks this long after its attack;
# it is struck so that its peak lands on the hit (and its note ends there).
REVERSE_LEAD_S = 1.375
# A glissando runs up the beat before a hit, a roll over that beat (two into a very
# strong hit), a swell crescendos over two beats.
RISER_BEATS = {RISER_ROLL: 1.0, RISER_GLISS: 1.0, RISER_SWELL: 2.0}
# A roll is measured in thirty-seconds, a glissando in sextuplets (its notes a run, not
# a tremolo).
RISER_STEPS_PER_BEAT = {RISER_ROLL: 8, RISER_GLISS: 6}
VERY_STRONG_HIT = 0.8
# The stinger's layers play at least as loud as at this intensity, however quiet the cue.
STINGER_INTENSITY = 0.8


@dataclass(frozen=True)
class Arrangement:
    parts: tuple[Part, ...]
    tail_s: float
    form: Form | None = None
    idioms: dict | None = None   # layer → the idiom it plays ("calm/busy" where builds take another)


# --- helpers ---------------------------------------------------------------------------------------

def velocity(base: int, intensity: float, *, under_dialogue: bool = False, accent: float = 1.0) -> int:
    """MIDI velocity: the layer's base at intensity 0.8, softer below, louder above."""
    v = base * (0.6 + 0.5 * intensity) * accent * (DIALOGUE_GAIN if under_dialogue else 1.0)
    return int(min(127, max(1, round(v))))


def _fold(pitch: int, low: int, high: int) -> int:
    """pitch moved by octaves into [low, high] (the range spans at least an octave)."""
    while pitch > high:
        pitch -= 12
    while pitch < low:
        pitch += 12
    return pitch


def _pitch_of(pc: int, low: int, high: int, near: float) -> int:
    """The pitch of pitch class pc in [low, high] nearest `near` (lower on a tie)."""
    cands = [p for p in range(low, high + 1) if p % 12 == pc]
    return min(cands, key=lambda p: (abs(p - near), p))


def _tone(token: str, chord: Chord, root: int) -> int:
    """A chord-tone token as a pitch above `root` (the chord's root pitch)."""
    pcs = chord.spec.pcs
    up = lambda k: (pcs[k] - pcs[0]) % 12  # noqa: E731
    return root + {"1": 0, "3": up(1), "5": up(2) if len(pcs) > 2 else 7,
                   "7": up(3) if len(pcs) > 3 else 12, "8": 12, "t": up(1) + 12,
                   "f": (up(2) if len(pcs) > 2 else 7) + 12}[token]


def _pattern_events(pattern: str) -> list[tuple[int, int, str]]:
    """(first step, number of steps, token) of each note in a pitched pattern."""
    out: list[list] = []
    for k, ch in enumerate(pattern):
        if ch == "-":
            if out and out[-1][0] + out[-1][1] == k:
                out[-1][1] += 1
        elif ch != ".":
            out.append([k, 1, ch])
    return [tuple(e) for e in out]


# The idiom of a layer its preset lists none for.
_DEFAULT_IDIOM = {"melody": "theme", "counter": "countermelody"}


def _idiom_options(preset: Preset, role: str) -> tuple[str, ...]:
    return dict(preset.idioms).get(role, (_DEFAULT_IDIOM.get(role, I.FIGURE),))


@dataclass(frozen=True)
class Variation:
    """What a seed changes besides the chords, so that a new take is new music on the same
    timing: the idiom of every layer, its variant in each section, how the theme is
    developed, where the pads and the tune sit, and the seed of the performance."""
    pad_shift: int = 0            # semitones added to the pad voicing's centre
    answer_first: bool = False    # the theme's answer before its statement
    melody_lift: float = 0.0      # the tune's register, as a fraction of its instrument's span
    ostinato_turn: int = 0        # the ostinato's own figure rotated by this many beats
    textures: tuple[tuple[str, I.Texture], ...] = ()   # layer → idiom (calm, busy)
    variants: tuple[int, ...] = (0,)                    # a variant number per section, cycled
    treatments: tuple[str, ...] = ("sequence_up", "inversion", "fragments_down")   # development order
    perform_seed: int = 0         # humanised timing and velocity

    @classmethod
    def draw(cls, rng: np.random.Generator, preset: Preset) -> "Variation":
        base = dict(pad_shift=int(rng.integers(-3, 4)), answer_first=bool(rng.integers(2)),
                    melody_lift=float(rng.choice([-0.1, 0.0, 0.1])), ostinato_turn=int(rng.integers(0, 4)))
        textures = []
        for role, table in I.IDIOMS.items():
            if preset.layer(role) is None:
                continue
            options = _idiom_options(preset, role)
            textures.append((role, I.Texture(idiom=str(options[int(rng.integers(len(options)))]),
                                             busy=I.busiest(options, table))))
        order = [DEVELOPMENT_TREATMENTS[i] for i in rng.permutation(len(DEVELOPMENT_TREATMENTS))]
        return cls(**base, textures=tuple(textures), variants=tuple(int(v) for v in rng.integers(0, 9, size=12)),
                   treatments=tuple(order), perform_seed=int(rng.integers(1 << 31)))

    def texture(self, role: str) -> I.Texture:
        default = _DEFAULT_IDIOM.get(role, I.FIGURE)
        return dict(self.textures).get(role, I.Texture(default, default))


class _Cue:
    """What every layer needs to know about the cue being arranged."""

    def __init__(self, cue: Cue, *, preset: Preset, harmony: Harmony, tempo_map: TempoMap,
                 end_beat: float, dialogue: tuple[Span, ...], hits: tuple[tuple[Hit, float], ...],
                 variation: Variation = Variation()):
        self.cue, self.preset, self.harmony, self.tm = cue, preset, harmony, tempo_map
        self.variation = variation
        self.end_beat = end_beat                           # the button's beat
        self.button_s = tempo_map.beat_to_s(end_beat) if end_beat < tempo_map.s_to_beat(cue.end_s) - 1e-9 \
            else cue.end_s
        self.bpb, self.spb = preset.beats_per_bar, preset.steps_per_beat
        # Lines just past the end count too: the button (and the tail) ring into them.
        self.dialogue = tuple(s for s in dialogue if s.end_s > cue.start_s and s.start_s <= cue.end_s + 5.0)
        self.hits = tuple((h, b) for h, b in hits if b <= end_beat + 1e-9)   # honoured: (hit, integer beat)
        # Beat 0 is the first downbeat; a cue with a pickup starts at a negative beat, in
        # bar −1. Bars run first_bar … n_bars − 1.
        self.start_beat = tempo_map.s_to_beat(cue.start_s)
        self.first_bar = math.floor(self.start_beat / self.bpb + 1e-9)
        self.n_bars = max(1, math.ceil(end_beat / self.bpb - 1e-9))
        self.body = [c for c in harmony.chords if not c.is_button]
        self.button = harmony.chords[-1]
        climax, peak = climax_and_peak(hits=self.hits, intensity_at_bar=lambda b: self.bar_intensity(b),
                                       first_bar=self.first_bar, n_bars=self.n_bars,
                                       bar_of_beat=lambda b: math.floor(b / self.bpb + 1e-9))
        cad_bars = sum(1 for ch in self.body if ch.start_beat >= (self.n_bars - 2) * self.bpb - 1e-9)
        self.form = plan_form(first_bar=self.first_bar, n_bars=self.n_bars, climax_bar=climax, peak_bar=peak,
                              cadence_bars=max(1, cad_bars))
        self.melody_notes: list[Note] = []
        self.bass_notes: list[Note] = []
        self.dynamics: tuple[Control, ...] | None = None
        self.button_len_s = 0.0
        self.stingers = _plan_stingers(self)

    def s(self, beat: float) -> float:
        return self.tm.beat_to_s(beat)

    def bars(self) -> range:
        return range(self.first_bar, self.n_bars)

    def in_cue(self, beat: float) -> bool:
        """Whether `beat` is at or after the cue's start (not in a pickup bar's silent part)."""
        return beat >= self.start_beat - 1e-9

    def intensity(self, beat: float) -> float:
        return self.cue.intensity_at(min(self.s(beat), self.cue.end_s))

    def bar_intensity(self, bar: int) -> float:
        mid = min(bar * self.bpb + self.bpb / 2, (bar * self.bpb + self.end_beat) / 2)
        return self.intensity(max(mid, self.start_beat))

    def band(self, beat: float) -> Band:
        return self.preset.band(self.intensity(max(beat, self.start_beat)))

    def bar_band(self, bar: int) -> Band:
        """A bar's band, from the intensity in its middle; a build or climax plays at
        least the middle band's layers, an intro at most the low band's."""
        band = self.preset.band(self.bar_intensity(bar))
        kind = self.form.kind_at(bar)
        if kind in (BUILD, CLIMAX) and band is self.preset.low:
            return self.preset.mid
        if kind == INTRO and band is not self.preset.low and self.n_bars - self.first_bar >= 8:
            return self.preset.low if "pad" in self.preset.low.play else band
        return band

    def idiom(self, role: str, bar: int) -> str:
        """The idiom a layer plays in a bar: the cue's own, the busiest in builds and at the
        climax, the preset's figure when the cue's idiom is calm and the band is high."""
        t = self.variation.texture(role)
        return t.busy if self.form.kind_at(bar) in (BUILD, CLIMAX) else t.idiom

    def variant(self, bar: int, salt: int = 0) -> int:
        """The variant played in a bar: one per section (and layer), from the seed."""
        k = self.form.sections.index(self.form.section_at(bar))
        v = self.variation.variants
        return v[(k + salt) % len(v)]

    def talking(self, t0_s: float, t1_s: float | None = None) -> bool:
        """Whether dialogue sounds at t0_s (or anywhere in [t0_s, t1_s))."""
        t1_s = t0_s if t1_s is None else t1_s
        return any(s.start_s <= t1_s and t0_s < s.end_s for s in self.dialogue)

    def chord_at(self, beat: float) -> Chord:
        for c in reversed(self.body):
            if c.start_beat <= beat + 1e-9:
                return c
        return self.body[0]

    def chord_starts(self) -> list[float]:
        return [c.start_beat for c in self.body]

    def melody_low(self, t0_s: float, t1_s: float) -> int | None:
        """The lowest melody note sounding in [t0_s, t1_s): what accompaniment stays under."""
        ps = [n.pitch for n in self.melody_notes if n.start_s < t1_s and n.end_s > t0_s]
        return min(ps) if ps else None

    def melody_at(self, t_s: float) -> int | None:
        """The melody pitch sounding at t_s (None in its rests)."""
        ps = [n.pitch for n in self.melody_notes if n.start_s <= t_s + 1e-6 < n.end_s]
        return max(ps) if ps else None

    def bass_at(self, t_s: float) -> int | None:
        ps = [n.pitch for n in self.bass_notes if n.start_s <= t_s + 1e-6 < n.end_s]
        return min(ps) if ps else None

    def sync_s(self) -> tuple[float, ...]:
        """Where the music meets picture: honoured hits, the cue start, the button."""
        return tuple(h.t_s for h, _ in self.hits) + (self.cue.start_s, self.button_s)


def _note(start_s: float, end_s: float, pitch: int, vel: int) -> Note | None:
    return Note(start_s, end_s, int(pitch), int(vel)) if end_s - start_s > 1e-4 else None


def _part(layer: Layer, notes: list[Note | None], controls: tuple[Control, ...] = ()) -> Part:
    kept = sorted({(n.start_s, n.pitch): n for n in notes if n is not None}.values(),
                  key=lambda n: (n.start_s, n.pitch))
    return Part(layer.name, layer.group, layer.program, layer.drums, tuple(kept),
                tuple(sorted(controls, key=lambda x: (x.t_s, x.number))))


def _button_len_s(c: _Cue, final_s: float | None) -> float:
    """Short at high intensity (a stab), longer and softer when the cue ends quietly; the
    reel's last chord rings to the picture's end."""
    if final_s is not None:
        return max(FINAL_RING_S, final_s - c.button_s)
    i = c.intensity(c.end_beat)
    beat = 60.0 / c.tm.tempo_at_s(c.cue.end_s)
    return max(0.3, 0.75 * beat) if i >= 0.35 else max(1.2, 2.0 * beat)


# --- melody and counter-line -----------------------------------------------------------------------

def _set_phrase(c: _Cue, layer: Layer, phrase, b_start: float, *, target: float) -> list[Note | None]:
    """A phrase of scale degrees set in the cue's key and chords from beat b_start, its
    register moved by octaves toward `target` (MIDI)."""
    h = c.harmony
    tonic_pc = h.scale[0]
    base = _pitch_of(tonic_pc, layer.low, layer.high, layer.low + 0.3 * (layer.high - layer.low))
    pitches, times, degrees = [], [], []
    for mn in phrase:
        b0 = b_start + mn.onset_beats
        if b0 >= c.end_beat - 1e-9:
            break
        if not c.in_cue(b0):
            continue
        chord = c.chord_at(b0)
        sc = chord_scale(h.scale, chord.spec.pcs)
        d = mn.degree
        pitch = base + 12 * (d // 7) + (sc[d % 7] - tonic_pc) % 12
        # A note on the bar line, or a long one on the half bar, may not rub a semitone
        # against the chord (a ninth or an eleventh is colour, a minor ninth a clash). It
        # moves to the nearest chord tone that keeps the tune's rise or fall from the note
        # before, so the theme's contour survives every harmonisation.
        strong = abs(mn.onset_beats % c.bpb) < 1e-9 or (
            mn.length_beats >= 1.5 and c.bpb % 2 == 0 and abs(mn.onset_beats % (c.bpb / 2)) < 1e-9)
        clash = any((pitch - q) % 12 in (1, 11) for q in chord.spec.pcs)
        if strong and clash:
            way = lambda p: int(np.sign(p - pitches[-1])) if pitches else 0  # noqa: E731
            pitch = min((p for p in range(pitch - 4, pitch + 5) if p % 12 in chord.spec.pcs),
                        key=lambda p, w=way(pitch): (way(p) != w, abs(p - pitch), p))
        if pitches and abs(pitch - pitches[-1]) == 6:
            # No bare tritone leaps in a tune: land a scale step nearer.
            toward = 1 if pitch < pitches[-1] else -1
            pitch = next((p for p in (pitch + toward, pitch + 2 * toward, pitch + 3 * toward)
                          if p % 12 in sc or p % 12 in chord.spec.pcs), pitch)
        if pitches and (want := int(np.sign(mn.degree - degrees[-1]))) != int(np.sign(pitch - pitches[-1])):
            # The fixes above must not turn a rising step into a repeat or a fall: the
            # contour is what makes the theme recognisable.
            pool = set(chord.spec.pcs) if strong else set(sc) | set(chord.spec.pcs)
            if want == 0:
                pitch = pitches[-1] if pitches[-1] % 12 in pool else pitch
            else:
                pitch = next((p for p in range(pitches[-1] + want, pitches[-1] + 6 * want, want)
                              if p % 12 in pool and abs(p - pitches[-1]) != 6), pitch)
        pitches.append(pitch)
        degrees.append(mn.degree)
        times.append((b0, min(b0 + mn.length_beats, c.end_beat)))
    notes: list[Note | None] = []
    if not pitches:
        return notes
    mean = sum(pitches) / len(pitches)
    fits = lambda k: min(pitches) + k >= layer.low and max(pitches) + k <= layer.high  # noqa: E731
    shift = min((-24, -12, 0, 12, 24), key=lambda k: (not fits(k), abs(mean + k - target), k))
    for p, (b0, b1) in zip(pitches, times):
        vel = velocity(layer.velocity, c.intensity(b0), accent=1.08 if abs(b0 % c.bpb) < 1e-9 else 1.0)
        notes.append(_note(c.s(b0), c.s(b1), _fold(p + shift, layer.low, layer.high), vel))
    return notes


def _melody_target(c: _Cue, layer: Layer, bar: int) -> float:
    """Where the tune sits: the lower middle of its instrument, higher when it builds, and
    above the middle of the pad, so the accompaniment can be voiced under it."""
    span = layer.high - layer.low
    target = layer.low + (0.4 + c.variation.melody_lift) * span + (0.2 * span if c.bar_intensity(bar) >= 0.7 else 0)
    if c.form.kind_at(bar) == CLIMAX:
        target += 0.1 * span
    pad = c.preset.layer("pad")
    return max(target, pad.low + 0.55 * (pad.high - pad.low) + 5)


def _treatment(c: _Cue, kind: str, half: int, dev_k: int, bar: int) -> str:
    """How the tune treats the theme in a phrase: the cue's first phrase states it (a
    listener must hear the theme before its development means anything); then by section."""
    if half == 0:
        return "statement"
    if kind == STATEMENT:
        return "statement" if (half % 2 == 0) != (c.variation.answer_first and half > 1) else "answer"
    if kind == DEVELOPMENT:
        return c.variation.treatments[dev_k % len(c.variation.treatments)]
    if kind == BUILD:
        return "fragments_up"
    if kind == CLIMAX:
        return "statement"
    if kind == RELEASE:
        return "augmentation" if c.bar_intensity(bar) < 0.35 and dev_k % 2 else "answer"
    return "answer"


def _melody(c: _Cue, layer: Layer, motif: Motif) -> list[Note]:
    """The theme through the cue's form: stated (statement and answer), developed
    (sequence, inversion, fragmentation, diminution), fragmented up through a build,
    restated at the climax, answered in the release; a breath between phrases; phrases
    start only on bars clear of dialogue and where the band plays the melody."""
    notes: list[Note | None] = []
    bar = c.first_bar + 1 if c.n_bars - c.first_bar >= 6 else max(c.first_bar, 0)
    half = dev_k = 0
    while (bar + 1) * c.bpb <= c.end_beat + 1e-9:   # a phrase starts with a whole bar ahead
        b_start = bar * c.bpb
        band = c.bar_band(bar)
        kind = c.form.kind_at(bar)
        if (kind == INTRO or "melody" not in band.play
                or c.talking(c.s(b_start) - MELODY_REST_BEFORE_S, c.s(b_start))):
            bar += 1
            continue
        treatment = _treatment(c, kind, half, dev_k, bar)
        phrase = treated(motif, treatment)
        n_bars = phrase_bars(phrase, c.bpb)
        if kind == ENDING and (bar + n_bars) * c.bpb > c.end_beat + 1e-9:
            break                   # no phrase cut off by the button
        if kind in (DEVELOPMENT, RELEASE):
            dev_k += 1
        if (kind in (DEVELOPMENT, BUILD, CLIMAX, RELEASE) and phrase and phrase[0].onset_beats == 0
                and c.variant(bar, salt=6) % 2 == 0 and c.in_cue(b_start - 1)
                and (not notes or notes[-1].end_s <= c.s(b_start - 1) + 1e-6)):
            # A pickup into the phrase — two eighths stepping up to its first note — where
            # the tune has rested: the transition a composer writes between sections.
            d = phrase[0].degree
            phrase = (MotifNote(-1.0, 0.5, d - 2), MotifNote(-0.5, 0.5, d - 1)) + phrase
        set_notes = [n for n in _set_phrase(c, layer, phrase, b_start, target=_melody_target(c, layer, bar)) if n]
        next_bar = bar + n_bars
        if set_notes and next_bar * c.bpb < c.end_beat - 1e-9:
            # A breath before the next phrase: the phrase's last note lets go half a beat early.
            last = set_notes[-1]
            breath_s = 0.5 * 60.0 / c.tm.tempo_at_s(last.start_s)
            if last.end_s - breath_s - last.start_s >= 0.25:
                set_notes[-1] = Note(last.start_s, last.end_s - breath_s, last.pitch, last.velocity)
        notes += set_notes
        half += 1
        bar = next_bar
        if half % 2 == 0 and kind in (STATEMENT, DEVELOPMENT, RELEASE):
            bar += 1            # a bar's rest after a theme and its answer: the counter-line answers
    return _rest_for_dialogue(c, notes)


def _counter(c: _Cue, layer: Layer, motif: Motif) -> list[Note | None]:
    """A counter-line: guide tones (thirds and sevenths) in half-bar notes moving by step
    against the tune, under it; in the bars the tune rests it answers with the theme's
    head in its own register."""
    notes: list[Note | None] = []
    prev: int | None = None
    half_b = c.bpb / 2 if c.bpb % 2 == 0 else float(c.bpb)
    centre = layer.low + 0.45 * (layer.high - layer.low)
    for bar in c.bars():
        kind = c.form.kind_at(bar)
        if kind in (INTRO, ENDING) or "melody" not in c.bar_band(bar).play:
            prev = None
            continue
        b_bar = bar * c.bpb
        t_bar0, t_bar1 = c.s(b_bar), c.s(min(b_bar + c.bpb, c.end_beat))
        if c.melody_low(t_bar0, t_bar1) is None and kind in (STATEMENT, DEVELOPMENT, RELEASE) \
                and bar % 2 == 1 and (bar + 1) * c.bpb <= c.end_beat:
            cell = treated(motif, "answer")
            cell = tuple(n for n in cell if n.onset_beats < c.bpb)
            notes += _set_phrase(c, layer, cell, b_bar, target=centre)
            prev = None
            continue
        if kind not in (DEVELOPMENT, BUILD, CLIMAX, RELEASE):
            continue
        b = b_bar
        while b < min(b_bar + c.bpb, c.end_beat) - 1e-9:
            if not c.in_cue(b):
                b += half_b
                continue
            b1 = min(b + half_b, c.end_beat)
            t0, t1 = c.s(b), c.s(b1)
            chord = c.chord_at(b)
            guide = [chord.spec.pcs[1]] + list(chord.spec.pcs[3:]) + [chord.spec.pcs[2] if len(chord.spec.pcs) > 2
                                                                      else chord.spec.pcs[0]]
            top = c.melody_low(t0, t1)
            hi = min(layer.high, (top - 3) if top is not None else layer.high)
            cands = [p for p in range(layer.low, hi + 1) if p % 12 in guide]
            if not cands or c.talking(t0, t1):
                b = b1
                prev = None
                continue
            ref = prev if prev is not None else centre
            pitch = min(cands, key=lambda p: (abs(p - ref) + (0 if p % 12 != guide[-1] else 1.5)
                                              + (0.5 if prev is not None and p == prev else 0), p))
            notes.append(_note(t0, t1, pitch, velocity(layer.velocity, c.intensity(b))))
            prev = pitch
            b = b1
    return _rest_for_dialogue(c, notes)


def _with_button(notes: list[Note], c: _Cue, layer: Layer, button_s: float) -> list[Note]:
    """The tune's last note on the button, on the final chord's tone nearest where it left
    off (when the melody is playing at the end and no line is spoken there)."""
    end_s = c.button_s
    if not notes or "melody" not in c.band(c.end_beat).play:
        return notes
    last_pitch = notes[-1].pitch
    pc = min(c.button.spec.pcs, key=lambda q: (min((last_pitch - q) % 12, (q - last_pitch) % 12), q))
    button = Note(end_s, end_s + button_s, _pitch_of(pc, layer.low, layer.high, last_pitch),
                  velocity(layer.velocity, c.intensity(c.end_beat)))
    return notes + _rest_for_dialogue(c, [button])


def _rest_for_dialogue(c: _Cue, notes: list[Note | None]) -> list[Note | None]:
    """The melody gets out of the way of every line: no note starts near one, and a note
    ringing into one stops before it."""
    out = []
    for n in notes:
        if n is None:
            continue
        if any(s.start_s - MELODY_REST_BEFORE_S <= n.start_s < s.end_s + MELODY_REST_AFTER_S
               for s in c.dialogue):
            continue
        end = n.end_s
        for s in c.dialogue:
            if n.start_s < s.start_s - MELODY_REST_BEFORE_S and end > s.start_s - MELODY_REST_BEFORE_S:
                end = s.start_s - MELODY_REST_BEFORE_S
        # A note cut to a blip sounds like a mistake: keep it only if enough is left.
        if end - n.start_s >= min(0.25, n.end_s - n.start_s):
            out.append(Note(n.start_s, end, n.pitch, n.velocity))
    return out


# --- pad -------------------------------------------------------------------------------------------

def _pad_attacks(c: _Cue, chord: Chord, band: Band, idiom: str) -> list[tuple[float, float]]:
    """(attack beat, release beat) of the pad over one chord, by idiom: held, re-struck
    every band.pad_beats ("figure"), in eighths ("pulsed"), on the off-beats ("stabs")."""
    b0, b1 = chord.start_beat, chord.end_beat
    if idiom == "pulsed":
        out, b = [], b0
        while b < b1 - 1e-9:
            out.append((b, min(b + 0.45, b1)))
            b += 0.5
        return out
    if idiom == "stabs":
        out = [(b0, min(b0 + 0.5, b1))]
        b = math.floor(b0) + 1.0
        while b < b1 - 1e-9:
            if round(b) % c.bpb % 2 == 1 or c.bpb == 3 and round(b) % 3:
                out.append((b, min(b + 0.5, b1)))
            b += 1.0
        return out
    step = band.pad_beats if idiom == I.FIGURE and band.pad_beats > 0 else b1 - b0
    attacks = [b0]
    while attacks[-1] + step < b1 - 1e-9:
        attacks.append(attacks[-1] + step)
    return list(zip(attacks, attacks[1:] + [b1]))


def _pad(c: _Cue, layer: Layer, button_s: float) -> list[Note | None]:
    """Voice-led chords under the tune in the pad's idiom; three voices below the speech
    band under dialogue; no parallel fifths or octaves, against the bass either;
    suspensions resolving into the chord where the idiom asks; the button at the end."""
    notes: list[Note | None] = []
    prev: tuple[int, ...] | None = None
    prev_bass: int | None = None
    for chord in c.body + [c.button]:
        bar = math.floor(chord.start_beat / c.bpb + 1e-9)
        idiom = c.idiom("pad", bar)
        if chord.is_button:
            spans = [(chord.start_beat, None)]
        else:
            band = c.band(chord.start_beat)
            if "pad" not in band.play and not chord.at_hit:
                prev = None
                continue
            spans = _pad_attacks(c, chord, band, idiom)
            held = []
            for a0, a1 in spans:        # under dialogue the pad holds rather than re-strikes
                if held and c.talking(c.s(a0)):
                    held[-1] = (held[-1][0], chord.end_beat)
                    break
                held.append((a0, a1))
            spans = held
        for k, (a0, a1) in enumerate(spans):
            t0 = c.s(a0) if not chord.is_button else c.button_s
            t1 = t0 + button_s if a1 is None else c.s(a1)
            talk = c.talking(t0, t1)
            i = c.intensity(min(a0, c.end_beat))
            centre = layer.low + (layer.high - layer.low) * (0.3 + 0.35 * i) + c.variation.pad_shift
            # The voicing holds for the whole chord (re-attacks repeat it): it stays under
            # the tune wherever the tune sounds over the chord.
            tune = c.melody_low(t0, t1 if chord.is_button else max(t1, c.s(chord.end_beat)))
            cap = SPEECH_TOP_PITCH if talk else None
            if tune is not None:
                cap = min(cap if cap is not None else 127, tune - 1)
            bass = c.bass_at(t0)
            if k == 0 or prev is None:
                voicing = voice_chord(chord.spec.pcs, low=layer.low, high=layer.high,
                                      n_voices=3 if talk else 4, prev=prev, centre=centre, max_top=cap,
                                      bass=(prev_bass, bass))
            else:
                voicing = prev
            accent = 1.15 if (chord.at_hit and a0 == chord.start_beat) or chord.is_button else 1.0
            vel = velocity(layer.velocity, i, under_dialogue=talk, accent=accent)
            pitches = list(voicing)
            if tune is not None and len([p for p in pitches if p < tune]) >= 2:
                pitches = [p for p in pitches if p < tune]     # where no voicing fits under the tune, thinner
            if idiom == "cluster" and not talk and len(pitches) >= 3 and not chord.is_button:
                sc = chord_scale(c.harmony.scale, chord.spec.pcs)
                mid = pitches[len(pitches) // 2]
                step = next((p for p in range(mid + 1, mid + 3) if p % 12 in sc), None)
                if step is not None and step not in pitches and step <= layer.high:
                    pitches.append(step)          # a second rubbing against the chord
            if (idiom == "suspension" and k == 0 and prev is not None and not chord.is_button
                    and not chord.at_hit and a1 is not None and a1 - a0 >= 2 and not talk):
                # The top voice holds a step above its resolution (prepared where the
                # previous chord had that note: a 4–3 or 9–8), resolving half way through.
                top = pitches[-1]
                sc = chord_scale(c.harmony.scale, chord.spec.pcs)
                sus = next((p for p in (top + 1, top + 2) if p % 12 in sc and p <= layer.high
                            and (cap is None or p <= cap)), None)
                if sus is not None:
                    mid_b = a0 + (a1 - a0) / 2
                    notes += [_note(t0, t1, p, vel) for p in pitches[:-1]]
                    notes.append(_note(t0, c.s(mid_b), sus, vel))
                    notes.append(_note(c.s(mid_b), t1, top, max(1, vel - 8)))
                    prev = voicing
                    prev_bass = bass
                    continue
            notes += [_note(t0, t1, p, vel) for p in pitches]
            prev = voicing
            prev_bass = bass
    return notes


# --- bass and ostinato -----------------------------------------------------------------------------

def _bar_events(c: _Cue, layer: Layer, which: str, bar: int) -> list[tuple[float, float, str, float]]:
    """One bar's (beat, end beat, token, accent) of the bass or the ostinato, in the idiom
    the cue plays there."""
    band = c.bar_band(bar)
    if which not in band.play:
        return []
    idiom = c.idiom(which, bar)
    b_bar = bar * c.bpb
    if idiom == I.FIGURE:
        pattern = band.bass if which == "bass" else band.ostinato
        if not pattern:
            return []
        if which == "ostinato" and c.variation.ostinato_turn:     # the same figure from another beat
            k = (c.variation.ostinato_turn * c.spb) % len(pattern)
            pattern = pattern[k:] + pattern[:k]
        step_b = 1.0 / c.spb
        out = []
        for k, n_steps, token in _pattern_events(pattern):
            # A held note's length is its steps; a single step is played slightly short.
            length = n_steps * step_b if n_steps > 1 or which == "bass" else 0.85 * step_b
            metric = 1.1 if k == 0 else 1.0 if k % c.spb == 0 else 0.9
            out.append((b_bar + k * step_b, b_bar + k * step_b + length, token, metric))
        return out
    v = c.variant(bar, salt=1 if which == "bass" else 2)
    events = I.bass_bar(idiom, c.bpb, v) if which == "bass" else I.ostinato_bar(idiom, c.bpb, v)
    return [(b_bar + o, b_bar + o + length, tok, acc) for o, length, tok, acc in events]


def _pitched_notes(c: _Cue, layer: Layer, *, which: str) -> list[Note | None]:
    """Bass or ostinato: each bar in its idiom on the chord sounding; the bass states every
    new root (hits included) unless it holds a pedal."""
    notes: list[Note | None] = []
    chord_starts = c.chord_starts()
    onsets: list[tuple[float, float, str, float, bool]] = []     # (beat, end beat, token, accent, forced)
    for bar in c.bars():
        for b0, b1, token, acc in _bar_events(c, layer, which, bar):
            if b0 >= c.end_beat - 1e-9:
                break
            if not c.in_cue(b0):
                continue               # the part of a pickup bar before the cue starts
            onsets.append((b0, b1, token, acc, False))
    if which == "bass":   # the bass states every new root, hits included (a pedal only hits)
        have = {round(o[0], 9) for o in onsets}
        for cb in chord_starts:
            chord = c.chord_at(cb)
            bar = math.floor(cb / c.bpb + 1e-9)
            pedal = c.idiom("bass", bar) == "pedal"
            if round(cb, 9) not in have and ((which in c.band(cb).play and not pedal) or chord.at_hit):
                onsets.append((cb, cb + 1.0, "1", 1.0, True))
            elif round(cb, 9) in have and chord.at_hit:
                onsets = [(b, e, "1" if abs(b - cb) < 1e-9 else t, a, f) for b, e, t, a, f in onsets]
    onsets.sort()
    prev_root: int | None = None
    prev_pitch: int | None = None
    roots: dict[tuple[float, int], int] = {}   # (chord start, bar) → root pitch, fixed per bar
    bound = sorted(set(chord_starts) | {c.end_beat})
    tonic_pc = c.harmony.scale[0]
    approached: int | None = None        # the pitch the last approach note leads to
    last_change: tuple[int | None, int | None] = (None, None)   # (bass, tune) at the last chord change
    for idx, (b0, b1, token, acc, forced) in enumerate(onsets):
        nxt = onsets[idx + 1][0] if idx + 1 < len(onsets) else c.end_beat
        change = next((x for x in bound if x > b0 + 1e-9), c.end_beat)
        b1 = min(b1, nxt, change, c.end_beat) if not forced else min(nxt, change, c.end_beat)
        t0, t1 = c.s(b0), c.s(b1)
        talk = c.talking(t0)
        on_beat = abs(b0 - round(b0)) < 1e-9
        chord = c.chord_at(b0)
        key = (chord.start_beat, int(b0 // c.bpb))
        if which == "bass":
            home = layer.low + 5
            hi = layer.high - 7 if layer.high - 7 - layer.low >= 11 else layer.high
        else:
            home = layer.low + 5 + (12 if c.intensity(b0) >= 0.7 else 0)
            hi = layer.high - 12 if layer.high - 12 - layer.low >= 11 else layer.low + 11
        if key not in roots:
            # The root moves to the nearest root of the next chord (voice leading), pulled
            # toward the part's home register so a chain of rising fourths does not walk it
            # out of range. Room for the figure's fifth/octave above.
            near = layer.low if (prev_root is None and which == "bass") else \
                home if prev_root is None else (prev_root + home) / 2
            roots[key] = _pitch_of(chord.spec.root_pc, layer.low, hi, near)
            if approached is not None and approached % 12 == chord.spec.root_pc and layer.low <= approached <= hi:
                roots[key] = approached       # the approach note resolves by its semitone
            prev_root = roots[key]
        root = roots[key]
        pitches: list[int]
        if token in ("T", "D"):
            pc = tonic_pc if token == "T" else (tonic_pc + 7) % 12
            pitches = [_pitch_of(pc, layer.low, hi, home)]
        elif token == "C":
            top = c.melody_low(t0, t1)
            cap = SPEECH_TOP_PITCH if talk else None
            if top is not None:
                cap = min(cap or 127, top - 1)
            pitches = list(voice_chord(chord.spec.pcs[:4], low=layer.low, high=layer.high, n_voices=3, prev=None,
                                       centre=layer.low + 0.4 * (layer.high - layer.low), max_top=cap))
        elif token in ("w", "a"):
            next_bar = (math.floor(b0 / c.bpb + 1e-9) + 1) * c.bpb      # walks lead to the next downbeat
            nxt_chord = c.chord_at(next_bar) if next_bar < c.end_beat - 1e-9 else c.button
            ref = prev_pitch if prev_pitch is not None else root
            target = _pitch_of(nxt_chord.spec.root_pc, layer.low, hi, ref)
            if token == "a":
                pitches = [target - 1 if ref < target else target + 1]
                approached = target
            else:
                sc = set(chord_scale(c.harmony.scale, chord.spec.pcs))
                way = 1 if target > ref else -1 if target < ref else (1 if ref < home + 5 else -1)
                pitches = [next((p for p in range(ref + way, ref + 4 * way, way) if p % 12 in sc and p != target),
                                ref + 2 * way)]
        elif which == "bass":
            pitches = [root if (talk and token == "8") else _tone(token, chord, root)]
        else:
            pitches = [_tone(token, chord, root)]
        if which == "bass" and token not in ("T", "D", "C"):
            mel = c.melody_at(t0)
            # Against the tune, note to note and from the last chord change to this one.
            pairs = [(prev_pitch, c.melody_at(t0 - 0.02))] + ([last_change] if abs(b0 - chord.start_beat) < 1e-9 else [])
            pairs = [(b, m) for b, m in pairs if b is not None and m is not None]

            def parallel(p: int) -> bool:
                return mel is not None and any(parallel_perfects(b, p, m, mel) for b, m in pairs)

            if parallel(pitches[0]):
                # Parallel fifths or octaves with the tune: the bass takes another chord
                # tone (an inversion), the way a harmony teacher would mend it.
                pool = set(chord.spec.pcs) if token not in ("w", "a") else set(chord_scale(c.harmony.scale,
                                                                                           chord.spec.pcs))
                alts = [p for p in range(pitches[0] - 5, pitches[0] + 6)
                        if p % 12 in pool and layer.low <= p <= layer.high and not parallel(p)]
                if alts:
                    pitches = [min(alts, key=lambda p: (abs(p - pitches[0]), p))]
            if abs(b0 - chord.start_beat) < 1e-9:
                last_change = (pitches[0], mel)
        if token != "a" and key in roots and roots[key] != approached:
            approached = None
        out = []
        for pitch in pitches:
            if which != "bass":
                if talk and not on_beat:
                    continue
                if talk and pitch > SPEECH_TOP_PITCH:
                    pitch -= 12
                    if pitch < layer.low:
                        continue
                top = c.melody_low(t0, t1)
                while top is not None and pitch >= top:
                    pitch -= 12              # the accompaniment stays under the tune
                if pitch < layer.low:
                    continue                 # no room under the tune: the figure leaves the note out
            out.append(_fold(pitch, layer.low, layer.high))
        i = c.intensity(b0)
        accent = 1.2 if chord.at_hit and abs(b0 - chord.start_beat) < 1e-9 else acc
        for pitch in out:
            notes.append(_note(t0, t1, pitch, velocity(layer.velocity, i, under_dialogue=talk, accent=accent)))
        if out:
            prev_pitch = out[0]
    return notes


# --- drums and hits --------------------------------------------------------------------------------

def _bar_drums(c: _Cue, bar: int) -> list[tuple[str, float, float]]:
    """One bar of the kit: (drum, beat, accent) in the cue's drum idiom, with a fill on the
    last beat of a phrase that leads into more (mid and high bands)."""
    band = c.bar_band(bar)
    if "pulse" not in band.play:
        return []
    idiom = c.idiom("pulse", bar)
    b_bar = bar * c.bpb
    out: list[tuple[str, float, float]] = []
    if idiom in (I.FIGURE, "stop_time"):
        step_b = 1.0 / c.spb
        for drum, pattern in band.pulse:
            out += [(drum, b_bar + k * step_b, DRUM_ACCENT[ch]) for k, ch in enumerate(pattern) if ch != "."]
    else:
        s = c.form.section_at(bar)
        out += [(d, b_bar + o, a) for d, o, a in
                I.drum_bar(idiom, c.bpb, c.variant(bar, salt=3), bar_in_phrase=bar - s.first_bar)]
    if (c.form.phrase_end(bar) and band is not c.preset.low and c.form.kind_at(bar) not in (ENDING,)
            and (bar + 1) * c.bpb < c.end_beat - 1e-9 and c.variant(bar, salt=4) % 3 != 0):
        # A fill into the next phrase: the last beat given to snare or toms.
        last = b_bar + c.bpb - 1
        out = [e for e in out if e[1] < last - 1e-9]
        drums = ("snare", "snare", "tom_mid", "tom_low") if c.variant(bar, salt=5) % 2 else \
            ("tom_high", "tom_mid", "tom_low", "tom_floor")
        out += [(drums[k], last + k / 4, 0.6 + 0.12 * k) for k in range(4)]
    return out


def _pulse(c: _Cue, layer: Layer, breath) -> list[Note | None]:
    """The kit in its idiom (low drums on the beat only under dialogue), a tom fill into
    strong hits at high intensity — played in the beat before the rest, so the rest stays
    silent — the preset's kit roll (a suspended cymbal or a snare) swelling through the
    rest into strong hits, and the kit's share of every stinger: bass drum, floor tom and
    crash, with the preset's other cymbals on a strong hit; crash and bass drum on the
    button. breath(notes) clears the patterns in the rest before each hit."""
    notes: list[Note | None] = []
    fills = []   # (first beat, end beat) of a tom fill into a strong hit at high intensity
    for plan in c.stingers:
        end_b = math.floor(4 * c.tm.s_to_beat(plan.kit_rest_from_s) + 1e-6) / 4
        if (plan.strength >= 0.6 and c.in_cue(end_b - 1) and c.band(end_b - 1) is c.preset.high
                and "pulse" in c.preset.high.play and not c.talking(c.s(end_b - 1), plan.t_s)):
            fills.append((end_b - 1, end_b))
    for bar in c.bars():
        for drum, b0, acc in _bar_drums(c, bar):
            if b0 >= c.end_beat - 1e-9 or not c.in_cue(b0):
                continue
            if any(f0 - 1e-9 <= b0 < f1 for f0, f1 in fills):
                continue
            t0 = c.s(b0)
            talk = c.talking(t0)
            if talk and (drum not in LOW_DRUMS or abs(b0 - round(b0)) > 1e-9):
                continue
            if drum not in DRUM_NOTES or not layer.low <= DRUM_NOTES[drum] <= layer.high:
                continue
            vel = velocity(layer.velocity, c.intensity(b0), under_dialogue=talk, accent=acc)
            notes.append(_note(t0, t0 + DRUM_NOTE_S, DRUM_NOTES[drum], vel))
    toms = [DRUM_NOTES[d] for d in ("tom_high", "tom_mid", "tom_low", "tom_floor")]
    for f0, f1 in fills:
        n = 4 if c.spb < 4 else c.spb
        for k in range(n):
            b0 = f0 + (f1 - f0) * k / n
            t0 = c.s(b0)
            vel = velocity(layer.velocity, c.intensity(b0), accent=0.75 + 0.35 * k / max(n - 1, 1))
            notes.append(_note(t0, t0 + DRUM_NOTE_S, toms[min(k * len(toms) // n, len(toms) - 1)], vel))
    notes = breath(notes)
    ringing = {DRUM_NOTES[d] for d in RINGING_DRUMS}
    notes = [n for n in notes if n is None or n.pitch not in ringing
             or not any(p.kit_rest_from_s - 1e-9 <= n.start_s < p.t_s for p in c.stingers)]
    # The kit's roll into a strong hit where no fill leads into it: sixteenth strokes
    # swelling over the two beats before, through the rest (it is the riser's), stopping
    # a sixteenth short so the hit is a fresh attack. Not over a line of dialogue.
    roll = c.preset.stinger.kit_roll
    for plan in c.stingers:
        if (roll != "none" and plan.strength >= VERY_STRONG_HIT and c.in_cue(plan.beat - 2)
                and not any(plan.rest_from_s - 1.0 <= c.s(f1) <= plan.t_s for _, f1 in fills)
                and not c.talking(c.s(plan.beat - 2), plan.t_s)):
            n = 8
            for k in range(n - 1):
                b0 = plan.beat - 2 + 2 * k / n
                t0 = c.s(b0)
                vel = velocity(layer.velocity, c.intensity(b0), accent=0.2 + 0.5 * k / (n - 1))
                notes.append(_note(t0, t0 + DRUM_NOTE_S, DRUM_NOTES[roll], vel))
    # The kit's share of every stinger, starting exactly on the hit: bass drum, floor tom
    # and crash; on a strong hit the preset's other cymbals too (General MIDI cymbals are
    # soft: they are doubled rather than struck harder).
    for plan in c.stingers:
        vel = velocity(layer.velocity, max(c.intensity(plan.beat), 0.6), accent=1.15 + 0.3 * plan.strength)
        kit = ["crash", "kick", "tom_floor"]
        if plan.strong:
            kit += [d for d in c.preset.stinger.cymbals if not plan.talk]
        for drum in dict.fromkeys(kit):
            # Under a line the drums below the voice keep their weight; the cymbal is softer.
            soft = plan.talk and drum not in LOW_DRUMS
            length = DRUM_NOTE_S if drum in LOW_DRUMS else 0.5
            notes.append(_note(plan.t_s, plan.t_s + length, DRUM_NOTES[drum],
                               max(1, round(vel * DIALOGUE_GAIN)) if soft else vel))
    end_s = c.button_s
    if c.intensity(c.end_beat) >= 0.35:
        vel = velocity(layer.velocity, c.intensity(c.end_beat), under_dialogue=c.talking(end_s))
        notes.append(_note(end_s, end_s + 0.5, DRUM_NOTES["crash"], vel))
        notes.append(_note(end_s, end_s + DRUM_NOTE_S, DRUM_NOTES["kick"], vel))
    return notes


def _hits(c: _Cue, layer: Layer, button_s: float) -> list[Note | None]:
    """The chord root struck on every honoured hit (ringing until the rest before the next
    one) and on the button."""
    notes: list[Note | None] = []
    for k, plan in enumerate(c.stingers):
        chord = c.chord_at(plan.beat)
        pitch = _pitch_of(chord.spec.root_pc, layer.low, layer.high, layer.low)
        i = c.intensity(plan.beat)
        vel = velocity(layer.velocity, 0.6 + 0.4 * i, under_dialogue=plan.talk, accent=0.8 + 0.25 * plan.strength)
        notes.append(_note(plan.t_s, _ring_end_s(c, k, 1.0), pitch, vel))
    end_s = c.button_s
    chord = c.button
    vel = velocity(layer.velocity, c.intensity(c.end_beat), under_dialogue=c.talking(end_s))
    notes.append(_note(end_s, end_s + button_s, _pitch_of(chord.spec.root_pc, layer.low, layer.high, layer.low), vel))
    return notes


# --- stingers --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StingerPlan:
    """How one honoured hit is played: the rest before it (everything but the riser stops
    in [rest_from_s, t_s); the kit's ringing drums from kit_rest_from_s), whether a line
    is spoken over the rest or the hit, and where its riser starts (None: no riser — a
    weak hit, a line over the lead-in, no room for it, no riser layer)."""
    t_s: float
    beat: float
    strength: float
    strong: bool
    rest_from_s: float
    kit_rest_from_s: float
    talk: bool
    riser_from_s: float | None = None


def _sixteenth_s(c: "_Cue", t_s: float) -> float:
    return 0.25 * 60.0 / c.tm.tempo_at_s(max(t_s - 1e-6, c.cue.start_s))


def _riser_start(c: "_Cue", layer: Layer, hit: Hit, beat: float, earliest_s: float) -> float | None:
    """Where the riser into a strong hit starts: a reverse cymbal its sample's lead before
    the hit (on the nearest sixteenth), a glissando a beat before, a roll one (two into a
    very strong hit), a swell two beats; None when that would reach back past
    earliest_s (the cue's start, the hit before) or over a line of dialogue."""
    kind = riser_kind(layer.program)
    if kind == RISER_REVERSE:
        start = c.s(beat - round(REVERSE_LEAD_S / _sixteenth_s(c, hit.t_s)) / 4)
    else:
        beats = RISER_BEATS[kind] * (2.0 if kind == RISER_ROLL and hit.strength >= VERY_STRONG_HIT else 1.0)
        start = c.s(beat - beats)
        if start < earliest_s:                      # no room for the long one: one beat
            start = c.s(beat - RISER_BEATS[kind])
    if start < earliest_s - 1e-9 or c.talking(start, hit.t_s):
        return None
    return round(start, 9)


def rest_windows(tempo_map: TempoMap, hits: tuple[tuple[float, float, float], ...], *, room_s: float,
                 start_s: float) -> tuple[tuple[float, float], ...]:
    """(rest start, hit) in seconds for each honoured hit — hits: (t_s, beat, strength) in
    time order: the rest before it is at least room_s (up to STRONG_ROOM times that for
    the strongest hits), in whole sixteenths of the tempo there, never reaching back past
    the middle of the gap from the hit before, nor past the cue's start (start_s)."""
    out = []
    prev_s = None
    for t_s, _, strength in hits:
        target = room_s * (1.0 + (STRONG_ROOM - 1.0) * max(0.0, strength - STRONG_HIT) / (1 - STRONG_HIT))
        six = 0.25 * 60.0 / tempo_map.tempo_at_s(max(t_s - 1e-6, start_s))
        rest_from = t_s - six * max(1, math.ceil(target / six - 1e-6))
        floor = start_s if prev_s is None else 0.5 * (prev_s + t_s)
        out.append((round(max(rest_from, floor), 9), t_s))
        prev_s = t_s
    return tuple(out)


def stinger_rests(cue_score, preset: Preset) -> tuple[tuple[float, float], ...]:
    """The rests the arrangement of a composed cue (a CueScore) leaves before its scored
    hits, (start, hit) in seconds: what else plays in the cue — a bed, a sound effect —
    may make the same room, so the hit lands out of silence."""
    hits = tuple((hf.hit.t_s, hf.beat, hf.hit.strength) for hf in cue_score.hit_fits
                 if hf.hit.scored and hf.hit.t_s <= cue_score.cue.end_s + 1e-9)
    return rest_windows(cue_score.tempo_map, hits, room_s=preset.stinger.room_s, start_s=cue_score.cue.start_s)


def _plan_stingers(c: "_Cue") -> tuple[StingerPlan, ...]:
    """Every honoured hit as a stinger, scaled by its strength and the preset's mood: the
    rest before it (rest_windows), the kit's earlier stop, a riser into a strong hit."""
    riser = c.preset.layer("riser")
    # A stop-time bar is its own lead-in: the band stops and the hit answers the silence.
    stopped = {end for _, end, _ in _stop_windows(c)}
    rests = rest_windows(c.tm, tuple((h.t_s, b, h.strength) for h, b in c.hits), room_s=c.preset.stinger.room_s,
                         start_s=c.cue.start_s)
    out = []
    prev_s = None
    for (hit, beat), (rest_from, _) in zip(c.hits, rests):
        strong = hit.strength >= STRONG_HIT
        floor = c.cue.start_s if prev_s is None else 0.5 * (prev_s + hit.t_s)
        kit_from = max(rest_from - KIT_RING_S, floor)
        talk = c.talking(rest_from, hit.t_s)
        riser_from = None
        if strong and riser is not None and hit.t_s not in stopped:
            riser_from = _riser_start(c, riser, hit, beat, c.cue.start_s if prev_s is None else prev_s + 0.2)
        out.append(StingerPlan(hit.t_s, beat, hit.strength, strong, rest_from, round(kit_from, 9), talk, riser_from))
        prev_s = hit.t_s
    return tuple(out)


def _stinger_velocity(c: "_Cue", layer: Layer, plan: StingerPlan, *, softer_under_lines: bool = True) -> int:
    """A stinger layer's velocity: its base (the preset's mood), louder with the hit's
    strength, never played as softly as a quiet texture around it (at least as at
    STINGER_INTENSITY: the accent is the point); softer under a line unless it sounds
    below the voice (a low drum, a bass note: the mix's dip under the line already makes
    room, and the accent must still be heard)."""
    return velocity(layer.velocity, max(c.intensity(plan.beat), STINGER_INTENSITY),
                    under_dialogue=plan.talk and softer_under_lines, accent=0.82 + 0.22 * plan.strength)


def _ring_end_s(c: "_Cue", k: int, ring_beats: float) -> float:
    """How long a struck stinger note rings: ring_beats, but not into the next hit."""
    plan = c.stingers[k]
    end = c.s(plan.beat + ring_beats)
    if k + 1 < len(c.stingers):
        end = min(end, c.stingers[k + 1].t_s)
    return max(end, plan.t_s + 0.1)


def _low_hit(c: "_Cue", layer: Layer) -> list[Note | None]:
    """The low hit under the kit's bass drum on every honoured hit: the chord's root at the
    bottom of the instrument — doubled an octave up where the instrument is pitched
    (piano, basses: the octave is what makes a low note speak), alone on a drum."""
    notes: list[Note | None] = []
    for k, plan in enumerate(c.stingers):
        root = _pitch_of(c.chord_at(plan.beat).spec.root_pc, layer.low, layer.high, layer.low)
        pitches = [root] + ([root + 12] if layer.program not in ROLL_PROGRAMS and root + 12 <= layer.high else [])
        vel = _stinger_velocity(c, layer, plan, softer_under_lines=False)
        end = _ring_end_s(c, k, 2.0)
        notes += [_note(plan.t_s, end, p, vel) for p in pitches]
    return notes


def stab_voicing(pcs: tuple[int, ...], low: int, high: int, *, n_voices: int, max_top: int | None = None) -> list[int]:
    """A full chord for a stab, spaced as an orchestrator would: root at the bottom of the
    range, the fifth and the octave above it, then the third, fifth and any added tones
    close at the top; n_voices notes at most, none above max_top. Where a low ceiling
    leaves the open spacing thin, the remaining chord tones under it fill in (closer, but
    never a third or less apart below E3, where that turns to mud)."""
    root = _pitch_of(pcs[0], low, high, low)
    rel = [(q - pcs[0]) % 12 for q in pcs]
    third, fifth = rel[1], rel[2] if len(rel) > 2 else 7
    extra = rel[3:]
    shape = [0, fifth, 12, 12 + third, 12 + fifth] + [12 + e for e in extra] + [24, 24 + third]
    top = high if max_top is None else min(high, max_top)
    out = []
    for iv in shape:
        p = root + iv
        if p <= top and p not in out:
            out.append(p)
        if len(out) == n_voices:
            break
    for p in range(top, root, -1):
        if len(out) >= n_voices:
            break
        if p % 12 in pcs and p not in out and (p >= 52 or all(abs(p - q) > 4 for q in out)):
            out.append(p)
    return sorted(out)


def _stab(c: "_Cue", layer: Layer) -> list[Note | None]:
    """A short full chord on every honoured hit (brass or strings, by preset): six voices
    on a strong hit, four on a weak one, under the tune where it sounds; under a line only
    what fits below the speech band; nothing where that leaves less than two notes."""
    notes: list[Note | None] = []
    for plan in c.stingers:
        beat_s = 60.0 / c.tm.tempo_at_s(plan.t_s)
        length = min(STAB_S[1], max(STAB_S[0], 0.5 * beat_s))
        cap = SPEECH_TOP_PITCH if c.talking(plan.t_s, plan.t_s + length) else layer.high
        tune = c.melody_low(plan.t_s, plan.t_s + length)
        if tune is not None:
            cap = min(cap, tune - 1)              # the tune stays on top, the stab under it
        pitches = stab_voicing(c.chord_at(plan.beat).spec.pcs, layer.low, layer.high,
                               n_voices=6 if plan.strong else 4, max_top=cap)
        if len(pitches) < 2:
            continue
        vel = _stinger_velocity(c, layer, plan)
        notes += [_note(plan.t_s, plan.t_s + length, p, vel) for p in pitches]
    return notes


def _riser(c: "_Cue", layer: Layer) -> tuple[list[Note | None], list[Control]]:
    """What rises into each strong hit and lands on it (notes, and the swell's own
    expression curve): a reverse cymbal peaking on the hit; a timpani or taiko roll
    crescendo, its last stroke left out so the hit is a fresh attack; a glissando up the
    chord's scale; or a sustained chord crescendo (CC11) released on the hit."""
    notes: list[Note | None] = []
    controls: list[Control] = []
    kind = riser_kind(layer.program)
    for plan in c.stingers:
        if plan.riser_from_s is None:
            continue
        t0, t1 = plan.riser_from_s, plan.t_s
        top = _stinger_velocity(c, layer, plan)
        chord = c.chord_at(plan.beat)
        if kind == RISER_REVERSE:
            key = _fold(REVERSE_KEY, layer.low, layer.high)
            notes.append(_note(t0, t1, key, top))
        elif kind == RISER_ROLL:
            # A measured roll in thirty-seconds, crescendo, on the root of the chord it
            # sounds under (the hit then brings its own).
            b0 = c.tm.s_to_beat(t0)
            per = RISER_STEPS_PER_BEAT[kind]
            n = max(4, round((plan.beat - b0) * per))
            for k in range(n - 1):
                s0, s1 = c.s(b0 + k / per), c.s(b0 + (k + 1) / per)
                pitch = _pitch_of(c.chord_at(b0 + k / per).spec.root_pc, layer.low, layer.high, layer.low)
                notes.append(_note(s0, s1, pitch, max(1, round(top * (0.3 + 0.45 * k / n)))))
        elif kind == RISER_GLISS:
            # Up the chord's scale to the top of the instrument, the last note ringing into
            # the hit.
            sc = set(chord_scale(c.harmony.scale, chord.spec.pcs))
            b0 = c.tm.s_to_beat(t0)
            per = RISER_STEPS_PER_BEAT[kind]
            steps = max(4, round((plan.beat - b0) * per))
            run = [p for p in range(layer.low, layer.high + 1) if p % 12 in sc][-steps:]
            first = steps - len(run)                 # a short run starts late, still landing on the hit
            for k, p in enumerate(run):
                s0 = c.s(b0 + (first + k) / per)
                end = t1 if k == len(run) - 1 else c.s(b0 + (first + k + 2) / per)
                notes.append(_note(s0, end, p, max(1, round(top * (0.5 + 0.4 * k / max(1, len(run) - 1))))))
        else:   # a swell: the chord before the hit, held and crescendo into it
            before = c.chord_at(c.tm.s_to_beat(t0))
            voicing = voice_chord(before.spec.pcs, low=layer.low, high=layer.high, n_voices=3, prev=None,
                                  centre=layer.low + 0.45 * (layer.high - layer.low))
            notes += [_note(t0, t1, p, top) for p in voicing]
            steps = max(4, round((t1 - t0) / 0.05))
            for k in range(steps + 1):
                x = k / steps
                t = round(t0 + (t1 - t0) * x, 6)
                # Slow at first, fast at the end: a crescendo is heard in its last moments.
                controls.append(Control(t, EXPRESSION, round(20 + 76 * x ** 2)))
                controls.append(Control(t, MOD_WHEEL, round(10 + 100 * x ** 2)))
    return notes, controls


def _rest_windows(c: "_Cue") -> list[tuple[float, float]]:
    return [(p.rest_from_s, p.t_s) for p in c.stingers]


def _value_at(controls: tuple[Control, ...], number: int, t_s: float, default: int | None) -> int | None:
    vals = [x.value for x in controls if x.number == number and x.t_s <= t_s + 1e-9]
    return vals[-1] if vals else default


def _make_room_controls(c: "_Cue", controls: tuple[Control, ...], *, piano: bool) -> tuple[Control, ...]:
    """The controllers of a part that rests before each hit: expression (CC11, and CC1)
    falls away at the start of the rest — so what still rings there, a release or the
    hall's first reflections of it, dies at once — and is back at the hit at the value
    its curve has there; a piano's pedal lifts with it and is caught again after the hit."""
    windows = _rest_windows(c)
    if not windows:
        return controls
    inside = lambda t: any(w0 - 1e-9 <= t < w1 - 1e-9 for w0, w1 in windows)  # noqa: E731
    out = [x for x in controls if not inside(x.t_s)]
    for w0, w1 in windows:
        if w1 - w0 < 1e-3:
            continue                                    # a hit on the cue's first sample: no rest
        fade = min(ROOM_FADE_S, 0.5 * (w1 - w0))
        for number, default in ((EXPRESSION, 127), (MOD_WHEEL, None)):
            was = _value_at(controls, number, w0, default)
            back = _value_at(controls, number, w1, default)
            if was is None or back is None:
                continue
            floor = ROOM_EXPRESSION if number == EXPRESSION else 0
            for k in range(3):
                out.append(Control(round(w0 + fade * k / 2, 6), number, round(was + (floor - was) * (k + 1) / 3)))
            out.append(Control(w1, number, back))          # exactly on the hit, before its notes
        if piano and (_value_at(controls, SUSTAIN_PEDAL, w0, 0) or 0) >= 64:
            out.append(Control(round(w0, 6), SUSTAIN_PEDAL, 0))
        if piano and (_value_at(controls, SUSTAIN_PEDAL, w1, 0) or 0) >= 64:
            out.append(Control(round(w1 + 0.03, 6), SUSTAIN_PEDAL, 127))
    # One value per controller and time: the latest rule wins (a restore over a dip).
    by_key: dict[tuple[float, int], Control] = {}
    for x in out:
        by_key[(x.t_s, x.number)] = x
    return tuple(sorted(by_key.values(), key=lambda x: (x.t_s, x.number)))


def _stop_windows(c: _Cue) -> list[tuple[float, float, float]]:
    """(stab end, silence end, stop start) in seconds of each stop-time bar: the bar before
    a strong honoured hit, when the cue's kit plays stop-time and the bar is in the cue."""
    if c.variation.texture("pulse").idiom != "stop_time":
        return []
    out = []
    for hit, beat in c.hits:
        b0 = beat - c.bpb
        if hit.strength >= 0.6 and c.in_cue(b0) and not c.talking(c.s(b0), hit.t_s):
            out.append((c.s(b0 + 0.5), hit.t_s, c.s(b0)))
    return out


def _stop_time(c: _Cue, notes: list[Note | None]) -> list[Note | None]:
    """Stop-time: in the bar before a strong hit the band plays a stab on the downbeat and
    stops; what starts later in that bar is left out, what sounds is cut after the stab."""
    windows = _stop_windows(c)
    if not windows:
        return notes
    out = []
    for n in notes:
        if n is None:
            continue
        if any(stop + 1e-6 < n.start_s < end - 1e-6 for _, end, stop in windows):
            continue
        cut = min([stab for stab, end, stop in windows if n.start_s <= stop + 1e-6 and n.end_s > stab], default=None)
        out.append(Note(n.start_s, cut, n.pitch, n.velocity) if cut is not None and cut > n.start_s + 1e-3 else n)
    return out


def _clear_before_hits(c: _Cue, notes: list[Note | None], *, gap_beats: float, max_gap_s: float) -> list[Note]:
    """The rest before every honoured hit (the stinger's, StingerPlan.rest_from_s) and a
    short breath before the button (gap_beats, at most max_gap_s): nothing starts in
    it, and what is sounding stops there, so the hit lands out of silence instead of
    being masked."""
    gap = min(max_gap_s, gap_beats * 60.0 / c.tm.tempo_at_s(max(c.button_s - 1e-6, c.cue.start_s)))
    windows = _rest_windows(c) + [(c.button_s - gap, c.button_s)]
    out = []
    for n in notes:
        if n is None:
            continue
        if any(w0 <= n.start_s < w1 for w0, w1 in windows):
            continue
        end = n.end_s
        for w0, w1 in windows:
            if n.start_s < w0 < end:
                end = min(end, w0)
        if end - n.start_s >= min(0.05, n.end_s - n.start_s):
            out.append(Note(n.start_s, end, n.pitch, n.velocity) if end != n.end_s else n)
    return out


# --- performance -----------------------------------------------------------------------------------

def _bar_and_within(c: _Cue, t_s: float) -> tuple[int, float]:
    """The bar t_s falls in, and how far into it (0…1)."""
    beat = c.tm.s_to_beat(t_s)
    bar = math.floor(beat / c.bpb + 1e-9)
    return bar, (beat - bar * c.bpb) / c.bpb


def _phrase_position(c: _Cue, t_s: float) -> float:
    """0…1: where t_s lies in its phrase (Form.phrase_position)."""
    return c.form.phrase_position(*_bar_and_within(c, t_s))


def _phrase_shape(c: _Cue, t_s: float) -> float:
    """0…1: the arch of the phrase at t_s, rising through a build, falling in a release."""
    bar, within = _bar_and_within(c, t_s)
    s = c.form.section_at(bar)
    shape = perform.phrase_arch(c.form.phrase_position(bar, within))
    progress = ((bar - s.first_bar) + within) / max(1, s.n_bars)
    if s.kind == BUILD:
        shape = 0.3 + 0.7 * progress
    elif s.kind == RELEASE:
        shape = min(shape, 1.0 - 0.6 * progress)
    return shape


def _metric(c: _Cue, t_s: float) -> float:
    beat = c.tm.s_to_beat(t_s)
    if abs(beat - round(beat)) > 0.02:
        return 0.94
    return 1.06 if round(beat) % c.bpb == 0 else 1.0 if c.bpb % 2 == 0 and round(beat) % 2 == 0 else 0.98


def _dynamics_level(c: _Cue, t_s: float) -> float:
    """A sustained part's dynamic 0…1 at t_s: the intensity curve, shaped by the phrase,
    swelling into strong hits, a little down under a line."""
    level = 0.2 + 0.6 * c.cue.intensity_at(min(max(t_s, c.cue.start_s), c.cue.end_s)) + 0.2 * (_phrase_shape(c, t_s) - 0.5)
    for h, _ in c.hits:
        # A crescendo over the two beats into a strong hit, peaking on it and easing off
        # over the two after: the sustained parts push into the hit, never dip on it.
        lead = 2 * 60.0 / c.tm.tempo_at_s(max(h.t_s - 1e-6, c.cue.start_s))
        if h.strength >= 0.6 and abs(t_s - h.t_s) < lead:
            level += 0.25 * (1 - abs(h.t_s - t_s) / lead)
    if c.talking(t_s):
        level -= 0.12
    if t_s > c.button_s:
        level -= 0.3 * min(1.0, (t_s - c.button_s) / 2.0)   # the last chord dies away
    return level


def _dynamics(c: _Cue) -> tuple[Control, ...]:
    """The cue's CC1/CC11 curve, from its start to the end of its last chord's ring: one
    for every sustained part (they breathe together), computed once."""
    if c.dynamics is None:
        end = c.button_s + c.button_len_s
        c.dynamics = perform.dynamics_curve(
            start_s=c.cue.start_s, end_s=end, level=lambda t: _dynamics_level(c, t),
            step_s=lambda t: perform.CURVE_STEP_BEATS * 60.0 / c.tm.tempo_at_s(t))
    return c.dynamics


def _perform(c: _Cue, part: Part, k: int) -> Part:
    """The part played: seeded timing and velocity, CC1/CC11 on sustained parts, the
    pedal on piano."""
    rng = np.random.default_rng([c.variation.perform_seed, k])
    sync = c.sync_s()
    keep_out = (tuple((s.start_s, s.end_s) for s in c.dialogue) + tuple(_rest_windows(c))
                + tuple((t - 0.2, t) for t in (c.cue.start_s, c.button_s)))
    rubato = part.name == "melody" and c.variation.texture("melody").idiom == "rubato"
    notes = perform.humanise(list(part.notes), group=part.group, rng=rng, sync_s=sync, keep_out=keep_out,
                             lag_s=(lambda t: perform.RUBATO_S * perform.phrase_arch(_phrase_position(c, t)))
                             if rubato else None)
    notes = perform.shape_velocities(notes, rng=rng, metric=lambda t: _metric(c, t),
                                     phrase=lambda t: _phrase_shape(c, t), sync_s=sync,
                                     spread=2.0 if part.is_drums else 4.0)
    controls: tuple[Control, ...] = ()
    if notes and not part.is_drums:
        start, end = min(n.start_s for n in notes), max(n.end_s for n in notes)
        if part.program in perform.PIANO_PROGRAMS:
            controls = perform.pedal([ch.start_s for ch in c.body[1:]] + [c.button_s], start_s=start, end_s=end)
        elif part.name in ("pad", "melody", "counter") or part.program in perform.SUSTAINED_PROGRAMS:
            controls = tuple(x for x in _dynamics(c) if x.t_s <= end + 1e-9)
    return _with_room(c, Part(part.name, part.group, part.program, part.is_drums,
                              tuple(sorted(notes, key=lambda n: (n.start_s, n.pitch))), controls))


def _with_room(c: _Cue, part: Part) -> Part:
    """A pitched part with its expression dipped in the rest before each hit (see
    _make_room_controls); the kit has no controller of its own (General MIDI's drum
    channel is shared), its notes simply stop."""
    if part.is_drums or not part.notes:
        return part
    controls = part.controls
    if not any(x.number == EXPRESSION for x in controls):
        # Full expression from the first note, said rather than assumed, so the dips
        # below return to a value the file states.
        controls = (Control(min(n.start_s for n in part.notes), EXPRESSION, 127),) + controls
    controls = _make_room_controls(c, controls, piano=part.program in perform.PIANO_PROGRAMS)
    return Part(part.name, part.group, part.program, part.is_drums, part.notes, controls)


def arrange(cue: Cue, *, preset: Preset, harmony: Harmony, tempo_map: TempoMap, end_beat: float,
            hits: tuple[tuple[Hit, float], ...], dialogue: tuple[Span, ...], motif: Motif,
            variation: Variation = Variation(), final_s: float | None = None) -> Arrangement:
    """The parts of one cue.

    hits: the honoured hits with their (integer) beats. end_beat: the beat of the button
    (the cue end, or for the reel's last cue a bar line early enough to be heard).
    variation: what the seed changes besides the chords (see Variation).
    final_s: the picture's end, when this cue is the reel's last: its last chord rings to it.
    Note times are absolute seconds; the button rings into tail_s after the cue end.
    """
    c = _Cue(cue, preset=preset, harmony=harmony, tempo_map=tempo_map, end_beat=end_beat,
             dialogue=dialogue, hits=hits, variation=variation)
    button_s = c.button_len_s = _button_len_s(c, final_s)
    tail_s = round(min(4.0, max(2.0, c.button_s + button_s - cue.end_s + 1.5)), 6)
    breath = lambda notes: _clear_before_hits(c, notes, gap_beats=0.5, max_gap_s=0.2)  # noqa: E731
    melody = preset.layer("melody")
    melody_notes = _with_button(breath(_melody(c, melody, motif)), c, melody, button_s)
    c.melody_notes = [n for n in melody_notes if n is not None]
    bass = preset.layer("bass")
    bass_notes = breath(_pitched_notes(c, bass, which="bass"))
    bass_notes.append(_note(c.button_s, c.button_s + button_s,
                            _pitch_of(c.button.spec.root_pc, bass.low, bass.high, bass.low),
                            velocity(bass.velocity, c.intensity(end_beat), under_dialogue=c.talking(c.button_s))))
    c.bass_notes = [n for n in bass_notes if n is not None]
    pad = preset.layer("pad")
    # Sustained chords only lift briefly before the button: a longer gap would be heard as
    # a hole there (before a hit the rest is the stinger's, the same for every layer).
    parts = [_part(pad, _stop_time(c, _clear_before_hits(c, _pad(c, pad, button_s), gap_beats=0.25,
                                                         max_gap_s=0.06))),
             _part(bass, _stop_time(c, bass_notes))]
    if preset.layer("ostinato") is not None:
        ost = preset.layer("ostinato")
        parts.append(_part(ost, _stop_time(c, breath(_pitched_notes(c, ost, which="ostinato")))))
    parts.append(_part(melody, melody_notes))
    if preset.layer("counter") is not None:
        counter = preset.layer("counter")
        parts.append(_part(counter, _stop_time(c, breath(_counter(c, counter, motif)))))
    parts.append(_part(preset.layer("pulse"), _stop_time(c, _pulse(c, preset.layer("pulse"), breath))))
    parts.append(_part(preset.layer("hits"), breath(_hits(c, preset.layer("hits"), button_s))))
    parts = [_perform(c, p, k) for k, p in enumerate(parts)]
    # The stinger's own layers play only on the hits, exactly (nothing to humanise): the
    # low hit and the stab, and the riser that lands on each strong hit — the one part
    # that sounds through the rest before it.
    for role, build in (("low_hit", _low_hit), ("stab", _stab)):
        layer = preset.layer(role)
        if layer is not None:
            notes = [n for n in breath(build(c, layer)) if n is not None]
            pedal = perform.pedal([p.t_s for p in c.stingers], start_s=min(n.start_s for n in notes),
                                  end_s=max(n.end_s for n in notes)) \
                if notes and layer.program in perform.PIANO_PROGRAMS else ()   # a low piano rings with the pedal
            parts.append(_with_room(c, _part(layer, notes, pedal)))
    if preset.layer("riser") is not None:
        notes, controls = _riser(c, preset.layer("riser"))
        parts.append(_part(preset.layer("riser"), notes, tuple(controls)))
    idioms = {}
    for role in I.IDIOMS:
        if preset.layer(role) is not None:
            t = variation.texture(role)
            idioms[role] = t.idiom if t.idiom == t.busy else f"{t.idiom}/{t.busy}"
    return Arrangement(tuple(p for p in parts if p.notes or p.name in ("pad", "bass", "melody", "pulse", "hits")),
                       tail_s, c.form, idioms)
