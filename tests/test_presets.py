"""Presets: every shipped preset loads and is usable; broken files fail naming file and field."""
from __future__ import annotations

from pathlib import Path

import pytest

from scorer.compose.harmony import chord_in_key
from scorer.music.presets import (DEFAULT_FX, DRUM_NOTES, GROUPS, LAYER_ROLES, Ambience, Preset, choose_preset,
                                    default_directory, load_preset_file, load_presets)
from scorer.errors import InputError, PresetError

REPO_PRESETS = Path(__file__).resolve().parent.parent / "presets"
REQUIRED = ("tension", "action", "melancholy", "wonder", "warmth", "ambient_drone", "romance",
            "triumphant", "noir", "horror")


@pytest.fixture(scope="module")
def presets() -> dict[str, Preset]:
    return load_presets()


def test_default_directory_is_the_repository_presets_folder():
    # Package data scorer/presets: in a checkout a link to the repository's presets/.
    assert default_directory().resolve() == REPO_PRESETS.resolve()


def test_every_required_preset_is_shipped_and_loads(presets):
    assert set(REQUIRED) <= set(presets)
    assert len(presets) >= 10
    for name, p in presets.items():
        assert p.name == name
        assert Path(p.path).name == f"{name}.toml"


def test_presets_are_complete_and_in_range(presets):
    for p in presets.values():
        assert p.description and p.prompt
        assert -1 <= p.valence <= 1 and -1 <= p.arousal <= 1
        assert 30 <= p.min_bpm < p.max_bpm <= 240
        assert 2 <= p.beats_per_bar <= 7
        for role in LAYER_ROLES:
            assert p.layer(role) is not None, (p.name, role)
        for layer in p.layers:
            assert 0 <= layer.program <= 127
            assert layer.group in GROUPS
            assert 0 <= layer.low < layer.high <= 127
            assert 1 <= layer.velocity <= 127
            assert layer.drums == (layer.name == "pulse")
        steps = p.beats_per_bar * p.steps_per_beat
        for band in (p.low, p.mid, p.high):
            assert len(band.bass) == steps
            assert band.ostinato == "" or len(band.ostinato) == steps
            for drum, pattern in band.pulse:
                assert drum in DRUM_NOTES and len(pattern) == steps


def test_every_numeral_names_a_chord_in_every_tonic(presets):
    for p in presets.values():
        for tonic in p.tonics:
            for prog in p.progressions + (p.cadence,):
                for numeral in prog:
                    spec = chord_in_key(numeral, tonic=tonic, mode=p.mode)
                    assert len(spec.pcs) >= 3 and spec.symbol


def test_cadences_end_on_the_tonic(presets):
    for p in presets.values():
        final = chord_in_key(p.cadence[-1], tonic=p.tonics[0], mode=p.mode)
        assert final.root_pc == chord_in_key("i", tonic=p.tonics[0], mode=p.mode).root_pc, p.name


def test_choose_preset_returns_the_nearest_mood_centre(presets):
    for p in presets.values():
        assert choose_preset(p.valence, p.arousal, presets) == p.name
    assert choose_preset(-1.0, 1.0, presets) in ("action", "horror", "tension")
    assert choose_preset(1.0, -1.0, presets) in ("warmth", "romance")


def test_choose_preset_refuses_bad_input(presets):
    with pytest.raises(InputError, match="valence"):
        choose_preset(2.0, 0.0, presets)
    with pytest.raises(PresetError):
        choose_preset(0.0, 0.0, {})


# --- broken files -------------------------------------------------------------------------------

def _broken(tmp_path: Path, old: str, new: str, name: str = "noir") -> Path:
    text = (REPO_PRESETS / f"{name}.toml").read_text()
    assert old in text, old
    path = tmp_path / f"{name}.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_missing_field_names_file_and_field(tmp_path):
    path = _broken(tmp_path, "min_bpm = 66\n", "")
    with pytest.raises(PresetError) as e:
        load_preset_file(path)
    assert str(path) in str(e.value) and "tempo.min_bpm" in str(e.value)


