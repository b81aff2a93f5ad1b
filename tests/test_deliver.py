"""A delivery read back by independent readers: Broadcast WAV stamps equal the cut's start
timecode, stems named and versioned as post-production expects and null against the mix,
the OTIO timeline's clips and markers on the frames of the cues and hits, per-cue stems
at their cue's place, the dialogue levels, the preview's duration."""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf

from media import make_cut

import scorer
from scorer.io.audio import read_bext
from scorer.timebase import s_to_frame, smpte_to_frame

FPS = Fraction(24000, 1001)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    d = tmp_path_factory.mktemp("deliver")
    cut = d / "Reel 1 (v3).mov"
    truth = make_cut(cut, fps=FPS, shot_frames=(96, 72, 120, 20, 18, 16, 90, 110), timecode="01:00:00:00",
                     speech_at=((2.0, "where were you last night"),), clicks_s=(12.0,))
    out = d / "out"
    report = scorer.score(cut, out, seed=2, per_cue_stems=True, click=True)
    return cut, truth, out, report


def test_stems_are_named_versioned_and_stamped_with_the_cuts_timecode(delivered):
    cut, truth, out, report = delivered
    files = report["files"]
    assert files["project"] == "Reel-1-v3" and files["version"] == 1
    assert files["start_timecode"] == "01:00:00:00"
    start_samples = round(Fraction(smpte_to_frame("01:00:00:00", FPS)) / FPS * 48000)
    for group, name in files["stems"].items():
        assert name == f"stems/Reel-1-v3_ALL_{group.capitalize()}_v01.wav"
        bext = read_bext(out / name)
        assert bext["time_reference_samples"] == start_samples
        assert bext["originator"] == "scorer" and "TEMP" in bext["description"]
        info = sf.info(out / name)
        assert (info.samplerate, info.subtype, info.channels) == (48000, "PCM_24", 2)
        assert info.frames == round(truth["duration_s"] * 48000)
    assert read_bext(out / "mix.wav")["time_reference_samples"] == start_samples


def test_per_cue_stems_sit_at_their_cue_and_match_the_full_length_stems(delivered):
    _, _, out, report = delivered
    files = report["files"]
    start_samples = round(Fraction(smpte_to_frame("01:00:00:00", FPS)) / FPS * 48000)
    assert files["cue_stems"]
    ends = {c["id"]: c["end_s"] for c in json.loads((out / "cues.json").read_text())["cues"]}
    compared = 0
    for cue in report["cues"]:
        for group, name in files["cue_stems"][cue["id"]].items():
            assert name == f"stems/Reel-1-v3_{cue['id']}_{group.capitalize()}_v01.wav"
            bext = read_bext(out / name)
            offset = bext["time_reference_samples"] - start_samples
            first = round(cue["tempo_map"]["segments"][0]["start_s"] * 48000)
            assert offset == first
            piece, _ = sf.read(out / name, dtype="float64", always_2d=True)
            whole, _ = sf.read(out / files["stems"][group], dtype="float64", always_2d=True,
                               start=offset, frames=len(piece))
            # Past the previous cue's tail (≤ 4 s) and before this cue ends, nothing else
            # plays in this group: the cue's own stem is the full-length stem there.
            a, b = int(4.2 * 48000), round(ends[cue["id"]] * 48000) - first
            if b - a > 4800:
                assert np.max(np.abs(piece[a:b] - whole[a:b])) < 4 * 2 ** -23
                compared += 1
    assert compared


