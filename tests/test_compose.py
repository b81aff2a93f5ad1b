"""compose: tempo fitting puts honoured hits exactly on beats; harmony and arrangement
follow the rules a film composer would (ranges, dialogue, accents, button); deterministic."""
from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorer.compose import compose, cue_rng
from scorer.compose.arrange import LOW_DRUMS, SPEECH_TOP_PITCH
from scorer.compose.theme import make_motif
from scorer.compose.harmony import chord_in_key, parse_numeral, voice_chord
from scorer.music.presets import DRUM_NOTES, load_presets
from scorer.compose.tempo import DEFAULT_MAX_CHANGE, STRONG_STRENGTH, fit_tempo
from scorer.errors import InputError, PresetError
from scorer.timebase import frame_to_s, nearest_frame
from scorer.types import Cue, CueSheet, Hit, Score, Source, Span

FPS = Fraction(24000, 1001)


@pytest.fixture(scope="module")
def presets():
    return load_presets()


def snap(t_s: float) -> float:
    return frame_to_s(nearest_frame(t_s, FPS), FPS)


def hit(t_s: float, strength: float, scored: bool = True, kind: str = "cut") -> Hit:
    f = nearest_frame(t_s, FPS)
    return Hit(frame_to_s(f, FPS), f, strength, kind, scored)


def cue(start_s: float, end_s: float, hits=(), *, preset="tension", cid="1M1", intensity=None) -> Cue:
    s, e = snap(start_s), snap(end_s)
    curve = intensity if intensity is not None else ((s, 0.6), (e, 0.8))
    return Cue(cid, s, e, preset, -0.4, 0.4, tuple(curve), tuple(hits))


def sheet(cues, dialogue=(), duration_s=200.0) -> CueSheet:
    src = Source("cut.mov", FPS, duration_s, nearest_frame(duration_s, FPS))
    return CueSheet(src, (), tuple(dialogue), tuple(cues))


def assert_honoured_exactly(fit):
    for hf in fit.hit_fits:
        if hf.hit.scored:
            assert_on_grid(hf, fit.tempo_map)
            assert abs(hf.error_s) < 1e-6


def assert_on_grid(hf, tempo_map):
    """An honoured hit sits exactly on a beat — or, if it is weak, on the eighth between two."""
    grid = 1 if hf.hit.strength >= STRONG_STRENGTH else 2
    assert hf.beat * grid == int(hf.beat * grid), hf
    assert abs(tempo_map.beat_to_s(hf.beat) - hf.hit.t_s) < 1e-6


def assert_tempo_limits(fit, lo_bpm, hi_bpm, max_change=DEFAULT_MAX_CHANGE):
    """Every tempo in the range, and no two tempos of the map more than max_change apart
    (so no change at a hit or inside a bar is larger)."""
    tempi = [seg.tempo_bpm for seg in fit.tempo_map.segments]
    for t in tempi:
        assert lo_bpm - 1e-6 <= t <= hi_bpm + 1e-6
    assert max(tempi) / min(tempi) - 1 <= max_change + 1e-9


# --- tempo fitting ------------------------------------------------------------------------------

def test_hits_land_on_beats_strongest_on_a_downbeat(presets):
    c = cue(0.0, 10.0, [hit(1.5, 1.0), hit(3.5, 0.5), hit(7.0, 0.6)])
    fit = fit_tempo(c, preset=presets["action"], fps=FPS, min_bpm=100, max_bpm=170)
    assert all(h.scored for h in fit.cue.hits)
    assert fit.unhonoured == ()
    assert_honoured_exactly(fit)
    strongest = max(fit.hit_fits, key=lambda hf: hf.hit.strength)
    assert strongest.on_downbeat and strongest.beat % 4 == 0
    assert_tempo_limits(fit, 100, 170)
    assert fit.end_on_beat and fit.end_beat == int(fit.end_beat)
    assert abs(fit.tempo_map.beat_to_s(fit.end_beat) - c.end_s) < 1e-6
    assert fit.tempo_map.start_s == c.start_s


