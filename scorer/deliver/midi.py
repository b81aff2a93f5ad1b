"""Score → Standard MIDI File (type 1): a conductor track with the tempo map, meters and
named markers (cue starts, hits, cue ends), then one track per stem group.

Times are exact: each tempo segment's µs-per-beat is chosen so that the integer tick at
which the next segment starts is, for a DAW reading the file, at the same second as in
scorer's tempo map (errors never accumulate across segments).
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from scorer.timebase import fps_str, s_to_smpte
from scorer.types import Score

PPQ = 960
FILLER_BPM = 120.0


@dataclass(frozen=True)
class MidiSegment:
    tick: int
    time_s: float        # the second a DAW computes for `tick`
    tempo_us: int        # µs per quarter note from here on


@dataclass(frozen=True)
class MidiTempoMap:
    segments: tuple[MidiSegment, ...]

    def s_to_tick(self, t_s: float) -> int:
        i = max(bisect.bisect_right([s.time_s for s in self.segments], t_s + 1e-9) - 1, 0)
        seg = self.segments[i]
        return seg.tick + round((t_s - seg.time_s) * 1e6 * PPQ / seg.tempo_us)

    def tick_to_s(self, tick: int) -> float:
        i = max(bisect.bisect_right([s.tick for s in self.segments], tick) - 1, 0)
        seg = self.segments[i]
        return seg.time_s + (tick - seg.tick) * seg.tempo_us / (1e6 * PPQ)


def film_tempo_segments(score: Score) -> list[tuple[float, float]]:
    """(start_s, tempo_bpm) over the whole film: each cue's own tempo map, with filler
    tempo (≈120 BPM, a whole number of beats) in the gaps so every cue starts on a beat."""
    out: list[tuple[float, float]] = []
    t = 0.0
    for cs in sorted(score.cues, key=lambda c: c.cue.start_s):
        start = cs.cue.start_s
        # A gap gets its own whole number of filler beats; a sliver under 0.25 s does not
        # (the previous tempo carries on into the cue).
        if start - t > 0.25:
            beats = max(1, round((start - t) * FILLER_BPM / 60))
            out.append((t, beats * 60 / (start - t)))
        out = [seg for seg in out if seg[0] < start - 1e-9]   # overlapping cues: the new one wins
        for seg in cs.tempo_map.segments:
            if seg.start_s < cs.cue.end_s - 1e-9:
                out.append((seg.start_s, seg.tempo_bpm))
        t = cs.cue.end_s
    if score.source.duration_s - t > 0.25 or not out:
        out.append((t, FILLER_BPM))
    return out


def midi_tempo_map(segments: list[tuple[float, float]]) -> MidiTempoMap:
    """Integer ticks and µs tempi that reproduce `segments` (start_s, bpm) exactly."""
    result: list[MidiSegment] = []
    tick, time_s = 0, 0.0
    for i, (start_s, bpm) in enumerate(segments):
        if i + 1 < len(segments):
            dt = segments[i + 1][0] - time_s
            ticks = max(1, round(dt * bpm / 60 * PPQ))
            tempo_us = max(1, round(dt * 1e6 * PPQ / ticks))
        else:
            ticks, tempo_us = 0, round(60e6 / bpm)
        result.append(MidiSegment(tick, time_s, tempo_us))
        tick += ticks
        time_s += ticks * tempo_us / (1e6 * PPQ)
    return MidiTempoMap(tuple(result))


def _channels(score: Score) -> dict[tuple[str, str], int]:
    """A MIDI channel per (group, part name); drums on channel 10 (index 9)."""
    keys = sorted({(p.group, p.name) for cs in score.cues for p in cs.parts if not p.is_drums})
    free = [c for c in range(16) if c != 9]
    return {k: free[i % len(free)] for i, k in enumerate(keys)}


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


def build_midi(score: Score, *, title: str = "scorer temp score"):
    """The score as a mido.MidiFile (type 1, PPQ 960); deterministic for a given Score."""
    import mido

    tmap = midi_tempo_map(film_tempo_segments(score))
    fps = score.source.fps
    conductor: list[tuple[int, int, mido.MetaMessage]] = []
    conductor.append((0, 0, mido.MetaMessage("track_name", name=f"{title} - TEMP, not final")))
    conductor.append((0, 0, mido.MetaMessage(
        "text", text=f"scorer temp score; picture {fps_str(fps)} fps; seed {score.seed}")))
    for seg in tmap.segments:
        conductor.append((seg.tick, 1, mido.MetaMessage("set_tempo", tempo=seg.tempo_us)))
    for cs in score.cues:
        cue = cs.cue
        tick = tmap.s_to_tick(cue.start_s)
        pickup = max(0, round(-cs.tempo_map.segments[0].start_beat))
        if pickup:   # a bar of the pickup's length first, so the DAW's bar lines meet the music's
            conductor.append((tick, 2, mido.MetaMessage("time_signature", numerator=pickup, denominator=4)))
        conductor.append((tmap.s_to_tick(cs.tempo_map.beat_to_s(0.0)) if pickup else tick, 2, mido.MetaMessage(
            "time_signature", numerator=cs.tempo_map.beats_per_bar, denominator=4)))
        conductor.append((tick, 2, mido.MetaMessage("key_signature", key=key_signature(cs.key))))
        conductor.append((tick, 3, mido.MetaMessage(
            "marker", text=f"{cue.id} {cue.preset} {s_to_smpte(cue.start_s, fps)}")))
        for h in cue.hits:
            if h.scored:
                conductor.append((tmap.s_to_tick(h.t_s), 4, mido.MetaMessage(
                    "marker", text=f"HIT {cue.id} {h.kind} {s_to_smpte(h.t_s, fps)}")))
        conductor.append((tmap.s_to_tick(cue.end_s), 0, mido.MetaMessage(
            "marker", text=f"END {cue.id} {s_to_smpte(cue.end_s, fps)}")))
    mid = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    mid.tracks.append(_track(conductor))

    channels = _channels(score)
    groups = sorted({p.group for cs in score.cues for p in cs.parts})
    for group in groups:
        events: list[tuple[int, int, object]] = [(0, 0, mido.MetaMessage("track_name", name=group))]
        # (channel, pitch) → [on, off] ticks: one key of one channel sounds once at a time.
        spans: dict[tuple[int, int], list[list[int]]] = {}
        velocities: dict[tuple[int, int, int], int] = {}
        for cs in score.cues:
            cue_tick = tmap.s_to_tick(cs.cue.start_s)
            for part in cs.parts:
                if part.group != group:
                    continue
                chan = 9 if part.is_drums else channels[(group, part.name)]
                if not part.is_drums:
                    events.append((cue_tick, 1, mido.Message("program_change", channel=chan,
                                                             program=part.program)))
                for n in part.notes:
                    on, off = tmap.s_to_tick(n.start_s), tmap.s_to_tick(n.end_s)
                    spans.setdefault((chan, n.pitch), []).append([on, max(off, on + 1)])
                    velocities[(chan, n.pitch, on)] = max(velocities.get((chan, n.pitch, on), 0), n.velocity)
        for (chan, pitch), ons in spans.items():
            ons.sort()
            # A note struck again while it still sounds (a tail ringing into the next cue,
            # a re-attack) ends where the new one starts: MIDI has one key per channel,
            # and readers would otherwise pair the offs with the wrong ons.
            merged: list[list[int]] = []
            for on, off in ons:
                if merged and on == merged[-1][0]:
                    merged[-1][1] = max(merged[-1][1], off)
                    continue
                if merged and on < merged[-1][1]:
                    merged[-1][1] = on
                merged.append([on, off])
            for on, off in merged:
                events.append((on, 3, mido.Message("note_on", channel=chan, note=pitch,
                                                   velocity=velocities[(chan, pitch, on)])))
                events.append((off, 2, mido.Message("note_off", channel=chan, note=pitch, velocity=0)))
        mid.tracks.append(_track(events))
    return mid


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


def midi_bytes(score: Score) -> bytes:
    import io

    buf = io.BytesIO()
    build_midi(score).save(file=buf)
    return buf.getvalue()


