"""score.mid read back by independent readers (pretty_midi, music21): every note at its
time to the millisecond, programs, drums, the tempo map, meters, keys and the markers."""
from __future__ import annotations

import io

import mido
import pytest

from test_compose import cue, hit, sheet, snap

from scorer.compose import compose
from scorer.compose.presets import load_presets
from scorer.deliver.midi import build_midi, key_signature, midi_bytes
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
    """The group's notes as MIDI can hold them: per part (channel) and key, a note struck
    again while sounding ends where the new one starts; two at the same time are one."""
    keys: dict[tuple[str, int], list[list[float]]] = {}
    for cs in score.cues:
        for p in cs.parts:
            if p.group == group:
                for n in p.notes:
                    keys.setdefault(("drums" if p.is_drums else p.name, n.pitch), []).append([n.start_s, n.end_s])
    out = []
    for (_, pitch), spans in keys.items():
        merged: list[list[float]] = []
        for s, e in sorted(spans):
            if merged and abs(s - merged[-1][0]) < 1e-9:
                merged[-1][1] = max(merged[-1][1], e)
                continue
            if merged and s < merged[-1][1]:
                merged[-1][1] = s
            merged.append([s, e])
        out += [(s, e, pitch) for s, e in merged]
    return sorted(out)


def test_pretty_midi_reads_every_note_at_its_time(written):
    import pretty_midi

    score, path = written
    pm = pretty_midi.PrettyMIDI(str(path))
    groups = sorted({p.group for cs in score.cues for p in cs.parts})
    by_name: dict[str, list] = {}
    for inst in pm.instruments:
        by_name.setdefault(inst.name, []).append(inst)
    assert sorted(by_name) == groups
    for group in groups:
        got = sorted((n.start, n.end, n.pitch) for inst in by_name[group] for n in inst.notes)
        want = _score_notes(score, group)
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
        for hf in cs.hit_fits:
            if hf.hit.scored:   # the beat grid pretty_midi computes passes through every hit
                beats = pm.get_beats()
                assert min(abs(b - hf.hit.t_s) for b in beats) < 1e-3


def test_meters_keys_and_markers_at_cue_starts_and_hits(written):
    score, path = written
    mid = mido.MidiFile(str(path))
    tick_to_s = _tick_to_s(mid)
    metas = [(tick_to_s(t), m) for t, m in _abs(mid.tracks[0]) if m.is_meta]
    for cs in score.cues:
        at = [m for t, m in metas if abs(t - cs.cue.start_s) < 1e-3]
        assert any(m.type == "time_signature" and m.numerator == cs.tempo_map.beats_per_bar for m in at)
        assert any(m.type == "key_signature" and m.key == key_signature(cs.key) for m in at)
        assert any(m.type == "marker" and m.text.startswith(cs.cue.id) for m in at)
        for h in cs.cue.hits:
            if h.scored:
                assert any(m.type == "marker" and m.text.startswith("HIT") and abs(t - h.t_s) < 1e-3
                           for t, m in metas)


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