def test_hits_inside_a_preset_range(presets):
    c = cue(20.0, 50.0, [hit(26.0, 0.7), hit(31.5, 0.9), hit(38.2, 0.5), hit(44.0, 0.8)])
    p = presets["tension"]
    fit = fit_tempo(c, preset=p, fps=FPS)
    assert_honoured_exactly(fit)
    assert_tempo_limits(fit, p.min_bpm, p.max_bpm)
    assert sum(h.scored for h in fit.cue.hits) >= 3
    assert fit.tempo_map.beats_per_bar in (p.beats_per_bar, *p.alt_meters)   # the meter is searched too
    # Nothing dropped: every hit of the cue is still there, with a fit.
    assert [h.t_s for h in fit.cue.hits] == [h.t_s for h in c.hits]
    assert len(fit.hit_fits) == len(c.hits)


def test_hits_three_frames_apart_cannot_both_be_honoured(presets):
    a = hit(4.0, 0.5)
    b = Hit(frame_to_s(a.frame + 3, FPS), a.frame + 3, 0.9, "onset", True)
    c = cue(0.0, 12.0, [a, b, hit(8.0, 0.6)])
    fit = fit_tempo(c, preset=presets["tension"], fps=FPS)
    flags = {h.frame: h.scored for h in fit.cue.hits}
    assert flags[b.frame] is True and flags[a.frame] is False      # the stronger one wins
    assert [h.frame for h, _ in fit.unhonoured] == [a.frame]
    reason = fit.unhonoured[0][1]
    assert "125 ms" in reason and "less than one eighth" in reason      # a weak hit may take an eighth
    weak = next(hf for hf in fit.hit_fits if hf.hit.frame == a.frame)
    assert weak.hit.scored is False and abs(weak.error_s) > 1e-3
    assert_honoured_exactly(fit)


def test_unscored_candidates_stay_unscored_and_are_reported_with_their_error(presets):
    c = cue(0.0, 12.0, [hit(3.0, 0.9), hit(5.55, 0.3, scored=False)])
    fit = fit_tempo(c, preset=presets["tension"], fps=FPS)
    cand = fit.hit_fits[1]
    assert cand.hit.scored is False
    assert abs(fit.tempo_map.beat_to_s(cand.beat) - cand.hit.t_s - cand.error_s) < 1e-12
    assert fit.unhonoured == ()          # it was never asked for


def test_hits_outside_the_cue_are_reported_not_scored(presets):
    c = cue(10.0, 20.0, [hit(9.0, 0.9), hit(14.0, 0.8), hit(20.0, 0.9)])
    fit = fit_tempo(c, preset=presets["tension"], fps=FPS)
    assert [h.scored for h in fit.cue.hits] == [False, True, False]
    reasons = [r for _, r in fit.unhonoured]
    assert "before the cue starts" in reasons[0] and "cue end" in reasons[1]


def test_alternatives_are_sorted_distinct_and_start_with_the_choice(presets):
    c = cue(0.0, 30.0, [hit(4.1, 0.8), hit(9.7, 0.6), hit(15.2, 0.9), hit(22.9, 0.5)])
    fit = fit_tempo(c, preset=presets["action"], fps=FPS)
    alts = fit.alternatives
    assert 1 <= len(alts) <= 3
    assert [a.score for a in alts] == sorted((a.score for a in alts), reverse=True)
    assert alts[0].tempo_bpm == pytest.approx(fit.base_bpm)
    assert len({(round(a.tempo_bpm, 3), a.beats_per_bar) for a in alts}) == len(alts)
    assert alts[0].beats_per_bar == fit.tempo_map.beats_per_bar
    for a in alts:
        assert 118 <= a.tempo_bpm <= 152 and a.beats_per_bar in (4, 3) and 0 <= a.score <= 1
        assert a.mean_error_frames <= a.max_error_frames
        assert a.max_error_ms == pytest.approx(a.max_error_frames / float(FPS) * 1e3)
        assert a.n_requested == 4 and a.n_honoured <= 4