def test_the_otio_timeline_has_the_cues_and_hits_on_their_frames(delivered):
    import opentimelineio as otio

    _, _, out, report = delivered
    timeline = otio.adapters.read_from_file(str(out / "timeline.otio"))
    assert timeline.global_start_time.to_frames() == smpte_to_frame("01:00:00:00", FPS)
    score_track = timeline.tracks[0]
    assert score_track.name == "Temp score" and score_track.kind == otio.schema.TrackKind.Audio
    clips = [c for c in score_track if isinstance(c, otio.schema.Clip)]
    assert [c.name.split()[0] for c in clips] == [c["id"] for c in report["cues"]]
    sheet = json.loads((out / "cues.json").read_text())
    for clip, cue in zip(clips, sheet["cues"]):
        r = score_track.range_of_child(clip)
        assert r.start_time.to_frames() == s_to_frame(cue["start_s"], FPS)
        assert r.end_time_exclusive().to_frames() == s_to_frame(cue["end_s"], FPS)
        assert clip.media_reference.target_url == "mix.wav"
    hit_markers = [m for m in score_track.markers if m.name.startswith("HIT")]
    scored = [h for h in report["hits"] if h["scored"]]
    assert len([m for m in hit_markers if m.color == otio.schema.MarkerColor.RED]) == len(scored)
    for h in scored:
        assert any(abs(m.marked_range.start_time.to_seconds() - h["t_s"]) < 1e-3 for m in hit_markers)
    stem_tracks = {t.name: t for t in timeline.tracks[1:]}
    assert sorted(stem_tracks) == sorted(report["stems"])
    for group, track in stem_tracks.items():
        refs = {c.media_reference.target_url for c in track if isinstance(c, otio.schema.Clip)}
        assert refs == {report["files"]["stems"][group]}


def test_the_click_track_clicks_on_every_beat_with_count_ins(delivered):
    from scorer.types import TempoMap, TempoSegment

    _, _, out, report = delivered
    name = report["files"]["click"]
    assert name.endswith("_ALL_Click_v01.wav") and name not in report["files"]["stems"].values()
    y, sr = sf.read(out / name, dtype="float64", always_2d=True)
    mono = np.abs(y[:, 0])
    # Onsets: the first sample above a threshold after silence.
    above = mono > 0.02
    starts = np.flatnonzero(above & ~np.concatenate([[False], above[:-1]]))
    onsets = []
    for s0 in starts:
        if not onsets or s0 - onsets[-1] > 0.05 * sr:
            onsets.append(s0)
    onsets = np.array(onsets) / sr
    maps = {c["id"]: TempoMap(tuple(TempoSegment(**seg) for seg in c["tempo_map"]["segments"]),
                              c["tempo_map"]["beats_per_bar"]) for c in report["cues"]}
    for cue in report["cues"]:
        tm = maps[cue["id"]]
        t0 = tm.segments[0].start_s
        for b in range(0, 4):
            want = tm.beat_to_s(b)
            assert np.min(np.abs(onsets - want)) < 1e-3, (cue["id"], b)
        # Count-in: the beat before the cue start at its first tempo, unless a cue plays there.
        before = t0 - 60.0 / tm.segments[0].tempo_bpm
        prior = [c for c in report["cues"] if maps[c["id"]].segments[0].start_s < t0]
        if before >= 0 and not prior:
            assert np.min(np.abs(onsets - before)) < 1e-3
    # Nothing but clicks: every onset is a beat of a cue or of a count-in bar before one.
    planned = []
    for tm in maps.values():
        t0, beat0 = tm.segments[0].start_s, 60.0 / tm.segments[0].tempo_bpm
        planned += [t0 - k * beat0 for k in range(1, tm.beats_per_bar + 1)]
        first = int(np.ceil(tm.segments[0].start_beat - 1e-9))          # negative after a pickup
        planned += [tm.beat_to_s(b) for b in range(first, 2000) if tm.beat_to_s(b) < y.shape[0] / sr]
    planned = np.array(planned)
    for t in onsets:
        assert np.min(np.abs(planned - t)) < 1e-3, t


