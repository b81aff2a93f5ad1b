"""One ScoreSettings for every front end: its persisted form, the forms people write, and
the CLI's `score`, `project new` and `project export` reaching the same fields."""
import csv
import json
import subprocess
import sys
import zipfile

import pytest

from media import make_cut
from scorer import studio
from scorer.errors import InputError
from scorer.mix.duck import Ducking
from scorer.project import Project
from scorer.settings import SETTINGS_SCHEMA, NeuralOptions, ScoreSettings


def _every_field_set(tmp_path) -> ScoreSettings:
    return ScoreSettings(timeline=str(tmp_path / "cut.edl"), notes=str(tmp_path / "notes.txt"), seed=7,
                         preset="noir", theme=str(tmp_path / "theme.mid"), motifs={"threat": str(tmp_path / "t.mid")},
                         cue_motifs={"1M2": "threat"}, backend="soundfont", backend_by_cue={"1M3": "musicgen"},
                         ambience="none", soundfont=str(tmp_path / "my.sf2"),
                         neural=NeuralOptions(model="facebook/musicgen-small", device="cpu", prompt="low strings"),
                         spec="web", ducking=Ducking(under_db=14.0, max_depth_db=-20.0, attack_s=0.3),
                         crossfade_s=0.4, project="Reel 2", per_cue_stems=True, click=True, burn_in=True,
                         preview=False)


def test_settings_round_trip_through_json(tmp_path):
    s = _every_field_set(tmp_path)
    d = json.loads(json.dumps(s.to_dict()))
    assert d["schema"] == SETTINGS_SCHEMA and d["backend_by_cue"] == {"1M3": "musicgen"}
    assert ScoreSettings.from_dict(d) == s
    assert ScoreSettings.from_dict(ScoreSettings().to_dict()) == ScoreSettings()


def test_a_stored_settings_file_is_read_strictly():
    d = ScoreSettings().to_dict()
    with pytest.raises(InputError, match="unknown settings loudness"):
        ScoreSettings.from_dict({**d, "loudness": "ebu"}, where="settings.json")
    with pytest.raises(InputError, match="'ScoreSettings.9', newer than this scorer reads"):
        ScoreSettings.from_dict({**d, "schema": "ScoreSettings.9"})


def test_the_forms_people_write():
    s = ScoreSettings().with_(ambience=False, model_path="/w", seed=3, backend_by_cue={"1M2": "musicgen"})
    assert s.ambience == "none" and s.neural.model_path == "/w" and s.seed == 3
    assert s.backend_by_cue == (("1M2", "musicgen"),) and s.backends() == {"soundfont", "musicgen"}
    assert s.render_options() == {"musicgen": {"model_path": "/w"}}
    assert ScoreSettings().with_(layers=("audiogen",)).layers == ("audiogen",)
    with pytest.raises(TypeError, match="no field loudness"):
        ScoreSettings().with_(loudness="ebu")
    for bad in (dict(ambience="rain"), dict(crossfade_s=-1.0), dict(seed=1.5)):
        with pytest.raises(InputError):
            ScoreSettings(**bad)
    with pytest.raises(InputError, match="device must be one of cpu, cuda, mps"):
        NeuralOptions(device="tpu")


def test_resolved_names_every_file_by_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = ScoreSettings(notes="notes.txt", preset="mine.toml", motifs={"a": "a.mid"}).resolved()
    assert s.notes == str(tmp_path / "notes.txt") and s.preset == str(tmp_path / "mine.toml")
    assert dict(s.motifs) == {"a": str(tmp_path / "a.mid")}
    assert ScoreSettings(preset="noir").resolved().preset == "noir"     # a shipped name stays a name


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "scorer.cli", *map(str, args)], capture_output=True, text=True)