def test_no_hits_still_ends_on_a_bar_line(presets):
    c = cue(5.0, 25.0)
    fit = fit_tempo(c, preset=presets["warmth"], fps=FPS)
    assert fit.end_on_beat and fit.end_beat % 4 == 0
    assert abs(fit.tempo_map.beat_to_s(fit.end_beat) - c.end_s) < 1e-6
    assert 70 <= fit.base_bpm <= 92


def test_fit_tempo_refuses_bad_options(presets):
    c = cue(0.0, 10.0)
    with pytest.raises(InputError):
        fit_tempo(c, preset=presets["tension"], fps=FPS, min_bpm=120, max_bpm=100)
    with pytest.raises(InputError):
        fit_tempo(c, preset=presets["tension"], fps=FPS, max_change=0.0)
    with pytest.raises(InputError):
        fit_tempo(replace(c, end_s=c.start_s), preset=presets["tension"], fps=FPS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(0.5, 39.0), st.floats(0.0, 1.0), st.booleans()), max_size=10),
       st.sampled_from(["tension", "action", "melancholy", "ambient_drone", "romance"]))
def test_any_hit_set_keeps_the_invariants(presets, raw, name):
    p = presets[name]
    c = cue(10.0, 50.0, sorted((hit(10.0 + t, s, sc) for t, s, sc in raw), key=lambda h: h.t_s))
    fit = fit_tempo(c, preset=p, fps=FPS)
    assert_honoured_exactly(fit)
    assert_tempo_limits(fit, p.min_bpm, p.max_bpm)
    requested = sum(h.scored for h in c.hits)
    assert sum(h.scored for h in fit.cue.hits) + len(fit.unhonoured) == requested
    assert all(not h.scored for h, _ in fit.unhonoured)
    beats = sorted(hf.beat for hf in fit.hit_fits if hf.hit.scored)
    assert len(set(beats)) == len(beats)


# --- harmony ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("numeral,tonic,mode,symbol,pcs", [
    ("i", "D", "minor", "Dm", (2, 5, 9)),
    ("V", "C", "minor", "G", (7, 11, 2)),
    ("VI", "C", "minor", "Ab", (8, 0, 3)),
    ("bVII", "D", "major", "C", (0, 4, 7)),
    ("V7", "F", "major", "C7", (0, 4, 7, 10)),
    ("iiø7", "C", "minor", "Dm7b5", (2, 5, 8, 0)),
    ("II", "F", "lydian", "G", (7, 11, 2)),
    ("II", "E", "phrygian", "F", (5, 9, 0)),
    ("viio", "C", "major", "Bdim", (11, 2, 5)),
    ("IVmaj7", "Eb", "major", "Abmaj7", (8, 0, 3, 7)),
    ("isus2", "D", "dorian", "Dsus2", (2, 4, 9)),
    ("i", "F#", "minor", "F#m", (6, 9, 1)),
])
def test_roman_numerals(numeral, tonic, mode, symbol, pcs):
    spec = chord_in_key(numeral, tonic=tonic, mode=mode)
    assert spec.symbol == symbol and spec.pcs == pcs


@pytest.mark.parametrize("bad", ["VIII", "Io", "v+", "x", "IV7b9", ""])
def test_bad_numerals_are_refused(bad):
    with pytest.raises(ValueError):
        parse_numeral(bad)


