"""Score → Standard MIDI File (type 1): a conductor track with the picture's start (SMPTE
offset), the tempo map, meters and named markers (cue starts, every hit, cue ends, review
notes, in the picture's own timecode), then one track per stem group with each part's
program, controller changes (dynamics, pedal) and notes.

The conductor's bars are one grid from tick 0 (conductor_grid): every time signature
stands on a bar line of the meters before it, and every cue's first downbeat is a bar line.

Times are exact: each tempo segment's µs-per-beat is chosen so that the integer tick at
which the next segment starts is, for a DAW reading the file, at the same second as in
scorer's tempo map (errors never accumulate across segments).

One tempo model: the conductor's tempo and the file's (ticks = beats · PPQ) are both
scorer.types.TempoMap; seconds ⇄ beats go through it and timebase, nowhere else.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction

from scorer.music import DRUM_CHANNEL
from scorer.timebase import beat_s, fps_str, nearest_index, s_to_smpte, tempo_bpm_for
from scorer.types import Score, TempoMap, TempoSegment

PPQ = 960
FILLER_BPM = 120.0


@dataclass(frozen=True)
class MidiSegment:
    tick: int
    time_s: float        # the second a DAW computes for `tick`
    tempo_us: int        # µs per quarter note from here on


@dataclass(frozen=True)
class MidiTempoMap:
    """The file's tempo map as a DAW reads it: integer ticks and µs tempi per segment."""
    segments: tuple[MidiSegment, ...]

    @functools.cached_property
    def beats(self) -> TempoMap:
        """The same map as a TempoMap in quarter beats (tick / PPQ), each beat tempo_us long."""
        return TempoMap(tuple(TempoSegment(s.time_s, s.tick / PPQ, tempo_bpm_for(1, s.tempo_us / 1e6))
                              for s in self.segments))

    def s_to_tick(self, t_s: float) -> int:
        return nearest_index(self.beats.s_to_beat(t_s) * PPQ)

    def tick_to_s(self, tick: int) -> float:
        return self.beats.beat_to_s(tick / PPQ)


# Bar lengths the conductor writes are whole quarter beats (a /16 meter at the finest):
# a bar is never shorter than this, and one that is not a whole number of them gets a
# tempo that makes it one.
GRID_BEAT = Fraction(1, 4)
FILLER_MIN_S = 0.25     # a gap between cues shorter than this gets no filler bars


@dataclass(frozen=True)
class ConductorGrid:
    """The film's conductor in seconds: its tempo map (beat 0 at 0 s; the bars are `bars`,
    not the map's beats_per_bar), and the bar lines. bars: (start_s, is_cue_start) in time
    order, each bar running to the next one and the last to end_s; is_cue_start marks a
    cue's pickup bar and its first downbeat, where a meter is written even if it does not
    change."""
    tempo: TempoMap
    bars: tuple[tuple[float, bool], ...]
    end_s: float


def _beats_between(tempo: list[tuple[float, float]], a_s: float, b_s: float) -> float:
    """Beats from a_s to b_s (a_s ≤ b_s) under the (start_s, tempo_bpm) segments so far
    (FILLER_BPM if none), read as a TempoMap: the first segment reaches back, the last on."""
    tm = TempoMap.from_tempi(tempo or [(0.0, FILLER_BPM)])
    return tm.s_to_beat(b_s) - tm.s_to_beat(a_s)


def _grid_beats(beats: float) -> Fraction:
    """beats rounded to the conductor's finest bar unit (a quarter beat), at least one."""
    return max(GRID_BEAT, Fraction(nearest_index(beats / GRID_BEAT)) * GRID_BEAT)


