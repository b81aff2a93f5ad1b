"""Arrangement: the parts of one cue from its chords, tempo map, intensity and dialogue.

Layers: pad (voice-led sustained chords), bass (roots in the band's figure), ostinato
(chord tones in a repeated figure), melody (the theme, phrased in bars), pulse (General
MIDI kit) and hits (timpani or stingers on honoured hits). Intensity picks the band's
figures and which layers play, and moves velocity and register. Under dialogue the
melody rests, the pulse keeps only low drums on the beat, sustained parts stay below the
speech band (≈300 Hz–3 kHz) and everything plays softer. Every honoured hit gets an
accent starting exactly at its time; the cue ends with a short button chord.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


from scorer.compose.harmony import Chord, Harmony, chord_scale, voice_chord
from scorer.compose.presets import DRUM_NOTES, Band, Layer, Preset
from scorer.compose.theme import Motif, phrase_bars
from scorer.types import Cue, Hit, Note, Part, Span, TempoMap

# D4 ≈ 294 Hz: sustained notes above this sit in the speech band under dialogue.
SPEECH_TOP_PITCH = 62
DIALOGUE_GAIN = 0.7
# Melody keeps clear of a line a little before it starts and after it ends.
MELODY_REST_BEFORE_S, MELODY_REST_AFTER_S = 0.2, 0.1
DRUM_NOTE_S = 0.15
LOW_DRUMS = frozenset({"kick", "kick2", "tom_floor", "tom_low", "tom_mid"})
ROLL_PROGRAMS = frozenset({47, 116, 117})   # timpani, taiko, melodic tom can roll
ROLL_STROKE_S = 0.07
DRUM_ACCENT = {"X": 1.15, "x": 0.9, "o": 0.55}


@dataclass(frozen=True)
class Arrangement:
    parts: tuple[Part, ...]
    tail_s: float


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
    """A pitched-pattern token as a pitch above `root` (the chord's root pitch)."""
    pcs = chord.spec.pcs
    up = lambda k: (pcs[k] - pcs[0]) % 12  # noqa: E731
    return root + {"1": 0, "3": up(1), "5": up(2) if len(pcs) > 2 else 7,
                   "7": up(3) if len(pcs) > 3 else 12, "8": 12}[token]


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


@dataclass(frozen=True)
class Variation:
    """What a seed changes in the arrangement besides the chords, so that a new take is
    new music on the same timing: where the pads are voiced, which half of the theme
    leads, the tune's register, and which beat the ostinato's figure starts on."""
    pad_shift: int = 0            # semitones added to the pad voicing's centre
    answer_first: bool = False    # the theme's answer before its statement
    melody_lift: float = 0.0      # the tune's register, as a fraction of its instrument's span
    ostinato_turn: int = 0        # the ostinato figure rotated by this many beats

    @classmethod
    def draw(cls, rng: np.random.Generator) -> "Variation":
        return cls(pad_shift=int(rng.integers(-3, 4)), answer_first=bool(rng.integers(2)),
                   melody_lift=float(rng.choice([-0.1, 0.0, 0.1])), ostinato_turn=int(rng.integers(0, 4)))


class _Cue:
    """What every layer needs to know about the cue being arranged."""

    def __init__(self, cue: Cue, *, preset: Preset, harmony: Harmony, tempo_map: TempoMap,
                 end_beat: float, dialogue: tuple[Span, ...], hits: tuple[tuple[Hit, float], ...],
                 variation: Variation = Variation()):
        self.cue, self.preset, self.harmony, self.tm = cue, preset, harmony, tempo_map
        self.variation = variation
        self.end_beat = end_beat
        self.bpb, self.spb = preset.beats_per_bar, preset.steps_per_beat
        # Lines just past the end count too: the button (and the tail) ring into them.
        self.dialogue = tuple(s for s in dialogue if s.end_s > cue.start_s and s.start_s <= cue.end_s + 5.0)
        self.hits = hits                                   # honoured: (hit, integer beat)
        # Beat 0 is the first downbeat; a cue with a pickup starts at a negative beat, in
        # bar −1. Bars run first_bar … n_bars − 1.
        self.start_beat = tempo_map.s_to_beat(cue.start_s)
        self.first_bar = math.floor(self.start_beat / self.bpb + 1e-9)
        self.n_bars = max(1, math.ceil(end_beat / self.bpb - 1e-9))
        self.body = [c for c in harmony.chords if not c.is_button]
        self.button = harmony.chords[-1]

    def s(self, beat: float) -> float:
        return self.tm.beat_to_s(beat)

    def bars(self) -> range:
        return range(self.first_bar, self.n_bars)

    def in_cue(self, beat: float) -> bool:
        """Whether `beat` is at or after the cue's start (not in a pickup bar's silent part)."""
        return beat >= self.start_beat - 1e-9

    def intensity(self, beat: float) -> float:
        return self.cue.intensity_at(min(self.s(beat), self.cue.end_s))

    def band(self, beat: float) -> Band:
        return self.preset.band(self.intensity(max(beat, self.start_beat)))

    def bar_band(self, bar: int) -> Band:
        """A bar's band, from the intensity in its middle."""
        mid = min(bar * self.bpb + self.bpb / 2, (bar * self.bpb + self.end_beat) / 2)
        return self.band(mid)

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


def _note(start_s: float, end_s: float, pitch: int, vel: int) -> Note | None:
    return Note(start_s, end_s, int(pitch), int(vel)) if end_s - start_s > 1e-4 else None


def _part(layer: Layer, notes: list[Note | None]) -> Part:
    kept = sorted({(n.start_s, n.pitch): n for n in notes if n is not None}.values(),
                  key=lambda n: (n.start_s, n.pitch))
    return Part(layer.name, layer.group, layer.program, layer.drums, tuple(kept))


def _button_len_s(c: _Cue) -> float:
    """Short at high intensity (a stab), longer and softer when the cue ends quietly."""
    i = c.intensity(c.end_beat)
    beat = 60.0 / c.tm.tempo_at_s(c.cue.end_s)
    return max(0.3, 0.75 * beat) if i >= 0.35 else max(1.2, 2.0 * beat)


# --- layers ------------------------------------------------------------------------------------------

def _pad(c: _Cue, layer: Layer, button_s: float) -> list[Note | None]:
    """Voice-led chords, re-struck every band.pad_beats; three voices below the speech
    band under dialogue; accented on hits; the button chord at the end."""
    notes: list[Note | None] = []
    prev = None
    for chord in c.body + [c.button]:
        b0, b1 = chord.start_beat, chord.end_beat
        if chord.is_button:
            spans = [(b0, None)]
        else:
            band = c.band(b0)
            if "pad" not in band.play and not chord.at_hit:
                prev = None
                continue
            step = band.pad_beats if band.pad_beats > 0 else b1 - b0
            attacks = [b0]
            while attacks[-1] + step < b1 - 1e-9:
                a = attacks[-1] + step
                if c.talking(c.s(a)):   # under dialogue the pad holds rather than re-strikes
                    break
                attacks.append(a)
            spans = list(zip(attacks, attacks[1:] + [b1]))
        for a0, a1 in spans:
            t0 = c.s(a0)
            t1 = t0 + button_s if a1 is None else c.s(a1)
            talk = c.talking(t0, t1)
            i = c.intensity(min(a0, c.end_beat))
            centre = layer.low + (layer.high - layer.low) * (0.3 + 0.35 * i) + c.variation.pad_shift
            voicing = voice_chord(chord.spec.pcs, low=layer.low, high=layer.high,
                                  n_voices=3 if talk else 4, prev=prev, centre=centre,
                                  max_top=SPEECH_TOP_PITCH if talk else None)
            prev = voicing
            accent = 1.15 if (chord.at_hit and a0 == b0) or chord.is_button else 1.0
            vel = velocity(layer.velocity, i, under_dialogue=talk, accent=accent)
            notes += [_note(t0, t1, p, vel) for p in voicing]
    return notes


def _pitched_pattern_notes(c: _Cue, layer: Layer, *, which: str, force_chord_starts: bool) -> list[Note | None]:
    """Bass or ostinato: the band's one-bar figure on each bar, on the chord sounding."""
    notes: list[Note | None] = []
    chord_starts = c.chord_starts()
    step_b = 1.0 / c.spb
    onsets: list[tuple[float, float, str, bool]] = []     # (beat, end beat, token, forced)
    for bar in c.bars():
        band = c.bar_band(bar)
        pattern = band.bass if which == "bass" else band.ostinato
        if which not in band.play or not pattern:
            continue
        if which == "ostinato" and c.variation.ostinato_turn:     # the same figure from another beat
            k = (c.variation.ostinato_turn * c.spb) % len(pattern)
            pattern = pattern[k:] + pattern[:k]
        for k, n_steps, token in _pattern_events(pattern):
            b0 = bar * c.bpb + k * step_b
            if b0 >= c.end_beat - 1e-9:
                break
            if not c.in_cue(b0):
                continue               # the part of a pickup bar before the cue starts
            # A held note's length is its steps; a single step is played slightly short.
            length = n_steps * step_b if n_steps > 1 or which == "bass" else 0.85 * step_b
            onsets.append((b0, b0 + length, token, False))
    if force_chord_starts:   # the bass states every new root, hits included
        have = {round(o[0], 9) for o in onsets}
        for cb in chord_starts:
            chord = c.chord_at(cb)
            if round(cb, 9) not in have and (which in c.band(cb).play or chord.at_hit):
                onsets.append((cb, cb + 1.0, "1", True))
    onsets.sort()
    prev_root: int | None = None
    roots: dict[tuple[float, int], int] = {}   # (chord start, bar) → root pitch, fixed per bar
    bound = sorted(set(chord_starts) | {c.end_beat})
    for idx, (b0, b1, token, forced) in enumerate(onsets):
        nxt = onsets[idx + 1][0] if idx + 1 < len(onsets) else c.end_beat
        change = next((x for x in bound if x > b0 + 1e-9), c.end_beat)
        b1 = min(b1, nxt, change, c.end_beat) if not forced else min(nxt, change, c.end_beat)
        t0, t1 = c.s(b0), c.s(b1)
        talk = c.talking(t0)
        on_beat = abs(b0 - round(b0)) < 1e-9
        chord = c.chord_at(b0)
        key = (chord.start_beat, int(b0 // c.bpb))
        if key not in roots:
            # The root moves to the nearest root of the next chord (voice leading), pulled
            # toward the part's home register so a chain of rising fourths does not walk it
            # out of range. The bass's home is the bottom of its range; the ostinato's rises
            # an octave at high intensity. Room for the figure's fifth/octave above.
            if which == "bass":
                home = layer.low + 5
                hi = layer.high - 7 if layer.high - 7 - layer.low >= 11 else layer.high
            else:
                home = layer.low + 5 + (12 if c.intensity(b0) >= 0.7 else 0)
                hi = layer.high - 12 if layer.high - 12 - layer.low >= 11 else layer.low + 11
            near = layer.low if (prev_root is None and which == "bass") else \
                home if prev_root is None else (prev_root + home) / 2
            roots[key] = _pitch_of(chord.spec.root_pc, layer.low, hi, near)
            prev_root = roots[key]
        root = roots[key]
        if which == "bass":
            pitch = root if (talk and token == "8") else _tone(token, chord, root)
        else:
            if talk and not on_beat:
                continue
            pitch = _tone(token, chord, root)
            if talk and pitch > SPEECH_TOP_PITCH:
                pitch -= 12
                if pitch < layer.low:
                    continue
        pitch = _fold(pitch, layer.low, layer.high)
        i = c.intensity(b0)
        metric = 1.1 if abs(b0 % c.bpb) < 1e-9 else 1.0 if on_beat else 0.9
        accent = 1.2 if chord.at_hit and abs(b0 - chord.start_beat) < 1e-9 else metric
        notes.append(_note(t0, t1, pitch, velocity(layer.velocity, i, under_dialogue=talk, accent=accent)))
    return notes


def _pulse(c: _Cue, layer: Layer, breath) -> list[Note | None]:
    """The band's drum patterns (low drums on the beat only under dialogue), a tom fill into
    strong hits at high intensity, a cymbal swell into other strong hits, and crash + kick
    on every honoured hit and the button.
    breath(notes) clears the patterns just before each hit."""
    notes: list[Note | None] = []
    step_b = 1.0 / c.spb
    fills = []   # beats [hit − 1, hit) given to a tom fill into a strong hit at high intensity
    for hit, beat in c.hits:
        if (hit.strength >= 0.6 and c.in_cue(beat - 1) and c.band(beat - 1) is c.preset.high
                and "pulse" in c.preset.high.play and not c.talking(c.s(beat - 1), hit.t_s)):
            fills.append(beat)
    for bar in c.bars():
        band = c.bar_band(bar)
        if "pulse" not in band.play:
            continue
        for drum, pattern in band.pulse:
            for k, ch in enumerate(pattern):
                if ch == ".":
                    continue
                b0 = bar * c.bpb + k * step_b
                if b0 >= c.end_beat - 1e-9:
                    break
                if not c.in_cue(b0):
                    continue
                if any(f - 1 <= b0 < f for f in fills):
                    continue
                t0 = c.s(b0)
                talk = c.talking(t0)
                if talk and (drum not in LOW_DRUMS or k % c.spb):
                    continue
                vel = velocity(layer.velocity, c.intensity(b0), under_dialogue=talk, accent=DRUM_ACCENT[ch])
                notes.append(_note(t0, t0 + DRUM_NOTE_S, DRUM_NOTES[drum], vel))
    notes = breath(notes)
    toms = [DRUM_NOTES[d] for d in ("tom_high", "tom_mid", "tom_low", "tom_floor")]
    for f in fills:
        n = 4 if c.spb < 4 else c.spb
        for k in range(n):
            b0 = f - 1 + k / n
            t0 = c.s(b0)
            vel = velocity(layer.velocity, c.intensity(b0), accent=0.75 + 0.35 * k / max(n - 1, 1))
            notes.append(_note(t0, t0 + DRUM_NOTE_S, toms[min(k * len(toms) // n, len(toms) - 1)], vel))
    # A riser into a strong hit where no fill leads into it: a suspended-cymbal roll
    # (sixteenth strokes on the ride) swelling over the two beats before, stopping a
    # sixteenth short so the hit is a fresh attack. Not over a line of dialogue.
    for hit, beat in c.hits:
        if (hit.strength >= 0.8 and c.in_cue(beat - 2) and beat not in fills
                and not c.talking(c.s(beat - 2), hit.t_s)):
            n = 8
            for k in range(n - 1):
                b0 = beat - 2 + 2 * k / n
                t0 = c.s(b0)
                vel = velocity(layer.velocity, c.intensity(b0), accent=0.2 + 0.5 * k / (n - 1))
                notes.append(_note(t0, t0 + DRUM_NOTE_S, DRUM_NOTES["ride"], vel))
    # The accent at every honoured hit: crash and kick, starting exactly at the hit; a
    # second cymbal doubles the crash on strong hits (General MIDI crashes are soft).
    for hit, beat in c.hits:
        talk = c.talking(hit.t_s)
        vel = velocity(layer.velocity, max(c.intensity(beat), 0.6), under_dialogue=talk,
                       accent=1.0 + 0.3 * hit.strength)
        notes.append(_note(hit.t_s, hit.t_s + 0.5, DRUM_NOTES["crash"], vel))
        notes.append(_note(hit.t_s, hit.t_s + DRUM_NOTE_S, DRUM_NOTES["kick"], vel))
        if hit.strength >= 0.7 and not talk:
            notes.append(_note(hit.t_s, hit.t_s + 0.5, DRUM_NOTES["crash2"], vel))
    end_s = c.cue.end_s
    if c.intensity(c.end_beat) >= 0.35:
        vel = velocity(layer.velocity, c.intensity(c.end_beat), under_dialogue=c.talking(end_s))
        notes.append(_note(end_s, end_s + 0.5, DRUM_NOTES["crash"], vel))
        notes.append(_note(end_s, end_s + DRUM_NOTE_S, DRUM_NOTES["kick"], vel))
    return notes


def _hits(c: _Cue, layer: Layer, button_s: float) -> list[Note | None]:
    """The chord root struck on every honoured hit (a roll into strong ones where the
    instrument rolls) and on the button."""
    notes: list[Note | None] = []
    prev_beat = -math.inf
    for hit, beat in c.hits:
        chord = c.chord_at(beat)
        pitch = _pitch_of(chord.spec.root_pc, layer.low, layer.high, layer.low)
        talk = c.talking(hit.t_s)
        i = c.intensity(beat)
        nxt = min([b for _, b in c.hits if b > beat] + [beat + 1.0, c.end_beat])
        vel = velocity(layer.velocity, 0.6 + 0.4 * i, under_dialogue=talk, accent=0.8 + 0.25 * hit.strength)
        notes.append(_note(hit.t_s, c.s(nxt), pitch, vel))
        # A roll into a strong hit, when the instrument can roll and nothing is said.
        if (layer.program in ROLL_PROGRAMS and hit.strength >= 0.6 and beat - prev_beat >= 2
                and c.in_cue(beat - 1) and c.band(beat - 1) is not c.preset.low
                and not c.talking(c.s(beat - 1), hit.t_s)):
            t_a = c.s(beat - 1)
            n = max(4, round((hit.t_s - t_a) / ROLL_STROKE_S))
            # Crescendo to well under the hit, and the last stroke left out: the hit is
            # then a fresh, louder attack rather than one more stroke of the roll.
            for k in range(n - 1):
                s0 = t_a + (hit.t_s - t_a) * k / n
                s1 = t_a + (hit.t_s - t_a) * (k + 1) / n
                notes.append(_note(s0, s1, pitch, max(1, round(vel * (0.25 + 0.35 * k / n)))))
        prev_beat = beat
    end_s = c.cue.end_s
    chord = c.button
    vel = velocity(layer.velocity, c.intensity(c.end_beat), under_dialogue=c.talking(end_s))
    notes.append(_note(end_s, end_s + button_s, _pitch_of(chord.spec.root_pc, layer.low, layer.high, layer.low), vel))
    return notes


def _melody(c: _Cue, layer: Layer, motif: Motif) -> list[Note]:
    """The theme, statement and answer in turn, from the second bar on;
    phrases start only on bars clear of dialogue and where the band plays the melody."""
    notes: list[Note | None] = []
    h = c.harmony
    tonic_pc = h.scale[0]
    base = _pitch_of(tonic_pc, layer.low, layer.high, layer.low + 0.3 * (layer.high - layer.low))
    span = layer.high - layer.low
    bar = 1 if c.n_bars >= 6 else 0
    half = 0                     # half-phrases played: statement, answer, statement, …
    while (bar + 1) * c.bpb <= c.end_beat + 1e-9:   # a phrase starts with a whole bar ahead
        b_start = bar * c.bpb
        band = c.bar_band(bar)
        if "melody" not in band.play or c.talking(c.s(b_start) - MELODY_REST_BEFORE_S, c.s(b_start)):
            bar += 1
            continue
        phrase = motif.statement if (half % 2 == 0) != c.variation.answer_first else motif.answer
        # The phrase sits around the lower-middle of the instrument, higher when it builds.
        target = (layer.low + (0.4 + c.variation.melody_lift) * span
                  + (0.2 * span if c.intensity(b_start) >= 0.7 else 0))
        pitches, times, degrees = [], [], []
        for mn in phrase:
            b0 = b_start + mn.onset_beats
            if b0 >= c.end_beat - 1e-9:
                break
            chord = c.chord_at(b0)
            sc = chord_scale(h.scale, chord.spec.pcs)
            d = mn.degree
            pitch = base + 12 * (d // 7) + (sc[d % 7] - tonic_pc) % 12
            # A note on the bar line, or a long one on the half bar, may not rub a
            # semitone against the chord (a ninth or an eleventh is colour, a minor
            # ninth is a clash). It moves to the nearest chord tone that keeps the
            # tune's rise or fall from the note before, so the theme's contour survives
            # every harmonisation.
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
                # The fixes above must not turn a rising step into a repeat or a fall:
                # the contour is what makes the theme recognisable.
                pool = set(chord.spec.pcs) if strong else set(sc) | set(chord.spec.pcs)
                if want == 0:
                    pitch = pitches[-1] if pitches[-1] % 12 in pool else pitch
                else:
                    pitch = next((p for p in range(pitches[-1] + want, pitches[-1] + 6 * want, want)
                                  if p % 12 in pool and abs(p - pitches[-1]) != 6), pitch)
            pitches.append(pitch)
            degrees.append(mn.degree)
            times.append((b0, min(b0 + mn.length_beats, c.end_beat)))
        if pitches:
            mean = sum(pitches) / len(pitches)
            fits = lambda k: min(pitches) + k >= layer.low and max(pitches) + k <= layer.high  # noqa: E731
            shift = min((-24, -12, 0, 12, 24), key=lambda k: (not fits(k), abs(mean + k - target), k))
            for p, (b0, b1) in zip(pitches, times):
                t0, t1 = c.s(b0), c.s(b1)
                vel = velocity(layer.velocity, c.intensity(b0),
                               accent=1.08 if abs(b0 % c.bpb) < 1e-9 else 1.0)
                p = _fold(p + shift, layer.low, layer.high)
                notes.append(_note(t0, t1, p, vel))
        half += 1
        bar += phrase_bars(phrase, c.bpb)
        if half % 4 == 0:
            bar += 2            # breathe after eight bars of tune
    return _rest_for_dialogue(c, notes)


def _with_button(notes: list[Note], c: _Cue, layer: Layer, button_s: float) -> list[Note]:
    """The tune's last note on the button, on the final chord's tone nearest where it left
    off (when the melody is playing at the end and no line is spoken there)."""
    end_s = c.cue.end_s
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


def _clear_before_hits(c: _Cue, notes: list[Note | None], *, gap_beats: float, max_gap_s: float) -> list[Note]:
    """A breath before every honoured hit and the button: nothing starts in the short
    window before it, and what is sounding stops there, so the accent lands on a clean
    onset instead of being masked."""
    stops = [t for t in [h.t_s for h, _ in c.hits] + [c.cue.end_s]]
    windows = []
    for t in stops:
        gap = min(max_gap_s, gap_beats * 60.0 / c.tm.tempo_at_s(max(t - 1e-6, c.cue.start_s)))
        windows.append((t - gap, t))
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


def arrange(cue: Cue, *, preset: Preset, harmony: Harmony, tempo_map: TempoMap, end_beat: float,
            hits: tuple[tuple[Hit, float], ...], dialogue: tuple[Span, ...], motif: Motif,
            variation: Variation = Variation()) -> Arrangement:
    """The parts of one cue.

    hits: the honoured hits with their (integer) beats. end_beat: the beat at the cue end.
    variation: what the seed changes besides the chords (see Variation).
    Note times are absolute seconds; the button starts at cue.end_s and rings into tail_s.
    """
    c = _Cue(cue, preset=preset, harmony=harmony, tempo_map=tempo_map, end_beat=end_beat,
             dialogue=dialogue, hits=hits, variation=variation)
    button_s = _button_len_s(c)
    tail_s = round(min(4.0, max(2.0, button_s + 1.5)), 6)
    breath = lambda notes: _clear_before_hits(c, notes, gap_beats=0.5, max_gap_s=0.2)  # noqa: E731
    pad = preset.layer("pad")
    # Sustained chords only lift briefly: a longer gap would be heard as a hole.
    parts = [_part(pad, _clear_before_hits(c, _pad(c, pad, button_s), gap_beats=0.25, max_gap_s=0.06))]
    bass = preset.layer("bass")
    bass_notes = breath(_pitched_pattern_notes(c, bass, which="bass", force_chord_starts=True))
    end_s = cue.end_s
    bass_notes.append(_note(end_s, end_s + button_s,
                            _pitch_of(c.button.spec.root_pc, bass.low, bass.high, bass.low),
                            velocity(bass.velocity, c.intensity(end_beat), under_dialogue=c.talking(end_s))))
    parts.append(_part(bass, bass_notes))
    if preset.layer("ostinato") is not None:
        ost = preset.layer("ostinato")
        parts.append(_part(ost, breath(_pitched_pattern_notes(c, ost, which="ostinato", force_chord_starts=False))))
    melody = preset.layer("melody")
    parts.append(_part(melody, _with_button(breath(_melody(c, melody, motif)), c, melody, button_s)))
    parts.append(_part(preset.layer("pulse"), _pulse(c, preset.layer("pulse"), breath)))
    parts.append(_part(preset.layer("hits"), _hits(c, preset.layer("hits"), button_s)))
    return Arrangement(tuple(parts), tail_s)