def test_a_project_keeps_its_settings_and_its_exports_deliver_by_them(tmp_path):
    cut = tmp_path / "cut.mp4"
    make_cut(cut, shot_frames=(96, 72, 120), speech_at=((3.0, "Where were you last night?"),))
    notes = tmp_path / "notes.txt"
    notes.write_text("00:00:04:00 tense, building\n")
    folder = tmp_path / "proj"
    r = _cli("project", "new", folder, cut, "--seed", "5", "--notes", notes, "--spec", "web", "--click",
             "--under-dialogue-db", "14", "-q")
    assert r.returncode == 0, r.stderr
    p = Project.open(folder)
    kept = studio.project_settings(p)
    assert (kept.seed, kept.spec, kept.click, kept.notes) == (5, "web", True, str(notes))
    assert kept.ducking.under_db == 14.0 and kept.ducking.band_db == (10.0, 15.0)
    assert studio.Composer(p).base().cues[0].cue.id == p.cue_sheet().cues[0].id
    p.close()

    # A review note travels with the delivery, into the tools the composer works in.
    first = Project.open(folder).cue_sheet().cues[0]
    r = _cli("project", "note", folder, first.id, "00:00:02:00", "<b>less</b> strings here", "--author", "Director")
    assert r.returncode == 0, r.stderr

    # The export delivers by the project's settings; an option given to it changes that
    # export only.
    z = tmp_path / "a.zip"
    r = _cli("project", "export", folder, "-o", z, "--no-preview", "--crossfade-ms", "300", "-q")
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(z) as zf:
        names = zf.namelist()
        delivered = json.loads(zf.read(next(n for n in names if n.endswith("/settings.json"))))
        report = json.loads(zf.read(next(n for n in names if n.endswith("/report.json"))))
    assert delivered["seed"] == 5 and delivered["spec"] == "web" and delivered["click"] is True
    assert delivered["crossfade_s"] == 0.3 and delivered["preview"] is False
    assert report["loudness"]["spec"] == "web"
    assert any(n.endswith("_Click_v01.wav") for n in names) and not any(n.endswith("preview.mp4") for n in names)
    with zipfile.ZipFile(z) as zf:
        zf.extractall(tmp_path / "x")
    out = next((tmp_path / "x").iterdir())
    said = "[00:00:02:00 Director] <b>less</b> strings here"
    rows = list(csv.DictReader((out / "cuesheet.csv").open()))
    assert said in next(r for r in rows if r["cue"] == first.id)["notes"]
    assert json.loads((out / "notes.json").read_text())["notes"][0]["text"] == "<b>less</b> strings here"
    import mido
    import opentimelineio as otio
    markers = [m.text for t in mido.MidiFile(out / "score.mid").tracks for m in t if m.type == "marker"]
    assert f"NOTE {first.id} 00:00:02:00 Director: <b>less</b> strings here" in markers
    tl = otio.adapters.read_from_file(str(out / "timeline.otio"))
    notes = [m for t in tl.tracks for m in t.markers if m.name.startswith("NOTE")]
    assert [m.comment for m in notes] == ["<b>less</b> strings here"]
    assert notes[0].marked_range.start_time.to_frames() == 48
    assert studio.project_settings(Project.open(folder)).crossfade_s == ScoreSettings().crossfade_s

    # An export sets how the score is mixed and delivered, not how it is composed.
    with pytest.raises(InputError, match="belong to the project's takes"):
        studio.export(Project.open(folder), tmp_path / "b.zip", seed=9)
    assert not (tmp_path / "b.zip").exists()


def test_a_project_made_before_settings_were_kept_reads_its_seed(tmp_path):
    cut = tmp_path / "cut.mp4"
    make_cut(cut, shot_frames=(48, 48))
    from scorer.types import CueSheet
    sheet = CueSheet.from_dict(json.loads(json.dumps(studio.new_project(tmp_path / "a", cut).cue_sheet().to_dict())))
    old = Project.create(tmp_path / "old", cut_path=cut, cue_sheet=sheet)
    old.set_setting("seed", "11")
    assert studio.project_settings(old) == ScoreSettings(seed=11)


def test_the_golden_settings_read_and_write_back_exactly():
    from pathlib import Path

    golden = json.loads((Path(__file__).parent / "golden" / "settings.json").read_text())
    s = ScoreSettings.from_dict(golden)
    assert s == _every_field_set(Path("/films/reel2"))
    assert json.loads(json.dumps(s.to_dict())) == golden
