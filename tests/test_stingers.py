"""Hits that hit: every scored hit is a stinger — the kit's bass drum and cymbals, a low hit,
a stab, a riser landing on a strong hit — and the arrangement rests before it, so the
rendered music stands at least 8 dB over the half second before each scored hit
(scorer.deliver.measure.accent_db), strong or weak, loud or quiet, with a line spoken
over it or not. Short generated cues, rendered once with the SoundFont backend and mixed
(the music mix: no production sound, so nothing is ducked)."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from test_compose import cue, hit, sheet
import scorer
from scorer.compose import compose, load_presets
from scorer.compose.arrange import SPEECH_TOP_PITCH, stab_voicing
from scorer.deliver.measure import accent_db
from scorer.errors import PresetError
from scorer.io.clipstore import ClipStore
from scorer.mix import mix
from scorer.music import DRUM_NOTES
from scorer.music.presets import load_preset_file, riser_kind
from scorer.timebase import SAMPLE_RATE
from scorer.types import EXPRESSION, Span

PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"
ACCENT_DB = 8.0
CUE_S, GAP_S = 11.0, 6.0
STRONG, WEAK = 0.9, 0.45
CYMBALS = {DRUM_NOTES[d] for d in ("crash", "crash2", "china", "splash")}
# (preset, intensity from → to, line over the weak hit): action and horror loud and
# quiet, the warm and the funny ones, and hits under a line.
CASES = (("action", 0.6, 0.9, False), ("horror", 0.2, 0.35, False), ("romance", 0.5, 0.7, False),
         ("comedy", 0.5, 0.8, False), ("warmth", 0.5, 0.7, True), ("tension", 0.5, 0.8, True))


def _sheet():
    cues, lines, t = [], [], 2.0
    for k, (name, i0, i1, talk) in enumerate(CASES):
        cues.append(cue(t, t + CUE_S, [hit(t + 5.0, STRONG), hit(t + 8.0, WEAK)], preset=name,
                        cid=f"{k + 1}M1", intensity=((t, i0), (t + CUE_S, i1))))
        if talk:
            lines.append(Span(t + 7.2, t + 9.0))
        t += CUE_S + GAP_S
    return sheet(cues, dialogue=tuple(lines), duration_s=t)


@pytest.fixture(scope="module")
def presets():
    return load_presets()


@pytest.fixture(scope="module")
def scored(presets):
    s = _sheet()
    return s, compose(s, seed=3, presets=presets)


@pytest.fixture(scope="module")
def music(scored, presets, tmp_path_factory):
    s, score = scored
    store = ClipStore(tmp_path_factory.mktemp("stingers"))
    try:
        stems = scorer.render(score, store=store, presets=presets, workers=1)
        yield np.concatenate(list(mix(stems, s).music_blocks()), axis=1)
    finally:
        store.close()


def _honoured(cs):
    return [hf for hf in cs.hit_fits if hf.hit.scored]


def _part(cs, name):
    return next((p for p in cs.parts if p.name == name), None)


def _talking(s, t0, t1=None):
    t1 = t0 if t1 is None else t1
    return any(sp.start_s <= t1 and t0 < sp.end_s for sp in s.dialogue)


def test_accent_db_measures_the_half_second_before_against_the_150_ms_after():
    sr = 1000
    x = np.full((2, 2000), 0.01)
    x[:, 1000:1150] = 0.1                           # 20 dB up for exactly the window after
    assert accent_db(x, sr, 1.0) == pytest.approx(20.0)
    assert accent_db(x[0], sr, 1.0) == pytest.approx(20.0)        # mono alike
    x[:, 500:1000] = 0.0
    assert accent_db(x, sr, 1.0) == math.inf                      # out of silence
    # A longer look back reaches the level before the silence: 0.1 s of it in 0.6 s.
    assert accent_db(x, sr, 1.0, before_s=0.6) == pytest.approx(10 * math.log10(0.01 / (1e-4 / 6)))
    with pytest.raises(ValueError):
        accent_db(x, sr, 5.0)


def test_every_scored_hit_stands_8_db_over_the_half_second_before(scored, music):
    _, score = scored
    got = {}
    for cs in score.cues:
        for hf in _honoured(cs):
            got[(cs.cue.preset, hf.hit.strength)] = round(accent_db(music, SAMPLE_RATE, hf.hit.t_s), 2)
    assert len(got) == 2 * len(CASES), got              # every hit honoured
    assert min(got.values()) >= ACCENT_DB, got


def test_every_hit_is_layered_low_hit_cymbal_and_stab(scored, presets):
    s, score = scored
    for cs in score.cues:
        pulse, low, stab, hits = (_part(cs, n) for n in ("pulse", "low_hit", "stab", "hits"))
        for hf in _honoured(cs):
            t = hf.hit.t_s
            at = lambda part: [n for n in part.notes if abs(n.start_s - t) < 1e-9]  # noqa: E731
            kit = {n.pitch for n in at(pulse)}
            assert DRUM_NOTES["kick"] in kit and kit & CYMBALS, (cs.cue.preset, t, kit)
            assert at(hits) and at(low), (cs.cue.preset, t)
            assert max(n.pitch for n in at(low)) <= 55                  # a low hit
            chord = at(stab)
            if _talking(s, t, t + 0.35):                                # under a line: below the voice
                assert all(n.pitch <= SPEECH_TOP_PITCH for n in chord), chord
            else:
                # A full chord (every tone of a triad at least), five voices or more on a
                # strong hit unless the tune sits low over it (the stab stays under it).
                assert len({n.pitch % 12 for n in chord}) >= 3, (cs.cue.preset, t, chord)
                tune = [n.pitch for n in _part(cs, "melody").notes if n.start_s <= t < n.end_s]
                if hf.hit.strength >= 0.6 and not tune:
                    assert len(chord) >= 5, (cs.cue.preset, t, chord)
                assert max(n.end_s - n.start_s for n in chord) <= 0.35 + 1e-9   # short: a stab
            if hf.hit.strength >= 0.6 and not _talking(s, t):
                # A strong hit gets every cymbal the preset names, the crash among them.
                want = {DRUM_NOTES[d] for d in presets[cs.cue.preset].stinger.cymbals} | {DRUM_NOTES["crash"]}
                assert want <= kit, (cs.cue.preset, t, kit)


def test_a_riser_lands_on_every_strong_hit_unless_someone_speaks(scored, presets):
    s, score = scored
    kinds = set()
    for cs in score.cues:
        riser = _part(cs, "riser")
        p = presets[cs.cue.preset]
        for hf in _honoured(cs):
            t = hf.hit.t_s
            lead = [n for n in (riser.notes if riser else ()) if t - 2.5 < n.start_s < t]
            if hf.hit.strength < 0.6:
                assert not lead, (cs.cue.preset, t)                     # a weak hit: no riser
                continue
            stop_bar = cs.tempo_map.beat_to_s(hf.beat - cs.tempo_map.beats_per_bar)
            if _talking(s, t - 2.5, t) or ("stop_time" in dict(cs.idioms)["pulse"].split("/")[0]
                                           and not _talking(s, stop_bar, t)):
                assert not lead       # nothing over a line; a stop-time bar is its own lead-in
                continue
            kinds.add(riser_kind(p.layer("riser").program))
            assert lead, (cs.cue.preset, t)
            assert min(n.start_s for n in lead) <= t - 0.5              # it rises through the rest…
            assert t - 0.15 <= max(n.end_s for n in lead) <= t + 0.2    # …and ends on the hit
            assert all(n.start_s < t for n in lead)
    assert {"reverse_cymbal", "glissando", "swell", "roll"} <= kinds, kinds


def test_nothing_but_the_riser_sounds_in_the_rest_before_a_hit(scored, presets):
    """In the preset's room_s before a hit no part but the riser (and the kit's own roll
    into a strong hit) starts a note or holds one, and the sustained parts' expression is
    down there and back on the hit."""
    _, score = scored
    checked = 0
    for cs in score.cues:
        p = presets[cs.cue.preset]
        roll = {DRUM_NOTES[p.stinger.kit_roll]} if p.stinger.kit_roll != "none" else set()
        for hf in _honoured(cs):
            t = hf.hit.t_s
            r0 = t - p.stinger.room_s + 1e-6
            for part in cs.parts:
                if part.name == "riser":
                    continue
                for n in part.notes:
                    if part.is_drums and n.pitch in roll and hf.hit.strength >= 0.8:
                        continue
                    assert not (r0 <= n.start_s < t), (cs.cue.preset, part.name, t, n)
                    if not part.is_drums:
                        assert not (n.start_s < r0 and n.end_s > r0 + 1e-6), (cs.cue.preset, part.name, t, n)
            pad = _part(cs, "pad")
            curve = [(c.t_s, c.value) for c in pad.controls if c.number == EXPRESSION]
            in_rest = [v for ts, v in curve if r0 + 0.06 <= ts < t]
            value_at = lambda x: [v for ts, v in curve if ts <= x + 1e-9][-1]  # noqa: E731
            assert value_at(t - 0.1) <= 20 and value_at(t) >= 84, (cs.cue.preset, t, in_rest)
            checked += 1
    assert checked == 2 * len(CASES)


def test_stingers_leave_the_sync_and_the_tempo_alone(scored, presets):
    """The stinger changes what is played, never when: the tempo map and hit beats are the
    fit's, and every hit's accent starts on its exact sample."""
    from scorer.compose.tempo import fit_tempo
    s, score = scored
    for cs, c in zip(score.cues, s.cues):
        fit = fit_tempo(c, preset=presets[c.preset], fps=s.source.fps)
        assert cs.tempo_map == fit.tempo_map and cs.hit_fits == fit.hit_fits
        for hf in _honoured(cs):
            starts = {n.start_s for part in cs.parts for n in part.notes}
            assert hf.hit.t_s in starts


def test_a_stab_is_a_full_chord_spaced_wide_at_the_bottom():
    # D minor on brass 46..79: root, fifth and octave low, third and fifth close on top.
    assert stab_voicing((2, 5, 9), 46, 79, n_voices=6) == [50, 57, 62, 65, 69, 74]
    assert stab_voicing((2, 5, 9), 46, 79, n_voices=3) == [50, 57, 62]
    # Under a low ceiling the third fills in below it: still the whole chord.
    assert stab_voicing((2, 5, 9), 46, 79, n_voices=6, max_top=SPEECH_TOP_PITCH) == [50, 53, 57, 62]


def test_the_rests_other_sounds_can_share_are_the_arrangements(scored, presets):
    """stinger_rests(cue score, preset) — for a bed or an effect to make the same room —
    names the very rests the parts leave: none shorter than the preset's room_s, and no
    part but the riser (and the kit's roll) starts in one."""
    from scorer.compose.arrange import stinger_rests
    _, score = scored
    for cs in score.cues:
        p = presets[cs.cue.preset]
        rests = stinger_rests(cs, p)
        assert [t for _, t in rests] == [hf.hit.t_s for hf in _honoured(cs)]
        roll = {DRUM_NOTES[p.stinger.kit_roll]} if p.stinger.kit_roll != "none" else set()
        for r0, t in rests:
            assert t - r0 >= p.stinger.room_s - 1e-9
            starts = [(part.name, n) for part in cs.parts if part.name != "riser" for n in part.notes
                      if r0 <= n.start_s < t and not (part.is_drums and n.pitch in roll)]
            assert not starts, (cs.cue.preset, t, starts[:3])


def test_a_preset_without_stinger_layers_still_makes_its_hits_events(tmp_path, presets):
    """A user's preset from before stingers (no [stinger], no stinger layers) composes: the
    kit, the hits layer and the rest still make the accent; there is simply no stab, low
    hit or riser part."""
    text = (PRESETS_DIR / "noir.toml").read_text()
    head, rest = text.split("# Every scored hit is a stinger", 1)
    bare = head + "[rhythm]" + rest.split("\n[rhythm]", 1)[1]
    path = tmp_path / "noir.toml"
    path.write_text(bare)
    old = load_preset_file(path)
    assert old.layer("stab") is None and old.stinger == type(old.stinger)()
    s = sheet([cue(1.0, 12.0, [hit(6.0, STRONG)], preset="noir")], duration_s=20.0)
    cs = compose(s, seed=1, presets={**presets, "noir": old}).cues[0]
    assert not {"low_hit", "stab", "riser"} & {p.name for p in cs.parts}
    t = _honoured(cs)[0].hit.t_s
    kit = {n.pitch for n in _part(cs, "pulse").notes if abs(n.start_s - t) < 1e-9}
    assert {DRUM_NOTES["kick"], DRUM_NOTES["crash"]} <= kit
    assert not [n for p in cs.parts for n in p.notes if t - old.stinger.room_s <= n.start_s < t]


@pytest.mark.parametrize("old,new,needle", [
    ('cymbals = ["crash"]', 'cymbals = ["gong"]', "stinger.cymbals has 'gong'"),
    ("room_s = 0.5", "room_s = 3.0", "stinger.room_s = 3.0 is outside"),
    ('kit_roll = "ride"', 'kit_roll = "cowbell"', "stinger.kit_roll = 'cowbell' is not one of"),
    ("[stinger]\n", "[stinger]\nswell = true\n", "unknown field 'stinger.swell'"),
    ('play = ["pad", "bass", "ostinato"]', 'play = ["pad", "bass", "stab"]', "play names 'stab'"),
])
def test_a_broken_stinger_names_the_field(tmp_path, old, new, needle):
    text = (PRESETS_DIR / "noir.toml").read_text()
    assert old in text, old
    path = tmp_path / "noir.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(PresetError, match=re.escape(needle)):
        load_preset_file(path)
