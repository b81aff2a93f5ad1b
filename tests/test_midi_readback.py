"""score.mid read back by independent readers (pretty_midi, music21): every note at its
time to the millisecond, programs, drums, the tempo map, meters, keys and the markers."""
from __future__ import annotations

import io

import mido
import pytest

from test_compose import cue, hit, sheet, snap

from scorer.compose import compose
from scorer.music.presets import load_presets
from scorer.deliver.midi import build_midi, film_tempo_map, key_signature, midi_bytes, part_channels
from scorer.types import Span


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    presets = load_presets()
    c1 = cue(2.0, 30.0, [hit(9.4, 0.9), hit(21.0, 0.5)], preset="tension", cid="1M1")
    c2 = cue(30.0, 52.0, [hit(40.2, 0.8)], preset="melancholy", cid="1M2")      # 3/4, connected
    c3 = cue(60.0, 85.0, [hit(66.1, 1.0), hit(80.0, 0.6)], preset="noir", cid="1M3")
    cs = sheet([c1, c2, c3], (Span(snap(12.0), snap(15.5)),), duration_s=90.0)
    score = compose(cs, seed=3, presets=presets)
    path = tmp_path_factory.mktemp("midi") / "score.mid"
    path.write_bytes(midi_bytes(score))
    return score, path


def _score_notes(score, group):
    """The group's notes as MIDI can hold them, (start_s, end_s, pitch): per channel
    (part_channels) and key, a note struck again while sounding ends where the new one
    starts; two at the same tick are one (notes played a few ms apart can share a tick)."""
    tmap = film_tempo_map(score)
    channels = part_channels(score, tmap)
    keys: dict[tuple[int, int], list[tuple[int, float, float]]] = {}
    for ci, cs in enumerate(score.cues):
        for pi, p in enumerate(cs.parts):
            if p.group == group:
                for n in p.notes:
                    keys.setdefault((channels[(ci, pi)], n.pitch), []).append(
                        (tmap.s_to_tick(n.start_s), n.start_s, n.end_s))
    out = []
    for (_, pitch), spans in keys.items():
        merged: list[list] = []
        for on, s, e in sorted(spans):
            if merged and on == merged[-1][0]:
                merged[-1][2] = max(merged[-1][2], e)
                continue
            if merged and on < tmap.s_to_tick(merged[-1][2]):
                merged[-1][2] = s
            merged.append([on, s, e])
        out += [(s, e, pitch) for _, s, e in merged]
    return out


def test_pretty_midi_reads_every_note_at_its_time(written):
    import pretty_midi

    score, path = written
    pm = pretty_midi.PrettyMIDI(str(path))
    tmap = film_tempo_map(score)

    def order(note):       # by key, then tick (notes a few ms apart may share one), then end
        s, e, p = note
        return p, tmap.s_to_tick(s), tmap.s_to_tick(e)

    groups = sorted({p.group for cs in score.cues for p in cs.parts})
    by_name: dict[str, list] = {}
    for inst in pm.instruments:
        by_name.setdefault(inst.name, []).append(inst)
    assert sorted(by_name) == groups
    for group in groups:
        got = sorted(((n.start, n.end, n.pitch) for inst in by_name[group] for n in inst.notes), key=order)
        want = sorted(_score_notes(score, group), key=order)
        assert len(got) == len(want), group
        for (s0, e0, p0), (s1, e1, p1) in zip(got, want):
            assert p0 == p1
            assert abs(s0 - s1) < 1e-3 and abs(e0 - e1) < 1e-3 + 1 / 960
    drums = [inst for inst in pm.instruments if inst.is_drum]
    assert drums and all(inst.name == "percussion" for inst in drums)
    # Programs: every (group, program) of the score is an instrument pretty_midi sees.
    want_programs = {(p.group, p.program) for cs in score.cues for p in cs.parts if not p.is_drums}
    got_programs = {(inst.name, inst.program) for inst in pm.instruments if not inst.is_drum}
    assert want_programs <= got_programs | {(g, 0) for g, _ in want_programs}


def test_pretty_midi_sees_the_tempo_map(written):
    import pretty_midi

    score, path = written
    pm = pretty_midi.PrettyMIDI(str(path))
    times, tempi = pm.get_tempo_changes()
    for cs in score.cues:
        for seg in cs.tempo_map.segments:
            k = max(i for i, t in enumerate(times) if t <= seg.start_s + 1e-3)
            assert abs(times[k] - seg.start_s) < 1e-3 or seg.start_s < times[k] + 1e-3
            assert abs(tempi[k] - seg.tempo_bpm) / seg.tempo_bpm < 1e-4
        beats = pm.get_beats()
        downbeat = pm.time_to_tick(cs.tempo_map.beat_to_s(0.0))
        for hf in cs.hit_fits:
            if hf.hit.scored:   # each hit is at its beat of the file's grid from the cue's downbeat
                assert abs(pm.time_to_tick(hf.hit.t_s) - downbeat - hf.beat * pm.resolution) <= 1
                if float(hf.beat).is_integer():   # and pretty_midi's beat grid passes through it
                    assert min(abs(b - hf.hit.t_s) for b in beats) < 1e-3