def test_voice_leading_moves_little_and_stays_in_range():
    c = voice_chord((0, 4, 7), low=48, high=76, n_voices=4, prev=None, centre=60)
    am = voice_chord((9, 0, 4), low=48, high=76, n_voices=4, prev=c, centre=60)
    f = voice_chord((5, 9, 0), low=48, high=76, n_voices=4, prev=am, centre=60)
    g = voice_chord((7, 11, 2), low=48, high=76, n_voices=4, prev=f, centre=60)
    for v, pcs in ((c, {0, 4, 7}), (am, {9, 0, 4}), (f, {5, 9, 0}), (g, {7, 11, 2})):
        assert {p % 12 for p in v} == pcs and all(48 <= p <= 76 for p in v)
        assert list(v) == sorted(v)
    # Common tones held, the rest move by step: C→Am and Am→F move one voice by a tone,
    # F→G (no common tone) moves every voice by at most a step.
    motion = lambda a, b: [abs(x - y) for x, y in zip(a, b)]  # noqa: E731
    assert sum(motion(c, am)) <= 2 and sum(motion(am, f)) <= 2
    assert max(motion(f, g)) <= 2
    low = voice_chord((2, 5, 9), low=41, high=72, n_voices=3, prev=None, centre=60, max_top=SPEECH_TOP_PITCH)
    assert max(low) <= SPEECH_TOP_PITCH


# --- the composed score ----------------------------------------------------------------------------

def _scene():
    """A 40 s tension cue with hits and two lines of dialogue, and a quiet melancholy cue."""
    c1 = cue(2.0, 42.0, [hit(8.0, 0.7), hit(12.3, 0.4, scored=False), hit(17.5, 0.8), hit(30.0, 0.95)],
             intensity=((2.0, 0.5), (15.0, 0.65), (28.0, 0.9), (42.0, 0.8)))
    c2 = cue(50.0, 80.0, [hit(62.0, 0.6)], preset="melancholy", cid="1M2",
             intensity=((50.0, 0.2), (80.0, 0.5)))
    dialogue = (Span(snap(10.0), snap(14.0)), Span(snap(21.0), snap(24.5)), Span(snap(55.0), snap(60.0)))
    return sheet([c1, c2], dialogue)


@pytest.fixture(scope="module")
def scene_score(presets) -> tuple[CueSheet, Score]:
    cs = _scene()
    return cs, compose(cs, seed=7, presets=presets)


def test_compose_is_deterministic(presets, scene_score):
    cs, score = scene_score
    again = compose(cs, seed=7, presets=presets)
    assert again == score
    other = compose(cs, seed=8, presets=presets)
    notes = lambda s: [n for c in s.cues for p in c.parts for n in p.notes]  # noqa: E731
    assert notes(other) != notes(score)
    assert score.seed == 7 and score.source == cs.source


def test_cue_generators_are_stable_and_independent():
    assert cue_rng(3, "1M1").integers(1 << 30) == cue_rng(3, "1M1").integers(1 << 30)
    assert cue_rng(3, "1M1").integers(1 << 30) != cue_rng(3, "1M2").integers(1 << 30)


def test_editing_one_cue_leaves_the_others_alone(presets, scene_score):
    cs, score = scene_score
    moved = cs.replace_cue(replace(cs.cues[0], end_s=snap(40.0)))
    again = compose(moved, seed=7, presets=presets)
    assert again.cues[1] == score.cues[1]


def test_parts_are_layered_and_in_range(presets, scene_score):
    _, score = scene_score
    for cs in score.cues:
        p = presets[cs.cue.preset]
        assert len(cs.parts) >= 4
        assert {"pad", "bass", "pulse", "melody", "hits"} <= {part.name for part in cs.parts}
        for part in cs.parts:
            layer = p.layer(part.name)
            assert part.group == layer.group and part.program == layer.program
            assert part.is_drums == (part.name == "pulse")
            assert part.notes, part.name
            for n in part.notes:
                assert layer.low <= n.pitch <= layer.high, (part.name, n)
                assert 1 <= n.velocity <= 127
                assert n.end_s > n.start_s
                assert cs.cue.start_s - 1e-9 <= n.start_s <= cs.cue.end_s + 1e-9
                assert n.end_s <= cs.cue.end_s + cs.tail_s + 1e-9


def test_melody_rests_during_dialogue(scene_score):
    cs_, score = scene_score
    for cs in score.cues:
        melody = next(p for p in cs.parts if p.name == "melody")
        for n in melody.notes:
            for s in cs_.dialogue:
                assert not (s.start_s <= n.start_s < s.end_s), (n, s)
                assert not (n.start_s < s.start_s < n.end_s), (n, s)   # nor rings into a line


