"""Measures of composed music that need no ears (docs: /work/shared/MUSIC.md, "How to check
it without ears"), for tests and bench/bench_music.py.

Everything is measured from what the composer hands on: the in-memory `scorer.types.Score`
and the Standard MIDI File `scorer.deliver.midi.build_midi(score)` writes, read back with
mido. Bar lines and meters are judged on the file's own time-signature and tempo events
and its integer ticks, as a DAW or MuseScore would see them. Times are seconds on the
cut's timeline; "share" values are 0…1.
"""
from __future__ import annotations

import bisect
import io
import itertools
import math
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, NamedTuple

# Parts by their role names (scorer.compose.arrange).
PAD, BASS, MELODY, HITS = "pad", "bass", "melody", "hits"
HIT_EXCLUSION_S = 0.005     # an onset this close to an honoured hit or the cue end is the sync itself
GRID_TOLERANCE_S = 0.001    # on-grid: within 1 ms of a 16th or an 8th-triplet position
SAMPLE_S = 0.05             # melody-on-top sampling step
TICK_TOLERANCE = 2          # MIDI ticks of rounding allowed on a bar line or beat (≈1 ms at 120 BPM)


# --- reading the file back ---------------------------------------------------------------------

def read_midi(data: bytes):
    """A Standard MIDI File's bytes (e.g. scorer.deliver.midi.midi_bytes(score)) → mido.MidiFile."""
    import mido

    return mido.MidiFile(file=io.BytesIO(data))


def score_midi(score):
    """The score as written to disk and read back (what a DAW opens): a mido.MidiFile."""
    from scorer.deliver.midi import midi_bytes

    return read_midi(midi_bytes(score))


def _absolute(track) -> list[tuple[int, object]]:
    """(absolute tick, message) of one mido track."""
    out, tick = [], 0
    for msg in track:
        tick += msg.time
        out.append((tick, msg))
    return out