def test_the_report_gives_the_music_level_under_each_line(delivered):
    _, truth, _, report = delivered
    lines = report["dialogue"]
    assert lines and len(lines) == len(json.loads((delivered[2] / "cues.json").read_text())["dialogue"])
    for row in lines:
        assert row["in"].count(":") >= 2 and row["dialogue_rms_dbfs"] is not None
        assert row["in"].startswith("01:")                 # on the cut's own timecode
        if row["music_rms_dbfs"] is not None:
            assert row["music_under_dialogue_db"] == pytest.approx(row["dialogue_rms_dbfs"] - row["music_rms_dbfs"],
                                                                    abs=0.02)


def test_the_preview_is_the_cut_with_the_programme(delivered):
    import av

    cut, truth, out, report = delivered
    with av.open(str(out / "preview.mp4")) as c:
        v = c.streams.video[0]
        a = c.streams.audio[0]
        n = sum(1 for _ in c.decode(v))
        assert n == truth["n_frames"]
        assert a.codec_context.sample_rate == 48000


def test_bad_project_names_are_refused(delivered, tmp_path):
    cut, _, out, _ = delivered
    with pytest.raises(scorer.errors.InputError, match="project name"):
        scorer.score(cut, tmp_path / "o", seed=1, preview=False, cues=out / "cues.json", project="///")


def test_a_second_delivery_takes_the_next_version_and_keeps_the_first(delivered, tmp_path):
    cut, _, out, report = delivered
    before = {name: (out / name).read_bytes() for name in report["files"]["stems"].values()}
    again = scorer.score(cut, out, seed=3, preview=False, cues=out / "cues.json")
    assert again["files"]["version"] == 2
    for group, name in again["files"]["stems"].items():
        assert name.endswith("_v02.wav") and (out / name).exists()
    for name, data in before.items():
        assert (out / name).read_bytes() == data


def test_without_burn_in_the_picture_is_copied_untouched(delivered):
    import av

    cut, _, out, _ = delivered
    with av.open(str(cut)) as a, av.open(str(out / "preview.mp4")) as b:
        pa = [bytes(p) for p in a.demux(a.streams.video[0]) if p.size]
        pb = [bytes(p) for p in b.demux(b.streams.video[0]) if p.size]
    assert pa == pb


def test_burn_in_writes_timecode_and_cue_over_the_bottom_only(delivered, tmp_path):
    import av

    cut, truth, out, report = delivered
    o = tmp_path / "burnt"
    scorer.score(cut, o, seed=2, cues=out / "cues.json", burn_in=True, ambience=False)
    k = 100                                   # a frame inside a cue

    def frame(path, index):
        with av.open(str(path)) as c:
            for i, f in enumerate(c.decode(c.streams.video[0])):
                if i == index:
                    return f.to_ndarray(format="rgb24").astype(np.int16)

    src, burnt = frame(cut, k), frame(o / "preview.mp4", k)
    h = src.shape[0]
    top = np.abs(burnt[: h // 2] - src[: h // 2]).mean()
    bottom = np.abs(burnt[-h // 8:] - src[-h // 8:]).mean()
    assert top < 3.0 and bottom > 10.0
    with av.open(str(o / "preview.mp4")) as c:
        assert sum(1 for _ in c.decode(c.streams.video[0])) == truth["n_frames"]


def test_the_cue_sheet_csv_is_on_the_cuts_timecode(delivered):
    import csv

    _, _, out, report = delivered
    rows = list(csv.DictReader((out / "cuesheet.csv").read_text().splitlines()))
    sheet = json.loads((out / "cues.json").read_text())
    assert [r["cue"] for r in rows] == [c["id"] for c in sheet["cues"]]
    first = smpte_to_frame("01:00:00:00", FPS)
    for r, c in zip(rows, sheet["cues"]):
        assert smpte_to_frame(r["in"], FPS) == first + s_to_frame(c["start_s"], FPS)
        assert smpte_to_frame(r["out"], FPS) == first + s_to_frame(c["end_s"], FPS)
        assert r["preset"] == c["preset"] and r["status"] == "TEMP" and "notes" in r
        n_scored = sum(h["scored"] for h in c["hits"])
        assert len(r["hits_scored"].split()) == n_scored