def test_pad_and_pulse_make_room_for_dialogue(scene_score):
    cs_, score = scene_score
    cue_score = score.cues[0]
    pad = next(p for p in cue_score.parts if p.name == "pad")
    pulse = next(p for p in cue_score.parts if p.name == "pulse")
    hit_times = {h.t_s for h in cue_score.cue.hits if h.scored}
    low_keys = {DRUM_NOTES[d] for d in LOW_DRUMS}
    talking = [s for s in cs_.dialogue if s.start_s < cue_score.cue.end_s]
    assert talking
    for s in talking:
        for n in pad.notes:
            if n.start_s < s.end_s and n.end_s > s.start_s:
                assert n.pitch <= SPEECH_TOP_PITCH, n
        for n in pulse.notes:
            if s.start_s <= n.start_s < s.end_s and n.start_s not in hit_times:
                assert n.pitch in low_keys, n


def test_an_accent_starts_exactly_at_every_honoured_hit(scene_score):
    _, score = scene_score
    for cs in score.cues:
        honoured = [h for h in cs.cue.hits if h.scored]
        assert honoured
        hits_part = next(p for p in cs.parts if p.name == "hits")
        pulse = next(p for p in cs.parts if p.name == "pulse")
        bass = next(p for p in cs.parts if p.name == "bass")
        for h in honoured:
            assert any(abs(n.start_s - h.t_s) < 1e-9 for n in hits_part.notes)
            assert any(abs(n.start_s - h.t_s) < 1e-9 and n.pitch == DRUM_NOTES["crash"] for n in pulse.notes)
            assert any(abs(n.start_s - h.t_s) < 1e-6 for n in bass.notes)
            assert any(abs(t - h.t_s) < 1e-6 for t, _ in cs.chords)   # the harmony moves on the hit


def test_honoured_hits_sit_on_beats_in_the_score(scene_score):
    _, score = scene_score
    for cs in score.cues:
        for hf in cs.hit_fits:
            if hf.hit.scored:
                assert_on_grid(hf, cs.tempo_map)
        assert [h.scored for h in cs.cue.hits] == [hf.hit.scored for hf in cs.hit_fits]


def test_chords_start_at_the_cue_and_end_with_a_button(presets, scene_score):
    _, score = scene_score
    for cs in score.cues:
        times = [t for t, _ in cs.chords]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert abs(times[0] - cs.cue.start_s) < 1e-9
        assert abs(times[-1] - cs.cue.end_s) < 1e-6
        p = presets[cs.cue.preset]
        assert cs.key.split()[0] in p.tonics
        tonic = cs.key.split()[0]
        assert cs.chords[-1][1] == chord_in_key(p.cadence[-1], tonic=tonic, mode=p.mode).symbol
        # The button: pad, bass and hits all strike at the cue end and ring into the tail.
        for name in ("pad", "bass", "hits"):
            part = next(x for x in cs.parts if x.name == name)
            assert any(abs(n.start_s - cs.cue.end_s) < 1e-6 for n in part.notes), name
        assert cs.tail_s >= 1.5
        # Bar lines: chords change on bar lines or on honoured hits (and the first one at
        # the cue start, which after a pickup is not a bar line).
        hit_beats = {hf.beat for hf in cs.hit_fits if hf.hit.scored}
        for t, _ in cs.chords[1:-1]:
            beat = cs.tempo_map.s_to_beat(t)
            assert abs(beat - round(beat)) < 1e-6 or beat in hit_beats
            assert round(beat) % cs.tempo_map.beats_per_bar == 0 or beat in hit_beats


@pytest.mark.parametrize("name", ["tension", "action", "melancholy", "wonder", "warmth", "ambient_drone",
                                  "romance", "triumphant", "noir", "horror", "comedy"])