def test_wrong_type_names_file_and_field(tmp_path):
    path = _broken(tmp_path, "program = 32\n", 'program = "upright bass"\n')
    with pytest.raises(PresetError) as e:
        load_preset_file(path)
    msg = str(e.value)
    assert str(path) in msg and "layers.bass.program" in msg and "integer" in msg


def test_out_of_range_value_names_file_field_and_range(tmp_path):
    path = _broken(tmp_path, "program = 32\n", "program = 200\n")
    with pytest.raises(PresetError) as e:
        load_preset_file(path)
    line = _line_of(path, "program = 200")
    assert f"{path}, line {line}: layers.bass.program = 200 is outside 0..127" == str(e.value)


def _line_of(path, text):
    return next(i for i, t in enumerate(path.read_text().splitlines(), start=1) if t.startswith(text))


@pytest.mark.parametrize("old,new,needle", [
    pytest.param("[layers.hits]", "[layers.hitz]",
                 "layers.hitz", id="missing_layer_names_it"),
    pytest.param("beats_per_bar = 4", "beats_per_bar = true",
                 "tempo.beats_per_bar must be an integer", id="bool_is_not_an_integer"),
    pytest.param("max_bpm = 88", "max_bpm = 88\nmax_bmp = 90",
                 "unknown field 'tempo.max_bmp'", id="unknown_field_is_refused"),
    pytest.param('["i", "VI7", "iiø7", "V7"]', '["i", "VI7", "XI", "V7"]',
                 r"harmony.progressions\[1\].*'XI'", id="bad_numeral_names_the_progression"),
    pytest.param('bass = "1-3-5-3-"', 'bass = "1-3-5-3"',
                 "rhythm.mid.bass .* has 7 steps; one bar is 8", id="pattern_of_the_wrong_length_names_the_band"),
    pytest.param('ride = "x.x.x.x."', 'cowbel = "x.x.x.x."',
                 "rhythm.mid.pulse.cowbel is not a drum name", id="unknown_drum_is_refused"),
    pytest.param('play = ["pad", "bass", "ostinato"]', 'play = ["pad", "bass", "choir"]',
                 "rhythm.low.play names 'choir'", id="play_must_name_a_layer"),
    pytest.param("low = 49\nhigh = 81", "low = 70\nhigh = 78",
                 "layers.melody.low..high = 70..78 spans less than an octave", id="range_narrower_than_an_octave_is_refused"),
    pytest.param('name = "noir"', 'name = "noire"',
                 "differs from the file name", id="name_must_match_file"),
    pytest.param("[layers.pad]", "[fx.brass]\nsend_db = 9\n\n[layers.pad]",
                 "fx.brass.send_db = 9 is outside -60..6", id="fx_out_of_range"),
    pytest.param("[layers.pad]", "[fx.brass]\nwet = 0.3\n\n[layers.pad]",
                 "fx.brass.wet is gone: every stem now plays in the score's one hall; set fx.brass.send_db",
                 id="fx_retired_reverb_key"),
    pytest.param("[layers.pad]", "[fx.kazoo]\nwet = 0.5\n\n[layers.pad]",
                 "unknown field 'fx.kazoo'", id="fx_of_an_unknown_group"),
    pytest.param("[layers.pad]", "[fx.strings]\nreverb = 0.5\n\n[layers.pad]",
                 "unknown field 'fx.strings.reverb'", id="fx_unknown_setting"),
    pytest.param('beds = ["rain", "city"]', 'beds = ["rain", "jungle"]',
                 "ambience.beds has 'jungle'", id="ambience_unknown_bed"),
    pytest.param("level_db = -32", "level_db = -3",
                 "ambience.level_db = -3 is outside -60..-12", id="ambience_too_loud"),
])
def test_broken_preset_names_file_and_field(tmp_path, old, new, needle):
    path = _broken(tmp_path, old, new)
    with pytest.raises(PresetError, match=needle) as e:
        load_preset_file(path)
    assert str(path) in str(e.value)
    # …and the line: the one holding the field (or its table) the message names.
    if "line " in str(e.value):
        n = int(str(e.value).split("line ", 1)[1].split(":", 1)[0])
        field_line = path.read_text().splitlines()[n - 1]
        assert field_line.strip(), str(e.value)


