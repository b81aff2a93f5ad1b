"""`scorer score` end to end on a generated cut with known cuts, clicks and speech."""
import json
import subprocess
import sys
from fractions import Fraction

import librosa
import numpy as np
import pytest

from scorer.compose.tempo import STRONG_STRENGTH
import soundfile as sf

import scorer
from media import BAD_INPUTS, make_cut
from scorer.compose import compose
from scorer.deliver.midi import midi_bytes
from scorer.pipeline import load_cue_sheet
from scorer.types import CueSheet, TempoMap, TempoSegment

OUTPUTS = ("cues.json", "cuesheet.csv", "score.mid", "theme.musicxml", "leadsheet.musicxml", "mix.wav",
           "preview.mp4", "report.json")


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    d = tmp_path_factory.mktemp("score")
    cut = d / "cut.mp4"
    # Slow shots, then fast cutting with clicks on two cuts, then a long shot with a line.
    truth = make_cut(cut, shot_frames=(120, 100, 30, 26, 34, 28, 150),
                     clicks_s=(float(250 / Fraction(24000, 1001)), float(276 / Fraction(24000, 1001))),
                     speech_at=((17.0, "I told you we would make it."),))
    out = d / "out"
    report = scorer.score(cut, out, seed=1)
    return cut, truth, out, report


def test_every_output_is_written(scored):
    _, _, out, report = scored
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0, name
    files = report["files"]
    assert report["stems"] and sorted(files["stems"]) == report["stems"]
    for g, name in files["stems"].items():
        assert (out / name).exists() and name == f"stems/{files['project']}_ALL_{g.capitalize()}_v01.wav"
    assert (out / "timeline.otio").exists()
    assert len(report["stems"]) >= 4
    # The working audio (rendered clips, the cut's decoded sound) was parked next to the
    # outputs during the run and is gone after it.
    assert not [p.name for p in out.iterdir() if p.name.startswith(".scorer-audio-")]


def test_cuts_in_the_cue_sheet_are_exact(scored):
    _, truth, out, _ = scored
    sheet = load_cue_sheet(out / "cues.json")
    assert [s.start_frame for s in sheet.shots[1:]] == truth["cuts"]
    assert sheet.source.fps == Fraction(24000, 1001)
    d = json.loads((out / "cues.json").read_text())
    assert d["source"]["fps"] == "24000/1001" and d["schema"] == "CueSheet.1"
    assert [c["id"] for c in d["cues"]] == [f"1M{i + 1}" for i in range(len(d["cues"]))]


def test_cues_json_round_trips(scored):
    _, _, out, _ = scored
    d = json.loads((out / "cues.json").read_text())
    assert CueSheet.from_dict(d).to_dict() == d


def test_scored_hits_lie_on_beats_and_the_music_attacks_there(scored):
    _, _, out, report = scored
    sheet = load_cue_sheet(out / "cues.json")
    maps = {c["id"]: TempoMap(tuple(TempoSegment(**s) for s in c["tempo_map"]["segments"]),
                              c["tempo_map"]["beats_per_bar"]) for c in report["cues"]}
    y, sr = sf.read(out / "mix.wav", dtype="float32", always_2d=True)
    mono = y.mean(axis=1)
    scored_hits = [(c.id, h) for c in sheet.cues for h in c.hits if h.scored]
    assert scored_hits, "the fast-cut section should get at least one scored hit"
    for cue_id, h in scored_hits:
        grid = 1 if h.strength >= STRONG_STRENGTH else 2     # weak hits may take an eighth
        beat = maps[cue_id].s_to_beat(h.t_s) * grid
        assert abs(beat - round(beat)) < 1e-6, (cue_id, h)
        # Independent check on the delivered file: an onset within 10 ms of the hit.
        lo = int((h.t_s - 0.5) * sr)
        onsets = librosa.onset.onset_detect(y=mono[lo:lo + sr], sr=sr, hop_length=64,
                                            backtrack=True, units="time") + lo / sr
        assert np.min(np.abs(onsets - h.t_s)) < 0.010, (cue_id, h.t_s, onsets)