def test_every_preset_composes(presets, name):
    cs = _scene()
    score = compose(cs, seed=1, presets=presets, preset_override=name)
    for c in score.cues:
        assert c.cue.preset == name      # the cue says which preset its music uses
        p = presets[name]
        assert c.tempo_map.beats_per_bar in (p.beats_per_bar, *p.alt_meters)
        for part in c.parts:
            layer = p.layer(part.name)
            assert part.program == layer.program
            assert all(layer.low <= n.pitch <= layer.high for n in part.notes)
        for seg in c.tempo_map.segments:
            assert p.min_bpm - 1e-6 <= seg.tempo_bpm <= p.max_bpm + 1e-6
        assert sum(len(part.notes) for part in c.parts) > 20


def test_unknown_preset_is_an_error(presets):
    cs = sheet([cue(0, 10, preset="polka")])
    with pytest.raises(PresetError, match="'polka'.*available"):
        compose(cs, presets=presets)
    with pytest.raises(PresetError, match="preset_override 'polka'"):
        compose(sheet([cue(0, 10)]), presets=presets, preset_override="polka")


def test_a_cue_without_a_preset_gets_the_nearest_mood(presets):
    c = replace(cue(0, 20), preset="", valence=presets["wonder"].valence, arousal=presets["wonder"].arousal)
    score = compose(sheet([c]), presets=presets)
    assert score.cues[0].cue.preset == "wonder"
    assert score.cues[0].tempo_map.beats_per_bar == presets["wonder"].beats_per_bar
    assert "lydian" in score.cues[0].key


def test_seed_must_be_a_non_negative_integer(presets):
    with pytest.raises(InputError):
        compose(sheet([cue(0, 10)]), seed=-1, presets=presets)
    with pytest.raises(InputError):
        compose(sheet([cue(0, 10)]), seed=1.5, presets=presets)


def test_theme_is_shared_across_cues_and_varies_with_the_seed():
    a, b = make_motif(3, 4), make_motif(3, 4)
    assert a == b and a != make_motif(4, 4)
    for motif in (a, make_motif(5, 3)):
        bar2 = 2 * motif.beats_per_bar
        for phrase in (motif.statement, motif.answer):
            assert phrase[-1].onset_beats + phrase[-1].length_beats == bar2   # fills two bars
            assert all(x.onset_beats + x.length_beats <= y.onset_beats + 1e-9
                       for x, y in zip(phrase, phrase[1:]))
        assert motif.answer[-1].degree % 7 == 0                              # closes on the tonic


def test_short_cue_still_composes(presets):
    score = compose(sheet([cue(3.0, 5.0, intensity=((3.0, 0.9), (5.0, 0.9)))]), presets=presets)
    cs = score.cues[0]
    assert len(cs.parts) >= 4 and cs.chords


def test_score_does_not_depend_on_python_hash_seed():
    import subprocess
    import sys
    code = ("import sys, hashlib; sys.path.insert(0, 'tests'); from test_compose import _scene; "
            "from scorer.compose import compose; "
            "print(hashlib.sha256(repr(compose(_scene(), seed=5)).encode()).hexdigest())")
    outs = set()
    for hash_seed in ("1", "2"):
        env = {"PYTHONHASHSEED": hash_seed, "PATH": ""}
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                             cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
        assert run.returncode == 0, run.stderr
        outs.add(run.stdout.strip())
    assert len(outs) == 1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(0.0, 30.0), st.floats(0.3, 4.0)), max_size=4),
       st.lists(st.tuples(st.floats(0.5, 29.5), st.floats(0.0, 1.0)), max_size=6),
       st.lists(st.floats(0.0, 1.0), min_size=2, max_size=6),
       st.sampled_from(["tension", "action", "melancholy", "noir", "romance", "horror"]),
       st.integers(0, 1000))