@pytest.mark.parametrize("old,new,field_line", [
    ("max_bpm = 88", "max_bpm = 400", "max_bpm = 400"),
    ('bass = "1-3-5-3-"', 'bass = "1-3-5-3"', 'bass = "1-3-5-3"'),
    ('["i", "VI7", "iiø7", "V7"]', '["i", "VI7", "XI", "V7"]', '    ["i", "VI7", "XI", "V7"],'),
    ('snare = "...o..o."', 'snare = "...o..q."', 'snare = "...o..q."'),
])
def test_errors_name_the_line_of_the_field(tmp_path, old, new, field_line):
    path = _broken(tmp_path, old, new)
    with pytest.raises(PresetError) as e:
        load_preset_file(path)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), start=1) if t == field_line)
    assert f"{path}, line {line}: " in str(e.value)


def test_fx_and_ambience_default_and_override(tmp_path, presets):
    path = _broken(tmp_path, "[layers.pad]", "[fx.strings]\nsend_db = -3.5\n\n[layers.pad]")
    p = load_preset_file(path)
    assert p.stem_fx("strings").send_db == -3.5
    assert p.stem_fx("strings").highpass_hz == DEFAULT_FX["strings"].highpass_hz  # the rest default
    assert p.stem_fx("brass") == DEFAULT_FX["brass"]
    assert p.stem_fx("keys").high_shelf_db == -3.0                                # noir's own
    assert p.ambience.beds == ("rain", "city") and p.ambience.level_db == -32
    # A preset without [ambience] gets a quiet room tone.
    text = (REPO_PRESETS / "noir.toml").read_text()
    bare = tmp_path / "bare" / "noir.toml"
    bare.parent.mkdir()
    bare.write_text(text[:text.index("# Sound-design bed")])
    assert load_preset_file(bare).ambience == Ambience()
    for q in presets.values():
        assert q.ambience.beds and q.ambience.prompt
        for group in GROUPS + ("ambience",):
            fx = q.stem_fx(group)
            assert -60 <= fx.send_db <= 6 and fx.comp_ratio >= 1


def test_toml_syntax_error_names_file_and_line(tmp_path):
    text = (REPO_PRESETS / "noir.toml").read_text().splitlines()
    line = next(i for i, t in enumerate(text) if t.startswith("min_bpm"))
    text[line] = "min_bpm = = 66"
    path = tmp_path / "noir.toml"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(PresetError) as e:
        load_preset_file(path)
    msg = str(e.value)
    assert str(path) in msg and "TOML syntax error" in msg and f"line {line + 1}" in msg


def test_load_presets_stops_at_the_first_broken_file(tmp_path):
    text = (REPO_PRESETS / "noir.toml").read_text()
    head, bass = text.split("[layers.bass]", 1)
    old = next(line for line in bass.splitlines() if line.startswith("velocity = "))
    (tmp_path / "noir.toml").write_text(head + "[layers.bass]" + bass.replace(old, "velocity = 0", 1))
    (tmp_path / "tension.toml").write_text((REPO_PRESETS / "tension.toml").read_text())
    with pytest.raises(PresetError, match=r"noir.toml, line \d+: layers.bass.velocity = 0 is outside 1..127"):
        load_presets(tmp_path)


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(PresetError, match="preset folder not found"):
        load_presets(tmp_path / "nope")
    with pytest.raises(PresetError, match="no \\*.toml presets"):
        load_presets(tmp_path)


def test_missing_file_is_a_preset_error(tmp_path):
    with pytest.raises(PresetError, match="cannot read preset"):
        load_preset_file(tmp_path / "ghost.toml")