def test_stems_are_aligned_and_sum_to_the_mix(scored):
    _, truth, out, report = scored
    mix, sr = sf.read(out / "mix.wav", dtype="float64", always_2d=True)
    info = sf.info(out / "mix.wav")
    assert (sr, info.subtype, info.channels) == (48000, "PCM_24", 2)
    assert len(mix) == round(truth["duration_s"] * 48000)
    total = np.zeros_like(mix)
    for g in report["stems"]:
        stem, stem_sr = sf.read(out / report["files"]["stems"][g], dtype="float64", always_2d=True)
        assert stem_sr == 48000 and stem.shape == mix.shape
        total += stem
    # Each file is rounded to 24 bits on its own: the sum may differ by a few LSB.
    assert np.max(np.abs(total - mix)) < len(report["stems"]) * 2 ** -23
    assert np.abs(mix).max() > 0.01
    # The residual of mix − Σ stems, relative to the mix: far below −60 dB.
    residual_db = 20 * np.log10(np.sqrt(np.mean((total - mix) ** 2)) / np.sqrt(np.mean(mix ** 2)))
    assert residual_db < -60


def test_same_seed_same_midi_bytes(scored):
    _, _, out, _ = scored
    sheet = load_cue_sheet(out / "cues.json")
    again = midi_bytes(compose(sheet, seed=1))
    assert again == (out / "score.mid").read_bytes()
    assert midi_bytes(compose(sheet, seed=2)) != again


def test_report_has_loudness_hits_and_timings(scored):
    _, _, _, report = scored
    loud = report["loudness"]
    assert loud["programme_true_peak_dbtp"] <= -1.0 + 0.05
    assert loud["programme_lufs"] <= -23.0 + 0.1
    assert all(abs(h["onset_error_ms"]) < 10 for h in report["hits"] if h["scored"])
    for stage in ("analyze", "compose", "render", "mix", "deliver", "total"):
        assert report["timings_s"][stage] >= 0


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "scorer.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_cli_scores_an_edited_cue_sheet(scored, tmp_path):
    cut, _, out, _ = scored
    d = json.loads((out / "cues.json").read_text())
    d["cues"][0]["preset"] = "noir"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(d))
    from test_theme import write_midi
    theme = write_midi(tmp_path / "ode.mid")
    r = run_cli("score", cut, "-o", tmp_path / "o2", "--cues", edited, "--theme", theme, "--no-preview", "-q")
    assert r.returncode == 0, r.stderr
    again = json.loads((tmp_path / "o2" / "cues.json").read_text())
    assert again["cues"][0]["preset"] == "noir"
    assert again["shots"] == d["shots"]
    report = json.loads((tmp_path / "o2" / "report.json").read_text())
    assert report["theme"]["source"] == "ode.mid"
    for cue in report["cues"]:
        alts = cue["tempo_alternatives"]
        assert 1 <= len(alts) <= 3 and alts[0]["score"] >= alts[-1]["score"]
        assert all(h["reason"] for h in cue["unhonoured_hits"])