def test_any_scene_keeps_the_arranging_rules(presets, lines, raw_hits, curve, name, seed):
    start, end = snap(10.0), snap(40.0)
    dialogue = tuple(Span(snap(10.0 + a), snap(10.0 + a + d)) for a, d in lines)
    hits = sorted({hit(10.0 + t, s).frame: hit(10.0 + t, s) for t, s in raw_hits}.values(), key=lambda h: h.t_s)
    times = [start + (end - start) * k / (len(curve) - 1) for k in range(len(curve))]
    c = Cue("2M1", start, end, name, 0.0, 0.0, tuple(zip(times, curve)), tuple(hits))
    cs = compose(sheet([c], dialogue), seed=seed, presets=presets).cues[0]
    p = presets[name]
    for part in cs.parts:
        layer = p.layer(part.name)
        for n in part.notes:
            assert layer.low <= n.pitch <= layer.high and 1 <= n.velocity <= 127
            assert start - 1e-9 <= n.start_s < n.end_s <= end + cs.tail_s + 1e-9
        if part.name == "melody":
            for n in part.notes:
                assert not any(s.start_s <= n.start_s < s.end_s for s in dialogue)
    hits_part = next(x for x in cs.parts if x.name == "hits")
    for hf in cs.hit_fits:
        if hf.hit.scored:
            assert_on_grid(hf, cs.tempo_map)
            assert any(abs(n.start_s - hf.hit.t_s) < 1e-9 for n in hits_part.notes)


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001),
                                 Fraction(50), Fraction(60000, 1001)])
@pytest.mark.parametrize("name", ["tension", "action", "melancholy", "ambient_drone", "comedy", "triumphant"])
def test_hits_on_a_known_grid_land_on_beats_and_the_strongest_on_downbeats(presets, fps, name):
    """Hits placed (to the frame) on the bars and beats of a tempo inside the preset's
    range: every one is honoured, the strong ones on downbeats, and the map stays smooth."""
    p = presets[name]
    tempo = p.min_bpm + 0.37 * (p.max_bpm - p.min_bpm)
    beat_s = 60.0 / tempo
    bpb = p.beats_per_bar
    start = frame_to_s(nearest_frame(3.0, fps), fps)
    spec = [(2 * bpb, 1.0), (3 * bpb + 1, 0.4), (5 * bpb, 0.9), (6 * bpb + 2, 0.3), (8 * bpb, 0.95)]
    hits = []
    for beat, strength in spec:
        f = nearest_frame(start + beat * beat_s, fps)
        hits.append(Hit(frame_to_s(f, fps), f, strength, "cut", True))
    end_f = nearest_frame(start + 10 * bpb * beat_s, fps)
    c = Cue("1M1", start, frame_to_s(end_f, fps), name, 0.0, 0.0, ((start, 0.5),), tuple(hits))
    fit = fit_tempo(c, preset=p, fps=fps)
    assert all(hf.hit.scored for hf in fit.hit_fits), fit.unhonoured
    for hf in fit.hit_fits:
        assert_on_grid(hf, fit.tempo_map)
        if hf.hit.strength >= 0.9:
            assert hf.on_downbeat, (hf, fit.tempo_map)
    assert_tempo_limits(fit, p.min_bpm, p.max_bpm)


def test_a_strong_hit_gets_a_riser_or_a_fill_unless_someone_speaks(presets):
    c = cue(0.0, 30.0, [hit(12.0, 0.95)], preset="tension", intensity=((0.0, 0.5), (30.0, 0.5)))
    cs = compose(sheet([c]), seed=1, presets=presets).cues[0]
    h = next(hf for hf in cs.hit_fits if hf.hit.scored)
    t_from = cs.tempo_map.beat_to_s(h.beat - 2)
    pulse = next(p for p in cs.parts if p.name == "pulse")
    swell = [n for n in pulse.notes if t_from - 1e-6 <= n.start_s < h.hit.t_s and n.pitch == DRUM_NOTES["ride"]]
    assert len(swell) >= 5
    assert [n.velocity for n in swell] == sorted(n.velocity for n in swell)     # it swells
    talked = compose(sheet([c], (Span(snap(t_from - 0.1), snap(12.5)),)), seed=1, presets=presets).cues[0]
    pulse = next(p for p in talked.parts if p.name == "pulse")
    assert not [n for n in pulse.notes if t_from <= n.start_s < h.hit.t_s and n.pitch == DRUM_NOTES["ride"]]