def test_meters_keys_and_markers_at_cue_starts_and_hits(written):
    score, path = written
    mid = mido.MidiFile(str(path))
    tick_to_s = _tick_to_s(mid)
    metas = [(tick_to_s(t), m) for t, m in _abs(mid.tracks[0]) if m.is_meta]
    assert meters_off_bar_lines(mid) == []
    for cs in score.cues:
        downbeat = [m for t, m in metas if abs(t - cs.tempo_map.beat_to_s(0.0)) < 1e-3]
        assert any(m.type == "time_signature" and m.numerator == cs.tempo_map.beats_per_bar for m in downbeat)
        at = [m for t, m in metas if abs(t - cs.cue.start_s) < 1e-3]
        assert any(m.type == "key_signature" and m.key == key_signature(cs.key) for m in at)
        assert any(m.type == "marker" and m.text.startswith(cs.cue.id) for m in at)
        for h in cs.cue.hits:
            if h.scored:
                assert any(m.type == "marker" and m.text.startswith("HIT") and abs(t - h.t_s) < 1e-3
                           for t, m in metas)


def test_no_note_sounds_through_a_program_change_on_its_channel(written):
    """A cue's closing chord rings past (or starts on) the next cue's start: the next cue's
    parts take other channels then, so every note plays with its own part's program."""
    score, path = written
    assert_programs_hold(score, mido.MidiFile(str(path)))


def assert_programs_hold(score, mid):
    """Every melodic note of the file plays with the program of a part of the score that
    has that note (same group, pitch and start tick), and no program change comes on a
    channel while a note sounds on it."""
    tmap = film_tempo_map(score)
    want: dict[tuple[str, int, int], set[int]] = {}
    for cs in score.cues:
        for p in cs.parts:
            if not p.is_drums:
                for n in p.notes:
                    want.setdefault((p.group, tmap.s_to_tick(n.start_s), n.pitch), set()).add(p.program)
    for track in mid.tracks[1:]:
        name = next(m.name for m in track if m.type == "track_name")
        program: dict[int, int] = {}
        sounding: dict[int, set[int]] = {}
        order = {"off": 0, "program": 1, "on": 2}
        events = [(t, _kind(m), m) for t, m in _abs(track) if m.type in ("note_on", "note_off", "program_change")]
        for t, kind, m in sorted(events, key=lambda e: (e[0], order[e[1]])):
            if m.channel == 9:
                continue
            if kind == "off":
                sounding.get(m.channel, set()).discard(m.note)
            elif kind == "program":
                assert not sounding.get(m.channel), (name, t, m)
                program[m.channel] = m.program
            else:
                sounding.setdefault(m.channel, set()).add(m.note)
                assert program.get(m.channel) in want[(name, t, m.note)], (name, t, m)


def _kind(m) -> str:
    if m.type == "program_change":
        return "program"
    return "on" if m.type == "note_on" and m.velocity > 0 else "off"


def test_music21_reads_the_file_too(written):
    import music21

    score, path = written
    parsed = music21.converter.parse(str(path))
    n_notes = sum(1 for _ in parsed.recurse().notes)
    assert n_notes > 0
    keys = [k for k in parsed.recurse().getElementsByClass(music21.key.KeySignature)]
    assert keys


@pytest.mark.parametrize("key, expected", [("D minor", "Dm"), ("E dorian", "D"), ("Eb lydian", "Bb"),
                                           ("B phrygian", "G"), ("C harmonic minor", "Cm"),
                                           ("A mixolydian", "D"), ("F# minor", "F#m"), ("Ab major", "Ab")])
def test_key_signatures_of_modes(key, expected):
    assert key_signature(key) == expected
    mido.MetaMessage("key_signature", key=expected)      # mido accepts it


def test_midi_bytes_are_deterministic(written):
    score, path = written
    assert midi_bytes(score) == path.read_bytes()
    buf = io.BytesIO()
    build_midi(score).save(file=buf)
    assert buf.getvalue() == path.read_bytes()


def meters(mid) -> list[tuple[int, int, int]]:
    """(tick, numerator, denominator) of the conductor track's time signatures."""
    return [(t, m.numerator, m.denominator) for t, m in _abs(mid.tracks[0]) if m.type == "time_signature"]


def on_bar_line(mid, tick: int) -> bool:
    """Whether tick is a bar line of the file's grid: a whole number of bars of the meter in
    force (4/4 from tick 0 before the first time signature) after that meter's event."""
    t0, num, den = max([(0, 4, 4)] + [m for m in meters(mid) if m[0] <= tick], key=lambda m: m[0])
    return (tick - t0) % (num * mid.ticks_per_beat * 4 // den) == 0


def meters_off_bar_lines(mid) -> list[tuple[int, int, int]]:
    """The time signatures that do not stand on a bar line of the meters before them."""
    out, ms = [], meters(mid)
    for i, (tick, num, den) in enumerate(ms):
        t0, n0, d0 = ms[i - 1] if i else (0, 4, 4)
        if (tick - t0) % (n0 * mid.ticks_per_beat * 4 // d0):
            out.append((tick, num, den))
    return out


def _abs(track):
    t = 0
    for m in track:
        t += m.time
        yield t, m


def _tick_to_s(mid):
    tempos = [(t, m.tempo) for t, m in _abs(mid.tracks[0]) if m.type == "set_tempo"]

    def f(tick):
        s, last_t, last_tempo = 0.0, 0, 500000
        for t, tempo in tempos:
            if t >= tick:
                break
            s += (t - last_t) * last_tempo / 1e6 / mid.ticks_per_beat
            last_t, last_tempo = t, tempo
        return s + (tick - last_t) * last_tempo / 1e6 / mid.ticks_per_beat
    return f