def test_cli_delivery_options_name_stems_and_add_the_click_and_per_cue_stems(scored, tmp_path):
    cut, _, out, _ = scored
    r = run_cli("score", cut, "-o", tmp_path / "o", "--cues", out / "cues.json", "--project", "My Film",
                "--per-cue-stems", "--click", "--no-preview", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    files = report["files"]
    assert files["project"] == "My-Film" and files["click"] == "stems/My-Film_ALL_Click_v01.wav"
    assert set(files["cue_stems"]) == {c["id"] for c in report["cues"]}
    for name in [files["click"], *files["stems"].values(),
                 *(n for per_cue in files["cue_stems"].values() for n in per_cue.values())]:
        assert (tmp_path / "o" / name).stat().st_size > 0, name
    assert not (tmp_path / "o" / "preview.mp4").exists()


def test_cli_ducking_settings_reach_the_mix(scored, tmp_path):
    cut, _, out, report = scored
    lines = report["dialogue"]
    assert lines and lines[0]["music_under_dialogue_db"] is not None
    r = run_cli("score", cut, "-o", tmp_path / "deep", "--cues", out / "cues.json", "--under-dialogue-db", "15",
                "--duck-lookahead-ms", "400", "--no-preview", "-q")
    assert r.returncode == 0, r.stderr
    deep = json.loads((tmp_path / "deep" / "report.json").read_text())["dialogue"]
    # 3 dB further under the voice, line by line, where the music plays under it.
    for a, b in zip(lines, deep):
        if a["within_target"] and b["within_target"]:
            assert b["music_under_dialogue_db"] == pytest.approx(a["music_under_dialogue_db"] + 3, abs=0.5)
    assert any(b["within_target"] for b in deep)
    r = run_cli("score", cut, "-o", tmp_path / "bad", "--cues", out / "cues.json", "--crossfade-ms", "-5", "-q")
    assert r.returncode != 0 and "crossfade" in r.stderr
    assert not (tmp_path / "bad" / "mix.wav").exists()


def test_cli_unreadable_theme_is_a_clear_error_before_any_work(scored, tmp_path):
    cut = scored[0]
    bad = tmp_path / "theme.mid"
    bad.write_text("not midi")
    r = run_cli("score", cut, "-o", tmp_path / "out", "--theme", bad, "-q")
    assert r.returncode == 2 and "theme.mid" in r.stderr and "MIDI" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("maker,needle", BAD_INPUTS)
def test_cli_bad_input_is_a_clear_error(tmp_path, maker, needle):
    path = tmp_path / "input.mp4"
    if maker:
        maker(path)
    r = run_cli("score", path, "-o", tmp_path / "out", "-q")
    assert r.returncode == 2
    assert needle in r.stderr and str(path) in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_cli_analyze_writes_cues(scored, tmp_path):
    cut, truth, _, _ = scored
    r = run_cli("analyze", cut, "-o", tmp_path / "cues.json", "-q")
    assert r.returncode == 0, r.stderr
    sheet = load_cue_sheet(tmp_path / "cues.json")
    assert [s.start_frame for s in sheet.shots[1:]] == truth["cuts"]


def test_programme_meets_the_spec_and_music_files_do_not_clip(scored):
    _, _, out, report = scored
    loud = report["loudness"]
    assert loud["programme_lufs"] == pytest.approx(-23.0, abs=0.5)
    assert loud["programme_true_peak_dbtp"] <= -1.0
    assert loud["music_true_peak_dbtp"] <= -1.0


def test_preview_carries_picture_and_programme_sound(scored):
    import av

    from scorer.io.video import decode_audio
    from scorer.mix.loudness import measure

    cut, truth, out, _ = scored
    with av.open(str(out / "preview.mp4")) as c:
        assert len(c.streams.video) == 1 and len(c.streams.audio) == 1
        n_video = sum(1 for _ in c.demux(c.streams.video[0]) if _.size)
    assert n_video == truth["n_frames"]
    audio = decode_audio(out / "preview.mp4", sample_rate=48000, mono=False)
    assert abs(audio.shape[1] / 48000 - truth["duration_s"]) < 0.05
    lufs, _ = measure([audio], sample_rate=48000, true_peak=False)
    assert lufs == pytest.approx(-23.0, abs=1.0)


def _edl(cut_frames, n_frames, fps, marker_frame):
    from scorer.timebase import frame_to_smpte

    start = 86400  # 01:00:00:00 at 24 frames per second of timecode
    tc = lambda f: frame_to_smpte(f, fps, start_frame=start, drop_frame=False)
    bounds = [0, *cut_frames, n_frames]
    lines = ["TITLE: T", "FCM: NON-DROP FRAME", ""]
    for i, (a, b) in enumerate(zip(bounds, bounds[1:]), start=1):
        src = frame_to_smpte(1000 * i, fps, drop_frame=False)
        src_out = frame_to_smpte(1000 * i + b - a, fps, drop_frame=False)
        lines.append(f"{i:03d}  A{i:03d}     V     C        {src} {src_out} {tc(a)} {tc(b)}")
        if a <= marker_frame < b:
            lines.append(f"* LOC: {tc(marker_frame)} RED     REVEAL")
    return "\n".join(lines) + "\n"


def test_editor_timeline_and_notes_drive_spotting(scored, tmp_path):
    cut, truth, _, _ = scored
    fps = truth["fps"]
    editor_cuts = [c for c in truth["cuts"] if c != 250]      # the editor's list wins
    (tmp_path / "cut.edl").write_text(_edl(editor_cuts, truth["n_frames"], fps, 400))
    (tmp_path / "notes.txt").write_text("0 5 no music, let the dawn play dry\n")
    r = run_cli("analyze", cut, "-o", tmp_path / "cues.json", "--timeline", tmp_path / "cut.edl",
                "--notes", tmp_path / "notes.txt", "-q")
    assert r.returncode == 0, r.stderr
    sheet = load_cue_sheet(tmp_path / "cues.json")
    assert [s.start_frame for s in sheet.shots[1:]] == editor_cuts
    hits = [h for c in sheet.cues for h in c.hits]
    assert any(h.kind == "marker" and h.frame == 400 and h.scored for h in hits)
    assert sheet.cues[0].start_s >= 5.0 - 1e-9 or sheet.cues[0].end_s <= 0.0
    assert sheet.cues[0].id == "1M1"


def test_cli_scores_with_a_user_preset_file_and_names_the_line_of_a_broken_one(scored, tmp_path):
    from pathlib import Path
    cut, _, out, _ = scored
    text = (Path(__file__).resolve().parent.parent / "presets" / "noir.toml").read_text()
    mine = tmp_path / "mynoir.toml"
    mine.write_text(text.replace('name = "noir"', 'name = "mynoir"').replace("max_bpm = 88", "max_bpm = 80"))
    r = run_cli("score", cut, "-o", tmp_path / "o3", "--cues", out / "cues.json", "--preset", mine,
                "--no-preview", "-q")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "o3" / "report.json").read_text())
    assert {c["preset"] for c in report["cues"]} == {"mynoir"}
    for c in report["cues"]:
        assert all(s["tempo_bpm"] <= 80 + 1e-6 for s in c["tempo_map"]["segments"])
    mine.write_text(text.replace('name = "noir"', 'name = "mynoir"').replace("velocity = 48", "velocity = 480"))
    r = run_cli("score", cut, "-o", tmp_path / "o4", "--cues", out / "cues.json", "--preset", mine, "-q")
    line = next(i for i, t in enumerate(mine.read_text().splitlines(), start=1) if t == "velocity = 480")
    assert r.returncode == 2 and f"mynoir.toml, line {line}: layers.pad.velocity = 480" in r.stderr
    assert not (tmp_path / "o4").exists()