def test_a_pickup_puts_strong_hits_on_downbeats_and_everything_follows_it(presets, tmp_path):
    """Strong hits two beats after each bar line of a 100 BPM grid from the cue start: a
    two-beat pickup puts every one on a downbeat. The score, the MIDI meters and the lead
    sheet all start with that pickup bar."""

    from scorer.deliver.midi import build_midi
    from scorer.deliver.notation import leadsheet_musicxml

    p = presets["tension"]
    beat_s = 60.0 / 100.0
    hits = [hit(2.0 + (2 + 4 * k) * beat_s, 0.95) for k in range(4)]
    c = cue(2.0, 2.0 + 20 * beat_s, hits, preset="tension")
    fit = fit_tempo(c, preset=p, fps=FPS)
    plain = fit_tempo(c, preset=p, fps=FPS, allow_pickup=False)
    assert fit.alternatives[0].pickup_beats == 2
    assert fit.tempo_map.segments[0].start_beat == -2.0
    assert all(hf.on_downbeat for hf in fit.hit_fits)
    assert sum(hf.on_downbeat for hf in plain.hit_fits) < len(hits)
    score = compose(sheet([c]), seed=4, presets=presets)
    cs = score.cues[0]
    assert all(hf.on_downbeat for hf in cs.hit_fits if hf.hit.scored)
    assert abs(cs.chords[0][0] - cs.cue.start_s) < 1e-9
    for part in cs.parts:
        assert all(n.start_s >= cs.cue.start_s - 1e-9 for n in part.notes), part.name
    mid = build_midi(score)
    t, sigs = 0, []
    for m in mid.tracks[0]:
        t += m.time
        if m.type == "time_signature":
            sigs.append((t, m.numerator))
    # A bar of filler before the cue, the 2/4 pickup bar, then the cue's 4/4 bars (its
    # last bar as long as the music makes it).
    ns = [n for _, n in sigs]
    i = ns.index(2)
    assert ns[i:i + 2] == [2, 4] and sigs[i + 1][0] - sigs[i][0] == 2 * mid.ticks_per_beat
    import music21
    path = tmp_path / "lead.musicxml"
    path.write_bytes(leadsheet_musicxml(score))
    parsed = music21.converter.parse(str(path))
    ts = [(float(x.offset), x.numerator) for x in parsed.flatten().getElementsByClass(music21.meter.TimeSignature)]
    assert ts[:2] == [(0.0, 2), (2.0, 4)]


def test_the_meter_is_searched_among_the_presets_meters(presets):
    """Strong hits every three beats: the fit plays a 4/4 preset that allows 3/4 in 3/4,
    with every strong hit on a downbeat and its figures cut to the shorter bar."""
    from dataclasses import replace as _replace

    from scorer.music.presets import in_meter

    p = presets["action"]
    assert 3 in p.alt_meters and p.beats_per_bar == 4
    beat_s = 60.0 / 130.0
    hits = [hit(1.0 + 3 * k * beat_s, 0.95) for k in range(1, 8)]
    c = cue(1.0, 1.0 + 26 * beat_s, hits, preset="action")
    fit = fit_tempo(c, preset=p, fps=FPS)
    assert fit.tempo_map.beats_per_bar == 3
    assert all(hf.on_downbeat for hf in fit.hit_fits)
    only4 = fit_tempo(c, preset=_replace(p, alt_meters=()), fps=FPS)
    assert only4.tempo_map.beats_per_bar == 4
    assert sum(hf.on_downbeat for hf in only4.hit_fits) < len(hits)
    waltz = in_meter(p, 3)
    steps = 3 * p.steps_per_beat
    for band, orig in ((waltz.low, p.low), (waltz.mid, p.mid), (waltz.high, p.high)):
        assert band.bass == orig.bass[:steps] and all(len(x) == steps for _, x in band.pulse)
    cs = compose(sheet([c]), seed=2, presets=presets).cues[0]
    assert cs.tempo_map.beats_per_bar == 3 and cs.cue.preset == "action"