@dataclass(frozen=True)
class MidiGrid:
    """The bar/beat grid and tempo map of a MIDI file's conductor track (its track 0).

    tempi: (tick, seconds at that tick, µs per quarter) in tick order (a file without a
    tempo event runs at 120 BPM). meters: (tick, numerator, denominator) in file order.
    """
    ppq: int
    tempi: tuple[tuple[int, float, int], ...]
    meters: tuple[tuple[int, int, int], ...]

    @classmethod
    def from_midi(cls, mid) -> "MidiGrid":
        events = _absolute(mid.tracks[0]) if mid.tracks else []
        tempo_events = [(t, m.tempo) for t, m in events if m.type == "set_tempo"]
        if not tempo_events or tempo_events[0][0] != 0:
            tempo_events.insert(0, (0, 500_000))
        tempi: list[tuple[int, float, int]] = []
        for tick, us in tempo_events:
            if tempi:
                t0, s0, us0 = tempi[-1]
                s = s0 + (tick - t0) * us0 / (1e6 * mid.ticks_per_beat)
                if tick == t0:
                    tempi.pop()
            else:
                s = 0.0
            tempi.append((tick, s, us))
        meters = tuple((t, m.numerator, m.denominator) for t, m in events if m.type == "time_signature")
        return cls(mid.ticks_per_beat, tuple(tempi), meters or ((0, 4, 4),))

    def s_to_tick(self, t_s: float) -> int:
        """The file's tick (integer) at second t_s."""
        i = max(bisect.bisect_right([s for _, s, _ in self.tempi], t_s + 1e-9) - 1, 0)
        tick, s, us = self.tempi[i]
        return tick + round((t_s - s) * 1e6 * self.ppq / us)

    def tick_to_s(self, tick: int) -> float:
        """Seconds at a tick of the file."""
        i = max(bisect.bisect_right([t for t, _, _ in self.tempi], tick) - 1, 0)
        t0, s, us = self.tempi[i]
        return s + (tick - t0) * us / (1e6 * self.ppq)

    def meter_at(self, tick: int, *, before: bool = False) -> tuple[int, int, int]:
        """The (tick, numerator, denominator) in force at tick: the last time signature at or
        before it, or with before=True strictly before it (the meter of the music that ends
        there, when a new one starts at that tick)."""
        ticks = [t for t, _, _ in self.meters]
        i = (bisect.bisect_left if before else bisect.bisect_right)(ticks, tick) - 1
        return self.meters[max(i, 0)]

    def bar_ticks(self, numerator: int, denominator: int) -> int:
        return numerator * self.ppq * 4 // denominator

    def _offset(self, tick: int, unit: int, since: int, tol: int) -> bool:
        r = (tick - since) % unit
        return min(r, unit - r) <= tol

    def on_bar_line(self, tick: int, *, before: bool = False, tol: int = TICK_TOLERANCE) -> bool:
        """Whether tick is a whole number of bars after the last time signature (± tol ticks;
        before: as in meter_at)."""
        t0, num, den = self.meter_at(tick, before=before)
        return self._offset(tick, self.bar_ticks(num, den), t0, tol)

    def on_beat(self, tick: int, *, before: bool = False, tol: int = TICK_TOLERANCE) -> bool:
        """Whether tick is a whole number of the meter's beats (1/denominator notes) after the
        last time signature (± tol ticks; before: as in meter_at)."""
        t0, _, den = self.meter_at(tick, before=before)
        return self._offset(tick, self.ppq * 4 // den, t0, tol)


def meter_changes_on_bar_lines(mid, *, tol: int = TICK_TOLERANCE) -> tuple[int, int]:
    """(n_on, n_total) over the conductor track's time-signature events: one is on a bar
    line where it falls a whole number of the previous meter's bars after the previous
    time signature (± tol ticks); the first counts as on when it is at tick 0."""
    grid = MidiGrid.from_midi(mid)
    n_on = 0
    for i, (tick, _, _) in enumerate(grid.meters):
        if i == 0:
            n_on += tick == 0
            continue
        t0, num, den = grid.meters[i - 1]
        n_on += grid._offset(tick, grid.bar_ticks(num, den), t0, tol)
    return n_on, len(grid.meters)


# --- onsets -------------------------------------------------------------------------------------

def _pitched(cs) -> list:
    return [p for p in cs.parts if not p.is_drums]


def _honoured_s(cs) -> list[float]:
    return [h.t_s for h in cs.cue.hits if h.scored]


def onset_grid(cs) -> frozenset[int]:
    """The non-sync onsets of one CueScore: every note start of every part, in units of 10 ms
    (round(t_s * 100)), leaving out those within 5 ms of an honoured hit or of the cue end
    (which any tempo fit puts in the same place)."""
    syncs = _honoured_s(cs) + [cs.cue.end_s]
    return frozenset(round(n.start_s * 100) for p in cs.parts for n in p.notes
                     if all(abs(n.start_s - t) > HIT_EXCLUSION_S for t in syncs))


def jaccard(a: Iterable, b: Iterable) -> float:
    """|a ∩ b| / |a ∪ b| of two sets, 0…1 (1 for two empty sets)."""
    a, b = set(a), set(b)
    return 1.0 if not (a or b) else len(a & b) / len(a | b)


def last_chord_attack_s(cs) -> float | None:
    """The last chord attack of a cue (s): the latest note start among its pitched parts at
    or before cue end + 1 ms (the button, in the current arranger); None without notes."""
    starts = [n.start_s for p in _pitched(cs) for n in p.notes if n.start_s <= cs.cue.end_s + 0.001]
    return max(starts) if starts else None


class Endings(NamedTuple):
    on_bar_line: int       # cues whose last chord attack is on a bar line of the file
    between_beats: int     # cues whose last chord attack is not even on a beat
    n_cues: int            # cues with a last chord attack


def cue_endings(score, mid, *, tol: int = TICK_TOLERANCE) -> Endings:
    """Where each cue's last chord attack (last_chord_attack_s) falls on the MIDI file's
    own grid (its tempi and time signatures; ± tol ticks), judged in the meter of the music
    it ends: a time signature starting at that very tick (the next cue's) does not count."""
    grid = MidiGrid.from_midi(mid)
    on = between = n = 0
    for cs in score.cues:
        t = last_chord_attack_s(cs)
        if t is None:
            continue
        tick = grid.s_to_tick(t)
        n += 1
        on += grid.on_bar_line(tick, before=True, tol=tol)
        between += not grid.on_beat(tick, before=True, tol=tol)
    return Endings(on, between, n)


class FinalRoom(NamedTuple):
    room_s: float          # film end − the reel's last chord attack (s); negative: after the end
    overhang_s: float      # how long notes ring past the film end (s), 0 when none do


def final_chord_room(score) -> FinalRoom | None:
    """How much room the reel's last cue leaves its final chord before the picture ends, and
    how far any of the score's notes ring past the end; None without a cue with notes."""
    if not score.cues:
        return None
    last = max(score.cues, key=lambda cs: cs.cue.end_s)
    t = last_chord_attack_s(last)
    if t is None:
        return None
    end = score.source.duration_s
    latest = max((n.end_s for cs in score.cues for p in cs.parts for n in p.notes), default=end)
    # Rounded to the µs: the button at a cue end that is the film end is 0, not −1e-15.
    return FinalRoom(round(end - t, 6) + 0.0, round(max(0.0, latest - end), 6))


# --- voice leading ------------------------------------------------------------------------------

def _chord_part(cs):
    """The sustained chord layer: the part named "pad", else the pitched part with the most
    notes sounding at once."""
    for p in cs.parts:
        if p.name == PAD and not p.is_drums and p.notes:
            return p

    def most_at_once(p) -> int:
        starts = sorted(n.start_s for n in p.notes)
        return max((sum(1 for n in p.notes if n.start_s <= s < n.end_s) for s in starts), default=0)

    pitched = [p for p in _pitched(cs) if p.name != HITS and p.notes]
    return max(pitched, key=most_at_once, default=None)


def chord_attacks(part) -> list[tuple[float, tuple[int, ...]]]:
    """A part's notes grouped by attack time (to 1 ms): (t_s, sorted pitches) in time order."""
    groups: dict[int, list[int]] = {}
    for n in part.notes:
        groups.setdefault(round(n.start_s * 1000), []).append(n.pitch)
    return [(k / 1000, tuple(sorted(set(v)))) for k, v in sorted(groups.items())]


def _parallel(a0: int, a1: int, b0: int, b1: int) -> str | None:
    """'5' or '8' when voices a (lower) and b move in similar motion from a perfect fifth to a
    perfect fifth, or from an octave/unison to an octave/unison; else None."""
    da, db = a1 - a0, b1 - b0
    if da == 0 or db == 0 or (da > 0) != (db > 0):
        return None
    i0, i1 = (b0 - a0) % 12, (b1 - a1) % 12
    if i0 == i1 == 7:
        return "5"
    if i0 == i1 == 0:
        return "8"
    return None


class Parallels(NamedTuple):
    fifths: int
    octaves: int           # octaves and unisons
    changes: int           # chord changes looked at (consecutive attacks with different pitches)


def chord_parallels(cs) -> Parallels:
    """Parallel perfect fifths and octaves inside the chord layer (_chord_part) of a cue:
    consecutive chord attacks with the same number of voices, voices paired in sorted
    order, every pair of voices checked (octave doublings count: keep it simple)."""
    part = _chord_part(cs)
    if part is None:
        return Parallels(0, 0, 0)
    chords = [c for _, c in chord_attacks(part)]
    p5 = p8 = changes = 0
    for x, y in zip(chords, chords[1:]):
        if x == y:
            continue
        changes += 1
        if len(x) != len(y):
            continue
        for i, j in itertools.combinations(range(len(x)), 2):
            kind = _parallel(x[i], y[i], x[j], y[j])
            p5 += kind == "5"
            p8 += kind == "8"
    return Parallels(p5, p8, changes)


def _sounding(parts, t_s: float) -> list[int]:
    return [n.pitch for p in parts for n in p.notes if n.start_s <= t_s < n.end_s]


def outer_voice_parallels(cs, *, after_s: float = 0.03) -> Parallels:
    """Parallel fifths/octaves between the outer voices at each chord change of cs.chords:
    the bass (lowest sounding pitch of the "bass" part) against the soprano (highest sounding
    pitch of every pitched part but "hits"), sampled after_s after each change (past the
    few ms a humanised attack may be late); changes
    counted where both sound at both ends."""
    bass_parts = [p for p in cs.parts if p.name == BASS and not p.is_drums]
    upper = [p for p in _pitched(cs) if p.name != HITS]
    samples = []
    for t, _ in cs.chords:
        b, s = _sounding(bass_parts, t + after_s), _sounding(upper, t + after_s)
        samples.append((min(b), max(s)) if b and s else None)
    p5 = p8 = changes = 0
    for x, y in zip(samples, samples[1:]):
        if x is None or y is None:
            continue
        changes += 1
        kind = _parallel(x[0], y[0], x[1], y[1])
        p5 += kind == "5"
        p8 += kind == "8"
    return Parallels(p5, p8, changes)


def per_100(pars: Iterable[Parallels]) -> float | None:
    """Parallels (fifths + octaves) per 100 chord changes, pooled; None without changes."""
    pars = list(pars)
    changes = sum(p.changes for p in pars)
    return None if not changes else 100.0 * sum(p.fifths + p.octaves for p in pars) / changes


# --- performance --------------------------------------------------------------------------------

def cc_counts(mid) -> dict[str, int]:
    """control_change messages in the file by controller: {"cc1", "cc11", "cc64", "other"}."""
    c = Counter()
    for track in mid.tracks:
        for m in track:
            if m.type == "control_change":
                c[f"cc{m.control}" if m.control in (1, 11, 64) else "other"] += 1
    return {k: c.get(k, 0) for k in ("cc1", "cc11", "cc64", "other")}


def on_grid(cs) -> tuple[int, int]:
    """(n_on_grid, n_onsets): note starts of every part within 1 ms of a 16th-note or an
    8th-triplet position of the cue's tempo map."""
    tm = cs.tempo_map
    on = n = 0
    for p in cs.parts:
        for note in p.notes:
            n += 1
            beat = tm.s_to_beat(note.start_s)
            on += any(abs(tm.beat_to_s(round(beat * d) / d) - note.start_s) <= GRID_TOLERANCE_S
                      for d in (4, 3))
    return on, n


def distinct_velocities(cs) -> list[int]:
    """The number of different velocities of each part (with notes) of a cue."""
    return [len({n.velocity for n in p.notes}) for p in cs.parts if p.notes]


def melody_on_top(cs, *, step_s: float = SAMPLE_S) -> tuple[int, int]:
    """(n_on_top, n_sounding): samples every step_s over the cue and its tail where the
    "melody" part sounds, and those where its highest pitch is above every other pitched
    part sounding then (the "bass" and "hits" parts left out)."""
    melody = [p for p in cs.parts if p.name == MELODY and not p.is_drums]
    others = [p for p in _pitched(cs) if p.name not in (MELODY, BASS, HITS)]
    if not melody or not any(p.notes for p in melody):
        return 0, 0
    on = n = 0
    end = cs.cue.end_s + cs.tail_s
    for k in range(int(math.ceil((end - cs.cue.start_s) / step_s))):
        t = cs.cue.start_s + k * step_s
        m = _sounding(melody, t)
        if not m:
            continue
        n += 1
        rest = _sounding(others, t)
        on += not rest or max(m) > max(rest)
    return on, n


def _bar_position(tm, t_s: float) -> tuple[int, int]:
    """(bar, position in 1/12 beat) of t_s in a cue's tempo map (a pickup is bar −1)."""
    beat = round(tm.s_to_beat(t_s) * 12) / 12
    bar = math.floor(beat / tm.beats_per_bar)
    return bar, round((beat - bar * tm.beats_per_bar) * 12)


def bar_rhythms(cs) -> tuple[int, int]:
    """(n_distinct, n_bars): the different onset patterns (positions in the bar to 1/12
    beat, all pitched parts merged) over the bars of a cue that have onsets."""
    bars: dict[int, set[int]] = {}
    for p in _pitched(cs):
        for n in p.notes:
            if n.start_s <= cs.cue.end_s + 0.001:
                bar, pos = _bar_position(cs.tempo_map, n.start_s)
                bars.setdefault(bar, set()).add(pos)
    return len({frozenset(v) for v in bars.values()}), len(bars)


def longest_flat_dynamics_s(cs) -> float:
    """The longest stretch (s) of the cue [start_s, end_s] in which no part's dynamics change:
    no note with a velocity different from that part's previous note, no change of CC1 or
    CC11 value."""
    changes = [cs.cue.start_s, cs.cue.end_s]
    for p in cs.parts:
        prev = None
        for n in sorted(p.notes, key=lambda n: n.start_s):
            if prev is not None and n.velocity != prev:
                changes.append(n.start_s)
            prev = n.velocity
        last: dict[int, int] = {}
        for c in sorted(getattr(p, "controls", ()), key=lambda c: c.t_s):
            if c.number in (1, 11):
                if c.number in last and c.value != last[c.number]:
                    changes.append(c.t_s)
                last[c.number] = c.value
    ts = sorted(t for t in changes if cs.cue.start_s <= t <= cs.cue.end_s)
    return max((b - a for a, b in zip(ts, ts[1:])), default=0.0)


# --- texture ------------------------------------------------------------------------------------

def texture_signature(cs) -> tuple[tuple[tuple[str, int], ...], frozenset[int]]:
    """A cue's texture: the sorted (part name, program) of its parts with notes (program −1
    for drums), and the set of onset positions within the bar (1/12 beat, all parts)."""
    parts = tuple(sorted((p.name, -1 if p.is_drums else p.program) for p in cs.parts if p.notes))
    positions = frozenset(_bar_position(cs.tempo_map, n.start_s)[1] for p in cs.parts for n in p.notes)
    return parts, positions


def texture_distance(a, b) -> tuple[float, float]:
    """(instrument distance, rhythm distance), each 0…1 and a mean over the cues both Scores
    share (by cue id): 1 − Jaccard of their (name, program) sets, and of their onset-position
    sets (texture_signature)."""
    by_id = {cs.cue.id: cs for cs in b.cues}
    d_parts, d_rhythm = [], []
    for cs in a.cues:
        other = by_id.get(cs.cue.id)
        if other is None:
            continue
        (pa, ra), (pb, rb) = texture_signature(cs), texture_signature(other)
        d_parts.append(1 - jaccard(pa, pb))
        d_rhythm.append(1 - jaccard(ra, rb))
    if not d_parts:
        return 0.0, 0.0
    return sum(d_parts) / len(d_parts), sum(d_rhythm) / len(d_rhythm)


# --- everything of one Score --------------------------------------------------------------------

def measure(score, mid=None) -> dict:
    """Every per-Score measure, as pooled counts and sums (so several Scores add up:
    see pool()). mid: the score's MIDI file (default: built and read back)."""
    mid = score_midi(score) if mid is None else mid
    endings = cue_endings(score, mid)
    meters = meter_changes_on_bar_lines(mid)
    room = final_chord_room(score)
    chords = [chord_parallels(cs) for cs in score.cues]
    outer = [outer_voice_parallels(cs) for cs in score.cues]
    grid = [on_grid(cs) for cs in score.cues]
    top = [melody_on_top(cs) for cs in score.cues]
    vel = [v for cs in score.cues for v in distinct_velocities(cs)]
    rhythms = [bar_rhythms(cs) for cs in score.cues]
    flat = [longest_flat_dynamics_s(cs) for cs in score.cues]
    return {
        "scores": 1, "cues": len(score.cues),
        "endings_on_bar": endings.on_bar_line, "endings_between_beats": endings.between_beats,
        "endings": endings.n_cues,
        "meters_on_bar": meters[0], "meters": meters[1],
        "final_room_s": [] if room is None else [room.room_s],
        "rings_past_end": 0 if room is None else int(room.overhang_s > 0),
        "pad_p5": sum(p.fifths for p in chords), "pad_p8": sum(p.octaves for p in chords),
        "pad_changes": sum(p.changes for p in chords),
        "outer_p5": sum(p.fifths for p in outer), "outer_p8": sum(p.octaves for p in outer),
        "outer_changes": sum(p.changes for p in outer),
        **cc_counts(mid),
        "on_grid": sum(g[0] for g in grid), "onsets": sum(g[1] for g in grid),
        "velocities": vel,
        "melody_top": sum(t[0] for t in top), "melody_sounding": sum(t[1] for t in top),
        "bar_rhythms": [r[0] for r in rhythms], "bars": [r[1] for r in rhythms],
        "flat_dynamics_s": flat,
    }


def pool(measures: Iterable[dict]) -> dict:
    """measure() dicts added up: counts summed, lists concatenated."""
    out: dict = {}
    for m in measures:
        for k, v in m.items():
            out[k] = out.get(k, [] if isinstance(v, list) else 0) + v
    return out