@pytest.mark.parametrize("option, message", [
    (("--spec", "foo"), "--spec: invalid choice: 'foo'"),
    (("--preset", "nosuch"), "no preset 'nosuch'"),
    (("--soundfont", "/no/such.sf2"), "SoundFont not found"),
    (("--timeline", "/no/such.edl"), "timeline file not found"),
    (("--notes", "/no/such.txt"), "notes file not found"),
    (("--theme", "/no/such.mid"), "theme file not found"),
    (("--motif", "threat=/no/such.mid"), "motif threat file not found"),
    (("--backend", "musicgen", "--model-path", "/no/such/weights"), "holds no"),
    (("--crossfade-ms", "-5"), "crossfade must be ≥ 0 s"),
])
def test_bad_options_are_refused_before_any_work_and_no_folder_is_made(tmp_path, option, message):
    # The cut need not even be readable: the options are checked before it is opened.
    out = tmp_path / "out"
    r = run_cli("score", tmp_path / "never-opened.mp4", "-o", out, *option)
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert not out.exists()
    # `scorer project new` takes the same options and checks them the same way, before
    # the cut is opened and before the project's folder is made.
    project = tmp_path / "project"
    r = run_cli("project", "new", project, tmp_path / "never-opened.mp4", *option)
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert not project.exists()


def test_an_output_path_that_is_a_file_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "taken"
    out.write_bytes(b"keep me")
    r = run_cli("score", tmp_path / "never-opened.mp4", "-o", out)
    assert r.returncode != 0 and "must be a folder" in r.stderr
    assert out.read_bytes() == b"keep me"