def _whole_bars(n_beats: int) -> list[int]:
    """A filler of n beats as bars: 4/4 bars, then one bar of the remainder."""
    return [4] * (n_beats // 4) + ([n_beats % 4] if n_beats % 4 else [])


def conductor_grid(score: Score) -> ConductorGrid:
    """The conductor's tempo and bar lines over the whole film, one consistent bar grid
    from 0 s: each cue's own tempo map and bars (its pickup bar, then a bar every
    beats_per_bar beats from beat 0, its last bar as long as it is, so that its end is a
    bar line); filler bars (≈120 BPM, whole beats: 4/4 bars and one remainder bar) in each
    gap; so every cue's pickup and first downbeat are bar lines at their own seconds.

    Bars are whole numbers of quarter beats (meters over 4, 8 or 16): a last bar (or
    pickup) of any other length — a cue ending at beat 32.49 — is written as the nearest
    such length, with a tempo for that bar alone that makes it last its seconds.

    Cues that touch or overlap (gap < FILLER_MIN_S): the music before the next cue's start
    is closed at that start. A sliver after the previous cue's last bar (≥ ⅛ beat) is a
    short bar of its own (whole quarter beats, its tempo made to fit); a shorter one, or
    the part of an overlapping cue's bar before the next start, makes the bar it is in end
    there, written as the nearest whole number of quarter beats with the tempo made to
    fit. That changes the tempo of at most that one bar, and only when its length is not
    already a whole number of quarter beats; a hit inside such a bar is still at its
    second in the file, though the beat grid there is not the cue's own.
    """
    tempo: list[tuple[float, float]] = []
    bars: list[tuple[float, bool]] = []
    end = 0.0

    def filler(until_s: float) -> None:
        nonlocal end
        n = max(1, nearest_index((until_s - end) / beat_s(FILLER_BPM)))
        bpm = tempo_bpm_for(n, until_s - end)
        tempo.append((end, bpm))
        t = end
        for beats in _whole_bars(n):
            bars.append((t, False))
            t += beats * beat_s(bpm)
        end = until_s

    def close(at_s: float) -> None:
        """End the grid at at_s (within FILLER_MIN_S after its end, or before it)."""
        nonlocal end, tempo
        if not bars:
            bars.append((0.0, False))
        if at_s > end + 1e-9 and bars[-1][0] < end - 1e-9 and \
                _beats_between(tempo, end, at_s) >= GRID_BEAT / 2:
            bars.append((end, False))                   # the sliver: a short bar of its own
        while len(bars) > 1 and bars[-1][0] >= at_s - 1e-9:
            bars.pop()                                  # the bar lines the next cue overrides
        if len(bars) > 1 and _beats_between(tempo, bars[-1][0], at_s) < GRID_BEAT / 2:
            bars.pop()                                  # too short for a bar: the one before ends here
        if not tempo:
            tempo = [(0.0, FILLER_BPM)]
        b = bars[-1][0]
        beats = _beats_between(tempo, b, at_s)
        written = _grid_beats(beats)
        if abs(beats - written) > 1e-6:                 # make the bar that long
            tempo = [seg for seg in tempo if seg[0] < b - 1e-9] + [(b, tempo_bpm_for(float(written), at_s - b))]
        tempo = [seg for seg in tempo if seg[0] < at_s - 1e-9]
        end = at_s

    for cs in sorted(score.cues, key=lambda c: c.cue.start_s):
        tm, start = cs.tempo_map, cs.cue.start_s
        if start - end > FILLER_MIN_S:
            filler(start)
        elif start > 1e-9:
            close(start)
        end_beat = tm.s_to_beat(cs.cue.end_s)
        tempo += [(seg.start_s, seg.tempo_bpm) for seg in tm.segments if seg.start_s < cs.cue.end_s - 1e-9]
        first = tm.segments[0].start_beat
        if first < -1e-9:        # the pickup bar (not whole quarter beats: its tempo made to fit)
            bars.append((start, True))
            written, downbeat = _grid_beats(-first), tm.beat_to_s(0.0)
            if abs(-first - written) > 1e-6:
                tempo = [seg for seg in tempo if seg[0] < start - 1e-9 or seg[0] > downbeat + 1e-9]
                tempo += [(start, tempo_bpm_for(float(written), downbeat - start)), (downbeat, tm.tempo_at_s(downbeat))]
                tempo.sort()
        k = 0
        while k * tm.beats_per_bar < end_beat - 1e-6:
            bars.append((tm.beat_to_s(k * tm.beats_per_bar), k == 0))
            k += 1
        end = cs.cue.end_s
        close(end)           # the last bar, as long as it is: its end (the button) a bar line
    if score.source.duration_s - end > FILLER_MIN_S or not tempo:
        filler(max(score.source.duration_s, end + beat_s(FILLER_BPM)))
    return ConductorGrid(TempoMap.from_tempi(tempo), tuple(bars), end)


def _meter(ticks: int) -> tuple[int, int]:
    """A bar of `ticks` as (numerator, denominator): quarters if whole, else eighths, else
    sixteenths (the grid makes every bar a whole number of sixteenths)."""
    for den in (4, 8, 16, 32):
        unit = PPQ * 4 // den
        if ticks % unit == 0:
            return ticks // unit, den
    return max(1, round(ticks / (PPQ // 8))), 32


def midi_tempo_map(tempo: TempoMap) -> MidiTempoMap:
    """Integer ticks and µs tempi that reproduce `tempo` (from 0 s) exactly: each segment
    starts at its second, the rounding of the ones before made up by its own length."""
    result: list[MidiSegment] = []
    tick, time_s = 0, 0.0
    segments = tempo.segments
    for i, seg in enumerate(segments):
        if i + 1 < len(segments):
            dt = segments[i + 1].start_s - time_s
            ticks = max(1, nearest_index(dt / beat_s(seg.tempo_bpm) * PPQ))
            tempo_us = max(1, nearest_index(dt * 1e6 * PPQ / ticks))
        else:
            ticks, tempo_us = 0, nearest_index(beat_s(seg.tempo_bpm) * 1e6)
        result.append(MidiSegment(tick, time_s, tempo_us))
        tick += ticks
        time_s += ticks * tempo_us / (1e6 * PPQ)
    return MidiTempoMap(tuple(result))


def key_signature(key: str) -> str:
    """The MIDI key signature (mido's name: "Bb", "F#m") of a key such as "D dorian".

    A major or minor key is itself; harmonic minor writes its natural minor's signature
    (the raised seventh is an accidental); a church mode writes its parent major scale's
    signature (D dorian → C), spelled with flats or sharps as the key is.
    """
    from scorer.music import MODE_OFFSET, NOTE_PCS, parse_key, pc_name, uses_flats

    tonic, mode = parse_key(key)
    flats = uses_flats(tonic, mode)
    if mode in ("minor", "aeolian", "harmonic_minor"):
        relative = pc_name((NOTE_PCS[tonic] + 3) % 12, flats=flats)   # the relative major
        minor = pc_name(NOTE_PCS[tonic], flats=flats)
        return minor + "m" if relative in _SIGNATURE_MAJORS else pc_name(NOTE_PCS[tonic], flats=not flats) + "m"
    parent = pc_name((NOTE_PCS[tonic] - MODE_OFFSET[mode]) % 12, flats=flats)
    return parent if parent in _SIGNATURE_MAJORS else pc_name((NOTE_PCS[tonic] - MODE_OFFSET[mode]) % 12,
                                                              flats=not flats)


# Major keys a key signature can name (at most 6 accidentals; F# and Gb both exist).
_SIGNATURE_MAJORS = frozenset({"C", "G", "D", "A", "E", "B", "F#", "F", "Bb", "Eb", "Ab", "Db", "Gb"})


# Controller values a channel returns to when a part of a later cue takes it over (GM
# defaults): mod wheel, volume, pan, expression, sustain pedal. Others are left as set.
CONTROL_DEFAULTS = {1: 0, 7: 100, 10: 64, 11: 127, 64: 0}

# At one tick: note-offs, then a cue's program change, then controls, then note-ons (a
# controller reset at a note's tick precedes it; a note ending where the next part takes
# its channel has ended before the new program).
_OFF, _PROGRAM, _CONTROL, _ON = 0, 1, 2, 3


def film_tempo_map(score: Score) -> MidiTempoMap:
    """The file's tempo map (ticks ⇄ seconds) of the score's conductor_grid."""
    return midi_tempo_map(conductor_grid(score).tempo)


def part_channels(score: Score, tmap: MidiTempoMap | None = None) -> dict[tuple[int, int], int]:
    """The MIDI channel (0…15) of each part, by (cue index, part index); drums on channel
    10 (index 9). tmap: the file's (default: film_tempo_map(score)).

    A part keeps the channel its name (group, name) had in the cue before when that channel
    is free at the cue's start tick; else it takes the lowest free one. A channel is free
    once the notes and controls of the part that held it are over: a cue's closing chord
    often rings past the next cue's start (or starts on it), and a program change on its
    channel would give it the next cue's instrument. With every channel busy (more than 15
    melodic parts sounding at once) the one free soonest is taken and its ringing notes
    are ended at the new part's start (build_midi).
    """
    tmap = film_tempo_map(score) if tmap is None else tmap
    free_from = [0] * 16                    # tick from which each channel is free
    last: dict[tuple[str, str], int] = {}
    out: dict[tuple[int, int], int] = {}
    melodic = [c for c in range(16) if c != DRUM_CHANNEL]
    for ci, cs in sorted(enumerate(score.cues), key=lambda e: (e[1].cue.start_s, e[0])):
        tick = tmap.s_to_tick(cs.cue.start_s)
        for pi, part in enumerate(cs.parts):
            if part.is_drums:
                out[(ci, pi)] = DRUM_CHANNEL
                continue
            want = last.get((part.group, part.name))
            if want is not None and free_from[want] <= tick:
                chan = want
            else:
                free = [c for c in melodic if free_from[c] <= tick]
                chan = free[0] if free else min(melodic, key=lambda c: (free_from[c], c))
            busy = [max(tmap.s_to_tick(n.end_s), tmap.s_to_tick(n.start_s) + 1) for n in part.notes]
            busy += [tmap.s_to_tick(c.t_s) for c in part.controls]
            free_from[chan] = max([tick + 1] + busy)
            last[(part.group, part.name)] = chan
            out[(ci, pi)] = chan
    return out


def build_midi(score: Score, *, title: str = "scorer temp score", notes: tuple = ()):
    """The score as a mido.MidiFile (type 1, PPQ 960); deterministic for a given Score.

    Track 0 is the conductor (conductor_grid: tempo, a time signature on bar lines only,
    keys, markers); then a track per stem group, each part on its channel (part_channels)
    with its program at the cue's start, its controller changes and its notes.
    """
    import mido

    grid = conductor_grid(score)
    tmap = midi_tempo_map(grid.tempo)
    fps = score.source.fps
    conductor: list[tuple[int, int, mido.MetaMessage]] = []
    conductor.append((0, 0, mido.MetaMessage("track_name", name=f"{title} - TEMP, not final")))
    conductor.append((0, 0, mido.MetaMessage(
        "text", text=f"scorer temp score; picture {fps_str(fps)} fps; seed {score.seed}")))
    # Where picture starts: tick 0 is the cut's first frame, whose timecode this is (a DAW
    # or sequencer that syncs to picture lines the file up by it).
    conductor.append((0, 0, smpte_offset(score.source.start_frame, fps)))
    tc = lambda t_s: s_to_smpte(t_s, fps, start_frame=score.source.start_frame)  # noqa: E731 - the picture's own
    for seg in tmap.segments:
        conductor.append((seg.tick, 1, mido.MetaMessage("set_tempo", tempo=seg.tempo_us)))
    # A meter at tick 0, where a bar's length changes, and at every cue's pickup and first
    # downbeat.
    bar_ticks = [tmap.s_to_tick(t) for t, _ in grid.bars] + [tmap.s_to_tick(grid.end_s)]
    in_force = None
    for i, (_, at_cue) in enumerate(grid.bars):
        length = bar_ticks[i + 1] - bar_ticks[i]
        if length <= 0:
            continue
        meter = _meter(length)
        if meter != in_force or at_cue:
            conductor.append((bar_ticks[i], 2, mido.MetaMessage(
                "time_signature", numerator=meter[0], denominator=meter[1])))
            in_force = meter
    for cs in score.cues:
        cue = cs.cue
        tick = tmap.s_to_tick(cue.start_s)
        conductor.append((tick, 2, mido.MetaMessage("key_signature", key=key_signature(cs.key))))
        conductor.append((tick, 3, mido.MetaMessage(
            "marker", text=f"{cue.id} {cue.preset} {tc(cue.start_s)}")))
        # Every hit the spotting found, as the cue sheet lists them: "HIT" where the music
        # lands it, "hit (not scored)" where it does not (an editor still wants to see it).
        for h in cue.hits:
            label = "HIT" if h.scored else "hit (not scored)"
            conductor.append((tmap.s_to_tick(h.t_s), 4, mido.MetaMessage(
                "marker", text=f"{label} {cue.id} {h.kind} {tc(h.t_s)}")))
        conductor.append((tmap.s_to_tick(cue.end_s), 0, mido.MetaMessage(
            "marker", text=f"END {cue.id} {tc(cue.end_s)}")))
    # Review notes (scorer.types.ReviewNote) as markers, so the composer finds them in the DAW.
    for n in notes:
        conductor.append((tmap.s_to_tick(n.t_s), 5, mido.MetaMessage(
            "marker", text=f"NOTE {n.cue_id} {n.timecode} {n.author}: {n.text}")))
    mid = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    mid.tracks.append(_track(conductor))

    channels = part_channels(score, tmap)
    order = sorted(range(len(score.cues)), key=lambda i: (score.cues[i].cue.start_s, i))
    # Where the next part on each melodic channel takes over (its program change): a note
    # of the part before ends there at the latest (only when every channel was busy).
    takeover: dict[tuple[int, int], int] = {}
    holder: dict[int, tuple[int, int]] = {}
    dirty: dict[int, set[int]] = {}          # controllers set on a channel by earlier cues
    resets: dict[tuple[int, int], list[tuple[int, int]]] = {}   # part → [(number, value)] at its start
    for ci in order:
        cs = score.cues[ci]
        tick = tmap.s_to_tick(cs.cue.start_s)
        by_chan: dict[int, list[int]] = {}
        for pi, part in enumerate(cs.parts):
            by_chan.setdefault(channels[(ci, pi)], []).append(pi)
        for chan, pis in sorted(by_chan.items()):
            if chan != DRUM_CHANNEL:
                if chan in holder:
                    takeover[holder[chan]] = tick
                holder[chan] = (ci, pis[-1])
            # A fresh start for the cue: controllers an earlier cue moved go back to their
            # defaults, unless the cue sets them itself at its first tick.
            own = {c.number for pi in pis for c in cs.parts[pi].controls if tmap.s_to_tick(c.t_s) <= tick}
            back = sorted(n for n in dirty.get(chan, ()) if n in CONTROL_DEFAULTS and n not in own)
            resets[(ci, pis[0])] = [(n, CONTROL_DEFAULTS[n]) for n in back]
            dirty[chan] = {n for n in dirty.get(chan, ()) if n not in CONTROL_DEFAULTS} | \
                {c.number for pi in pis for c in cs.parts[pi].controls}

    groups = sorted({p.group for cs in score.cues for p in cs.parts})
    for group in groups:
        events: list[tuple[int, int, object]] = [(0, 0, mido.MetaMessage("track_name", name=group))]
        # (channel, pitch) → [on, off] ticks: one key of one channel sounds once at a time.
        spans: dict[tuple[int, int], list[list[int]]] = {}
        velocities: dict[tuple[int, int, int], int] = {}
        for ci in order:
            cs = score.cues[ci]
            cue_tick = tmap.s_to_tick(cs.cue.start_s)
            for pi, part in enumerate(cs.parts):
                if part.group != group:
                    continue
                chan = channels[(ci, pi)]
                if not part.is_drums:
                    events.append((cue_tick, _PROGRAM, mido.Message("program_change", channel=chan,
                                                                    program=part.program)))
                for number, value in resets.get((ci, pi), ()):
                    events.append((cue_tick, _CONTROL, mido.Message("control_change", channel=chan,
                                                                    control=number, value=value)))
                for c in part.controls:
                    events.append((max(tmap.s_to_tick(c.t_s), cue_tick), _CONTROL, mido.Message(
                        "control_change", channel=chan, control=c.number, value=c.value)))
                until = takeover.get((ci, pi))
                for n in part.notes:
                    on, off = tmap.s_to_tick(n.start_s), tmap.s_to_tick(n.end_s)
                    off = max(off, on + 1)
                    if until is not None:
                        if on >= until:
                            continue
                        off = min(off, until)
                    spans.setdefault((chan, n.pitch), []).append([on, off])
                    velocities[(chan, n.pitch, on)] = max(velocities.get((chan, n.pitch, on), 0), n.velocity)
        for (chan, pitch), ons in spans.items():
            ons.sort()
            # A note struck again while it still sounds (a re-attack) ends where the new one
            # starts: MIDI has one key per channel, and readers would otherwise pair the
            # offs with the wrong ons.
            merged: list[list[int]] = []
            for on, off in ons:
                if merged and on == merged[-1][0]:
                    merged[-1][1] = max(merged[-1][1], off)
                    continue
                if merged and on < merged[-1][1]:
                    merged[-1][1] = on
                merged.append([on, off])
            for on, off in merged:
                events.append((on, _ON, mido.Message("note_on", channel=chan, note=pitch,
                                                     velocity=velocities[(chan, pitch, on)])))
                events.append((off, _OFF, mido.Message("note_off", channel=chan, note=pitch, velocity=0)))
        mid.tracks.append(_track(events))
    return mid


def smpte_offset(start_frame: int, fps: Fraction):
    """The SMPTE offset meta event of a picture starting at frame start_frame (its
    timecode): MIDI's rate code is 24 for 23.976 and 24, 25, 29.97 for drop-frame 29.97
    (and 59.94, counted as its 29.97 frame pairs), 30 for the others."""
    import mido

    from scorer.timebase import frame_to_smpte, is_drop_frame_rate, nominal_fps

    nominal = nominal_fps(fps)
    drop = is_drop_frame_rate(fps)
    frames_per_code = 2 if nominal in (48, 50, 60) else 1
    rate = {24: 24, 25: 25}.get(nominal // frames_per_code, 29.97 if drop else 30)
    h, m, sec, ff = (int(x) for x in frame_to_smpte(start_frame, fps).replace(";", ":").split(":"))
    return mido.MetaMessage("smpte_offset", frame_rate=rate, hours=h, minutes=m, seconds=sec,
                            frames=ff // frames_per_code, sub_frames=0)


def _track(events):
    """Absolute (tick, order, message) events → a track with delta times."""
    import mido

    track = mido.MidiTrack()
    last = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1], str(e[2]))):
        track.append(msg.copy(time=tick - last))
        last = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def midi_bytes(score: Score, notes: tuple = ()) -> bytes:
    import io

    buf = io.BytesIO()
    build_midi(score, notes=notes).save(file=buf)
    return buf.getvalue()


