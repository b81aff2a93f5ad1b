"""A delivery read back by independent readers: soundfile and FFmpeg (PyAV) for the WAVs
and their Broadcast WAV stamps, our own struct parser for the bext chunk, mido and
pretty_midi for score.mid, OpenTimelineIO for the timeline, PyAV for the preview,
pyloudnorm for loudness, the csv module for the cue sheet.

Checked: names and versions, durations to the sample and the frame, stamps equal to the
cut's start timecode (01:00:00:00 at 23.976), stems null against the mix, loudness and
true peak against the spec, markers within 1 ms of the hits, the click track on its
beats, the music level under each line, the preview's picture untouched (or burnt in).
"""
from __future__ import annotations

import os

import csv
import importlib
import json
import struct
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from media import make_cut

import scorer
from scorer.deliver import _stamp, next_version, project_name, stem_file_name
from scorer.deliver.click import BEAT_HZ, DOWNBEAT_HZ, click_times
from scorer.deliver.measure import Excerpts, SpanLevels, rechunk
from scorer.io.audio import Bext, read_bext, write_wav
from scorer.io.clipstore import ClipStore
from scorer.timebase import s_to_frame, smpte_to_frame
from scorer.types import TempoMap, TempoSegment

FPS = Fraction(24000, 1001)
SR = 48000
START_TC = "01:00:00:00"
# 01:00:00:00 at 23.976 is frame 86 400, which starts 86 400 × 1001/24000 s after midnight.
START_SAMPLES = 86_400 * 1001 * SR // 24000
assert START_SAMPLES == 172_972_800


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    d = tmp_path_factory.mktemp("deliver")
    cut = d / "Reel 1 (v3).mov"
    truth = make_cut(cut, fps=FPS, shot_frames=(96, 72, 120, 20, 18, 16, 90, 110), timecode=START_TC,
                     speech_at=((2.0, "where were you last night"),), clicks_s=(12.0,))
    out = d / "out"
    # The Mix and Score handed to deliver(), kept to check the programme the preview plays.
    module = importlib.import_module("scorer.deliver")
    seen = {}

    def spy(score, mix, cue_sheet, *args, **kwargs):
        seen.update(score=score, mix=mix, cue_sheet=cue_sheet)
        return real(score, mix, cue_sheet, *args, **kwargs)

    real = module.deliver
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(module, "deliver", spy)
        # The clips stay readable after the run: later tests deliver the same Mix again.
        store = ClipStore(d / "work")
        report = scorer.score(cut, out, seed=2, per_cue_stems=True, click=True, store=store)
    yield SimpleNamespace(cut=cut, truth=truth, out=out, report=report, **seen)
    store.close()


def _tempo_maps(report):
    return {c["id"]: TempoMap(tuple(TempoSegment(**seg) for seg in c["tempo_map"]["segments"]),
                              c["tempo_map"]["beats_per_bar"]) for c in report["cues"]}


def _true_peak_dbtp(y: np.ndarray) -> float:
    """4× oversampled peak (BS.1770's true-peak method), y as (n, channels)."""
    from scipy.signal import resample_poly
    return float(20 * np.log10(np.abs(resample_poly(y, 4, 1, axis=0)).max()))


# --- Broadcast WAV -------------------------------------------------------------------------

def _bext_by_struct(path) -> dict:
    """The bext chunk parsed from the bytes with struct alone (EBU Tech 3285 layout)."""
    data = open(path, "rb").read()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    pos, chunks = 12, {}
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        chunks[cid] = data[pos + 8:pos + 8 + size]
        pos += 8 + size + size % 2
    assert pos == len(data)
    b = chunks[b"bext"]
    lo, hi = struct.unpack("<II", b[338:346])
    fmt = struct.unpack("<HHIIHH", chunks[b"fmt "][:16])
    return {"description": b[:256].rstrip(b"\0").decode(), "originator": b[256:288].rstrip(b"\0").decode(),
            "reference": b[288:320].rstrip(b"\0").decode(),
            "ixml": _ixml_fields(chunks[b"iXML"]) if b"iXML" in chunks else None,
            "date": b[320:330].decode(), "time": b[330:338].decode(), "time_reference": lo + (hi << 32),
            "version": struct.unpack("<H", b[346:348])[0], "fmt": fmt, "data_bytes": len(chunks[b"data"])}


def test_stems_are_named_versioned_and_stamped_with_the_cuts_timecode(delivered):
    import av

    out, report, truth = delivered.out, delivered.report, delivered.truth
    files = report["files"]
    assert files["project"] == "Reel-1-v3" and files["version"] == 1
    assert files["start_timecode"] == START_TC
    n = round(truth["duration_s"] * SR)
    full_length = [*files["stems"].values(), "mix.wav", files["click"]]
    for group, name in files["stems"].items():
        assert name == f"stems/Reel-1-v3_ALL_{group.capitalize()}_v01.wav"
    for name in full_length:
        ours = read_bext(out / name)
        raw = _bext_by_struct(out / name)
        assert raw["time_reference"] == ours["time_reference_samples"] == START_SAMPLES, name
        assert raw["originator"] == "scorer" and "TEMP" in raw["description"]
        assert raw["fmt"] == (1, 2, SR, SR * 6, 6, 24) and raw["data_bytes"] == n * 6
        info = sf.info(out / name)
        assert (info.samplerate, info.subtype, info.channels, info.frames) == (SR, "PCM_24", 2, n)
        # FFmpeg's WAV reader (through PyAV) finds the same stamp.
        with av.open(str(out / name)) as c:
            assert int(c.metadata["time_reference"]) == START_SAMPLES
            assert c.metadata["encoded_by"] == "scorer"


def test_same_inputs_give_the_same_bytes(delivered, tmp_path):
    from scorer.deliver import deliver

    for folder in ("a", "b"):
        deliver(delivered.score, delivered.mix, delivered.cue_sheet, tmp_path / folder, preview=False,
                project="Film", cut_path=delivered.cut)
    names = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert any(str(p).endswith(".wav") for p in names)
    for p in names:
        assert (tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes(), p


def test_per_cue_stems_sit_at_their_cue_and_match_the_full_length_stems(delivered):
    out, report = delivered.out, delivered.report
    files = report["files"]
    assert files["cue_stems"]
    ends = {c["id"]: c["end_s"] for c in json.loads((out / "cues.json").read_text())["cues"]}
    compared = 0
    for cue in report["cues"]:
        for group, name in files["cue_stems"][cue["id"]].items():
            assert name == f"stems/Reel-1-v3_{cue['id']}_{group.capitalize()}_v01.wav"
            offset = _bext_by_struct(out / name)["time_reference"] - START_SAMPLES
            first = round(cue["tempo_map"]["segments"][0]["start_s"] * SR)
            assert offset == first
            piece, _ = sf.read(out / name, dtype="float64", always_2d=True)
            whole, _ = sf.read(out / files["stems"][group], dtype="float64", always_2d=True,
                               start=offset, frames=len(piece))
            # Past the previous cue's tail (≤ 4 s) and before this cue ends, nothing else
            # plays in this group: the cue's own stem is the full-length stem there.
            a, b = int(4.2 * SR), round(ends[cue["id"]] * SR) - first
            if b - a > 4800:
                assert np.max(np.abs(piece[a:b] - whole[a:b])) < 4 * 2 ** -23
                compared += 1
    assert compared


def test_every_wav_names_its_tracks_and_rate_in_ixml_and_a_cues_stems_share_one_span(delivered):
    out, files = delivered.out, delivered.report["files"]
    names = [*files["stems"].values(), "mix.wav", files["click"],
             *(n for stems in files["cue_stems"].values() for n in stems.values())]
    references = set()
    for name in names:
        raw = _bext_by_struct(out / name)
        ixml = raw["ixml"]
        assert ixml is not None, name
        assert ixml["rate"] == f"{FPS.numerator}/{FPS.denominator}" and ixml["flag"] == "NDF"
        assert ixml["timestamp"] == raw["time_reference"] and ixml["project"] == "Reel-1-v3"
        assert len(ixml["tracks"]) == 2 and ixml["tracks"][0].endswith(" L"), ixml
        references.add(raw["reference"])
    assert len(references) == len(names)                 # each file its own OriginatorReference
    for group, name in files["stems"].items():
        assert _bext_by_struct(out / name)["ixml"]["tracks"] == [f"{group} L", f"{group} R"]
    # Every group of a cue starts and ends together (a bed without a tail is padded).
    for cue, stems in files["cue_stems"].items():
        spans = {(_bext_by_struct(out / n)["time_reference"], sf.info(out / n).frames) for n in stems.values()}
        assert len(spans) == 1, (cue, spans)


def test_stems_null_against_the_mix_and_the_click_stays_out(delivered):
    out, report = delivered.out, delivered.report
    mix, _ = sf.read(out / "mix.wav", dtype="float64", always_2d=True)
    total = np.zeros_like(mix)
    for name in report["files"]["stems"].values():
        total += sf.read(out / name, dtype="float64", always_2d=True)[0]
    residual_db = 20 * np.log10(np.sqrt(np.mean((total - mix) ** 2)) / np.sqrt(np.mean(mix ** 2)))
    assert residual_db <= -60
    click, _ = sf.read(out / report["files"]["click"], dtype="float64", always_2d=True)
    assert np.abs(click).max() > 0.1 and np.max(np.abs(total - mix)) < 8 * 2 ** -23


def test_loudness_and_true_peak_meet_the_spec(delivered):
    import av
    import pyloudnorm

    out, report, mix = delivered.out, delivered.report, delivered.mix
    spec = report["loudness"]
    meter = pyloudnorm.Meter(SR)
    # The programme as the preview plays it (before AAC): at the spec, under the ceiling.
    programme = np.concatenate(list(mix.programme_blocks()), axis=1).T.astype(np.float64)
    assert meter.integrated_loudness(programme) == pytest.approx(spec["target_lufs"], abs=0.5)
    assert _true_peak_dbtp(programme) <= spec["target_true_peak_dbtp"]
    # The preview's decoded sound keeps the loudness, and its true peak (AAC moves peaks
    # on transients) is held under the ceiling too, re-limited where needed.
    with av.open(str(out / "preview.mp4")) as c:
        decoded = np.concatenate([f.to_ndarray() for f in c.decode(c.streams.audio[0])], axis=1)
    assert meter.integrated_loudness(decoded.T.astype(np.float64)) == pytest.approx(spec["target_lufs"], abs=0.75)
    assert _true_peak_dbtp(decoded.T.astype(np.float64)) <= spec["target_true_peak_dbtp"]
    # The music files are not limited: their own true peaks stay under the ceiling.
    for name in ["mix.wav", *report["files"]["stems"].values()]:
        y, _ = sf.read(out / name, dtype="float64", always_2d=True)
        assert _true_peak_dbtp(y) <= spec["target_true_peak_dbtp"], name
    mixed, _ = sf.read(out / "mix.wav", dtype="float64", always_2d=True)
    assert meter.integrated_loudness(mixed) == pytest.approx(spec["music_lufs"], abs=0.5)


# --- the timeline, MIDI, cue sheet ------------------------------------------------------------

def test_the_otio_timeline_has_the_cues_and_hits_on_their_frames(delivered):
    import opentimelineio as otio

    out, report = delivered.out, delivered.report
    timeline = otio.adapters.read_from_file(str(out / "timeline.otio"))
    assert timeline.global_start_time.to_frames() == smpte_to_frame(START_TC, FPS)
    assert timeline.global_start_time.to_timecode() == START_TC
    assert timeline.global_start_time.rate == pytest.approx(24000 / 1001, abs=1e-12)
    score_track = timeline.tracks[0]
    assert score_track.name == "Temp score" and score_track.kind == otio.schema.TrackKind.Audio
    clips = [c for c in score_track if isinstance(c, otio.schema.Clip)]
    assert [c.name.split()[0] for c in clips] == [c["id"] for c in report["cues"]]
    sheet = json.loads((out / "cues.json").read_text())
    for clip, cue, planned in zip(clips, sheet["cues"], report["cues"]):
        r = score_track.range_of_child(clip)
        assert r.start_time.to_frames() == s_to_frame(cue["start_s"], FPS)
        assert r.end_time_exclusive().to_frames() == s_to_frame(cue["end_s"], FPS)
        assert clip.media_reference.target_url == "mix.wav"
        meta = clip.metadata["scorer"]
        assert (meta["preset"], meta["key"]) == (planned["preset"], planned["key"])
        assert meta["tempo_bpm"][0] == pytest.approx(planned["tempo_map"]["segments"][0]["tempo_bpm"], abs=1e-3)
    assert score_track.duration().to_frames() <= delivered.truth["n_frames"]
    hit_markers = [m for m in score_track.markers if m.name.startswith("HIT")]
    scored = [h for h in report["hits"] if h["scored"]]
    assert len([m for m in hit_markers if m.color == otio.schema.MarkerColor.RED]) == len(scored)
    for h in scored:
        assert any(abs(m.marked_range.start_time.to_seconds() - h["t_s"]) <= 1e-3
                   and h["cue"] in m.name and h["kind"] in m.name for m in hit_markers)
    cue_markers = [m for m in score_track.markers if m.color == otio.schema.MarkerColor.GREEN]
    assert [m.marked_range.start_time.to_frames() for m in cue_markers] == \
        [s_to_frame(c["start_s"], FPS) for c in sheet["cues"]]
    stem_tracks = {t.name: t for t in timeline.tracks[1:]}
    assert sorted(stem_tracks) == sorted(report["stems"])
    for group, track in stem_tracks.items():
        refs = {c.media_reference.target_url for c in track if isinstance(c, otio.schema.Clip)}
        assert refs == {report["files"]["stems"][group]}


def test_midi_markers_sit_on_the_hits_for_mido_and_pretty_midi(delivered):
    import mido
    import pretty_midi

    out, report = delivered.out, delivered.report
    path = out / "score.mid"
    t, markers = 0.0, []
    for msg in mido.MidiFile(str(path)):          # iterating converts ticks with the tempo map
        t += msg.time
        if msg.type == "marker":
            markers.append((t, msg.text))
    hits = [m for m in markers if m[1].startswith("HIT")]
    scored = [h for h in report["hits"] if h["scored"]]
    assert len(hits) == len(scored)
    for h in scored:
        assert min(abs(mt - h["t_s"]) for mt, _ in hits) <= 1e-3, h
    # pretty_midi's own tick → time conversion agrees with mido's on the same ticks.
    pm = pretty_midi.PrettyMIDI(str(path))
    conductor = mido.MidiFile(str(path)).tracks[0]
    tick = 0
    for msg in conductor:
        tick += msg.time
        if msg.type == "marker" and msg.text.startswith("HIT"):
            assert min(abs(pm.tick_to_time(tick) - mt) for mt, _ in hits) <= 1e-3
    assert {i.name for i in pm.instruments} <= set(report["stems"]) | {""}
    assert pm.get_end_time() <= delivered.truth["duration_s"] + 10.0


def test_the_cue_sheet_csv_is_on_the_cuts_timecode(delivered):
    out, report = delivered.out, delivered.report
    rows = list(csv.DictReader((out / "cuesheet.csv").read_text().splitlines()))
    sheet = json.loads((out / "cues.json").read_text())
    assert [r["cue"] for r in rows] == [c["id"] for c in sheet["cues"]]
    first = smpte_to_frame(START_TC, FPS)
    for r, c, planned in zip(rows, sheet["cues"], report["cues"]):
        assert smpte_to_frame(r["in"], FPS) == first + s_to_frame(c["start_s"], FPS)
        assert smpte_to_frame(r["out"], FPS) == first + s_to_frame(c["end_s"], FPS)
        assert smpte_to_frame(r["duration"], FPS) == s_to_frame(c["end_s"], FPS) - s_to_frame(c["start_s"], FPS)
        assert float(r["duration_s"]) == pytest.approx(c["end_s"] - c["start_s"], abs=1e-3)
        assert r["preset"] == c["preset"] and r["key"] == planned["key"] and r["notes"] == c.get("note", "")
        assert r["status"] == "TEMP"
        tempi = [s["tempo_bpm"] for s in planned["tempo_map"]["segments"]]
        lo, _, hi = r["tempo_bpm"].partition("-")
        assert float(lo) == pytest.approx(min(tempi), abs=0.01)
        assert float(hi or lo) == pytest.approx(max(tempi), abs=0.01)
        n_scored = sum(h["scored"] for h in c["hits"])
        assert r["hits"] == f"{n_scored}/{len(c['hits'])}"
        assert len(r["hits_scored"].split()) == n_scored
        assert len(r["hits_unscored"].split()) == len(c["hits"]) - n_scored
        for entry in r["hits_scored"].split():
            assert smpte_to_frame(entry.split("(")[0], FPS) - first in {h["frame"] for h in c["hits"]}


# --- the click track -----------------------------------------------------------------------

def _click_onsets(y: np.ndarray) -> list[int]:
    """The first sample of every click: over a threshold after at least 50 ms under it."""
    above = np.flatnonzero(np.abs(y) > 0.02)
    return [int(s) for i, s in enumerate(above) if i == 0 or s - above[i - 1] > 0.05 * SR]


def _pitch_hz(y: np.ndarray) -> float:
    """The click's frequency from its zero crossings over its first 10 ms."""
    seg = y[:480]
    crossings = np.flatnonzero(np.diff(np.signbit(seg)))
    return (len(crossings) - 1) / 2 / ((crossings[-1] - crossings[0]) / SR)


def test_the_click_track_clicks_on_every_beat_with_count_ins(delivered):
    out, report = delivered.out, delivered.report
    name = report["files"]["click"]
    assert name == "stems/Reel-1-v3_ALL_Click_v01.wav" and name not in report["files"]["stems"].values()
    y = sf.read(out / name, dtype="float64", always_2d=True)[0][:, 0]
    onsets = _click_onsets(y)
    times = np.array(onsets) / SR
    maps = _tempo_maps(report)
    ends = {c["id"]: c["end_s"] for c in json.loads((out / "cues.json").read_text())["cues"]}
    beats, planned = {}, {}                       # per cue: its beats; all: time → downbeat?
    for cue in report["cues"]:
        tm = maps[cue["id"]]
        first = round(tm.segments[0].start_beat)
        b, beats[cue["id"]] = first, []
        while tm.beat_to_s(b) <= ends[cue["id"]] + 1e-6:
            beats[cue["id"]].append(tm.beat_to_s(b))
            planned[tm.beat_to_s(b)] = b % tm.beats_per_bar == 0
            b += 1
        for k in range(1, tm.beats_per_bar + 1):  # the count-in bar, at the first tempo
            t = tm.segments[0].start_s - k * 60.0 / tm.segments[0].tempo_bpm
            if t >= 0:
                planned.setdefault(t, (first - k) % tm.beats_per_bar == 0)
    # Every onset is a planned beat (within 1 ms) and has the pitch of its kind.
    grid = np.array(sorted(planned))
    for s in onsets:
        t = s / SR
        nearest = grid[np.argmin(np.abs(grid - t))]
        assert abs(nearest - t) <= 1e-3, t
        want = DOWNBEAT_HZ if planned[nearest] else BEAT_HZ
        assert _pitch_hz(y[s:]) == pytest.approx(want, rel=0.05), t
    # Every beat of a cue clicks (within 1 ms), but for those within half a beat of the
    # next cue's first beat, which they give way to.
    for cue in report["cues"]:
        for t in beats[cue["id"]]:
            if t <= ends[cue["id"]] - 0.5:
                assert np.min(np.abs(times - t)) <= 1e-3, (cue["id"], t)
    # The first cue's count-in, where it fits after the cut's first frame.
    tm = maps[report["cues"][0]["id"]]
    t0, beat0 = tm.segments[0].start_s, 60.0 / tm.segments[0].tempo_bpm
    for k in range(1, tm.beats_per_bar + 1):
        if t0 - k * beat0 >= 0:
            assert np.min(np.abs(times - (t0 - k * beat0))) <= 1e-3


def _cue(start_s, end_s, tempo_bpm, *, pickup=0, bpb=4):
    tm = TempoMap((TempoSegment(start_s, -float(pickup), tempo_bpm),), bpb)
    return SimpleNamespace(cue=SimpleNamespace(start_s=start_s, end_s=end_s), tempo_map=tm)


def test_count_ins_keep_the_bar_grid_and_give_way_to_the_cue_before():
    # 120 BPM: beats every 0.5 s. Cue A starts at 3 s (a full count-in fits from 1 s);
    # cue B starts 0.75 s after A ends, with a one-beat pickup.
    a = _cue(3.0, 6.0, 120.0)
    b = _cue(6.75, 9.0, 120.0, pickup=1)
    clicks = click_times(SimpleNamespace(cues=(b, a)))
    times = [round(t, 6) for t, _ in clicks]
    assert times == sorted(times)
    assert clicks[:4] == [(1.0, True), (1.5, False), (2.0, False), (2.5, False)]
    assert (3.0, True) in clicks and (5.0, True) in clicks and (6.0, False) in clicks
    # B's count-in would start at 4.75 s: only the beats ≥ half a beat after A's last
    # click (6.0 s) remain: 6.25 s is beat −2 of B (not a downbeat). Then B's pickup
    # (beat −1, 6.75 s) and its first downbeat (beat 0, 7.25 s).
    after_a = [c for c in clicks if c[0] > 6.0]
    assert after_a[:3] == [(6.25, False), (6.75, False), (7.25, True)]
    # A cue at the very start gets no count-in before 0 s; cues that touch don't click twice.
    c = _cue(0.0, 2.0, 120.0)
    d = _cue(2.0, 4.0, 120.0)
    times = [t for t, _ in click_times(SimpleNamespace(cues=(c, d)))]
    assert times[0] == 0.0 and len(times) == len(set(times)) and min(np.diff(times)) >= 0.25


# --- the report ----------------------------------------------------------------------------

def test_the_report_gives_the_music_level_under_each_line(delivered):
    from scorer.io.video import decode_audio

    out, report = delivered.out, delivered.report
    lines = report["dialogue"]
    assert lines and len(lines) == len(json.loads((out / "cues.json").read_text())["dialogue"])
    mix, _ = sf.read(out / "mix.wav", dtype="float64", always_2d=True)
    own = decode_audio(delivered.cut, sample_rate=SR, mono=False).astype(np.float64)
    own = np.repeat(own, 2, axis=0) if own.shape[0] == 1 else own
    own *= 10 ** (report["loudness"]["production_gain_db"] / 20)
    # K-weighted by pyloudnorm's own filters (an implementation independent of ours)
    import pyloudnorm

    def k_weighted(x):
        for f in pyloudnorm.Meter(SR)._filters.values():
            x = f.apply_filter(x.T).T if x.ndim == 2 else f.apply_filter(x)
        return x

    mix_k, own_k = k_weighted(mix.copy()), k_weighted(own.T.copy())
    for row in lines:
        assert row["in"].startswith("01:")                 # on the cut's own timecode
        a, b = round(row["start_s"] * SR), round(row["end_s"] * SR)
        music_db = 10 * np.log10(np.mean(mix[a:b] ** 2))
        assert row["music_rms_dbfs"] == pytest.approx(music_db, abs=0.05)
        assert row["dialogue_rms_dbfs"] == pytest.approx(10 * np.log10(np.mean(own[:, a:b] ** 2)), abs=0.2)
        lufs = lambda k: -0.691 + 10 * np.log10(np.sum(np.mean(k[a:b] ** 2, axis=0)))  # noqa: E731
        assert row["music_lufs"] == pytest.approx(lufs(mix_k), abs=0.1)
        assert row["dialogue_lufs"] == pytest.approx(lufs(own_k), abs=0.3)
        assert row["music_under_dialogue_db"] == pytest.approx(row["dialogue_lufs"] - row["music_lufs"], abs=0.02)
        # the rule: 10–15 dB under the line's own level, or a reason why not
        assert (10 - 0.5 <= row["music_under_dialogue_db"] <= 15 + 0.5) == row["within_target"]
        assert row["within_target"] or row["problem"]


def test_the_report_measures_every_scored_hit(delivered):
    report = delivered.report
    scored = [h for h in report["hits"] if h["scored"]]
    assert scored and all(h["onset_error_ms"] is not None and abs(h["onset_error_ms"]) < 10 for h in scored)
    assert report["hits_summary"]["scored"] == len(scored)


# --- the preview ---------------------------------------------------------------------------

def test_the_preview_is_the_cut_with_the_programme(delivered):
    import av

    out, truth = delivered.out, delivered.truth
    with av.open(str(out / "preview.mp4")) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        assert a.codec_context.sample_rate == SR
        n = sum(1 for _ in c.decode(v))
    assert n == truth["n_frames"]
    with av.open(str(out / "preview.mp4")) as c:
        decoded = sum(f.samples for f in c.decode(c.streams.audio[0]))
    # AAC codes whole frames of 1024 samples: the sound lasts the picture, to within one.
    assert 0 <= decoded - round(truth["duration_s"] * SR) < 1024


def test_without_burn_in_the_picture_is_copied_untouched(delivered):
    import av

    with av.open(str(delivered.cut)) as a, av.open(str(delivered.out / "preview.mp4")) as b:
        pa = [bytes(p) for p in a.demux(a.streams.video[0]) if p.size]
        pb = [bytes(p) for p in b.demux(b.streams.video[0]) if p.size]
    assert pa == pb


def test_burn_in_writes_timecode_and_cue_over_the_bottom_only(delivered, tmp_path):
    import av

    from scorer.deliver import deliver

    o = tmp_path / "burnt"
    deliver(delivered.score, delivered.mix, delivered.cue_sheet, o, cut_path=delivered.cut, burn_in=True)
    k = 100                                   # a frame inside a cue

    def frame(path, index):
        with av.open(str(path)) as c:
            for i, f in enumerate(c.decode(c.streams.video[0])):
                if i == index:
                    return f.to_ndarray(format="rgb24").astype(np.int16)

    src, burnt = frame(delivered.cut, k), frame(o / "preview.mp4", k)
    h = src.shape[0]
    top = np.abs(burnt[: h // 2] - src[: h // 2]).mean()
    bottom = np.abs(burnt[-h // 8:] - src[-h // 8:]).mean()
    assert top < 3.0 and bottom > 10.0
    with av.open(str(o / "preview.mp4")) as c:
        assert sum(1 for _ in c.decode(c.streams.video[0])) == delivered.truth["n_frames"]


# --- names and versions --------------------------------------------------------------------

def test_bad_project_names_are_refused(delivered, tmp_path):
    with pytest.raises(scorer.errors.InputError, match="project name"):
        scorer.score(delivered.cut, tmp_path / "o", seed=1, preview=False, cues=delivered.out / "cues.json",
                     project="///")


def test_project_names_and_stem_names():
    assert project_name("My Film: Reel 2/3") == "My-Film-Reel-2-3"
    # Accents are folded visibly, other scripts kept: a name is never dropped to nothing.
    assert project_name("été à Paris") == "ete-a-Paris"
    assert project_name("Der Himmel über Berlin") == "Der-Himmel-uber-Berlin"
    assert project_name("東京物語 (1953)") == "東京物語-1953"
    assert project_name("Ночь") == "Ночь"
    assert stem_file_name("Film", "1M1", "keys", 3) == "Film_1M1_Keys_v03.wav"
    assert stem_file_name("Film", "../x", "strings", 12) == "Film_x_Strings_v12.wav"


def test_next_version_counts_only_this_projects_stems(tmp_path):
    assert next_version(tmp_path, "Film") == 1
    for name in ("Film_ALL_Strings_v01.wav", "Film_1M1_Strings_v04.wav", "Other_ALL_Strings_v09.wav"):
        (tmp_path / name).touch()
    assert next_version(tmp_path, "Film") == 5
    assert next_version(tmp_path, "Fil") == 1


def test_a_second_delivery_takes_the_next_version_and_keeps_the_first(delivered, tmp_path):
    out, report = delivered.out, delivered.report
    first = out.parent / os.readlink(out)
    before = {str(p.relative_to(first)): p.read_bytes() for p in first.rglob("*") if p.is_file()}
    again = scorer.score(delivered.cut, out, seed=3, preview=False, cues=out / "cues.json")
    # The whole delivery is the next version; OUT points at it; the first is untouched.
    assert again["files"]["version"] == 2 and os.readlink(out) == f"{out.name}.v02"
    assert again["files"]["folder"] == f"{out.name}.v02"
    for group, name in again["files"]["stems"].items():
        assert name.endswith("_v02.wav") and (out / name).exists()
    assert not any(n.endswith("_v01.wav") for n in os.listdir(out / "stems"))     # no orphans
    assert {str(p.relative_to(first)): p.read_bytes() for p in first.rglob("*") if p.is_file()} == before


# --- the pieces on their own ---------------------------------------------------------------

@pytest.mark.parametrize("channels,sizes", [(2, (1, 4799, 48000, 7)), (1, (3,)), (6, (1000, 1))])
def test_wav_writer_streams_blocks_that_soundfile_reads_back_exactly(tmp_path, channels, sizes):
    rng = np.random.default_rng(channels)
    blocks = [rng.uniform(-1.2, 1.2, (channels, n)).astype(np.float32) for n in sizes]
    path = tmp_path / "x.wav"
    bext = Bext(description="a test", originator_reference="seed 1", time_reference_samples=(1 << 33) + 5,
                coding_history="A=PCM,F=48000,W=24\r\n")
    assert write_wav(path, iter(blocks), channels=channels, bext=bext) == sum(sizes)
    data, rate = sf.read(path, dtype="int32", always_2d=True)
    want = np.clip(np.rint(np.concatenate(blocks, axis=1).T.astype(np.float64) * 2 ** 23), -2 ** 23, 2 ** 23 - 1)
    assert rate == SR and data.shape == want.shape
    assert np.array_equal(data >> 8, want.astype(np.int32))
    raw = _bext_by_struct(path)
    assert raw["time_reference"] == (1 << 33) + 5 and raw["description"] == "a test" and raw["version"] == 1
    assert read_bext(path)["coding_history"] == "A=PCM,F=48000,W=24\r\n"
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())     # no temp file left


def test_a_failed_write_leaves_the_earlier_file(tmp_path):
    path = tmp_path / "x.wav"
    write_wav(path, [np.zeros((2, 10), np.float32)])
    before = path.read_bytes()

    def broken():
        yield np.zeros((2, 10), np.float32)
        raise RuntimeError("renderer died")

    with pytest.raises(RuntimeError):
        write_wav(path, broken())
    assert path.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


def test_bext_refuses_a_time_before_midnight():
    with pytest.raises(ValueError, match="time reference"):
        Bext(description="x", time_reference_samples=-1)


@pytest.mark.parametrize("tc,fps,samples", [
    ("01:00:00:00", Fraction(24000, 1001), 172_972_800),        # 3603.6 s: 23.976 runs slow
    ("01:00:00;00", Fraction(30000, 1001), 172_799_827),        # drop-frame: 3599.9964 s
    ("10:00:00:00", Fraction(25), 1_728_000_000),
])
def test_the_stamp_is_the_start_timecode_in_samples_since_midnight(tc, fps, samples):
    stamp = _stamp("x", start_sample=480, source_start_frame=smpte_to_frame(tc, fps), fps=fps, seed=1,
                   date="2000-01-01", clock="12:34:56", project="P", scene="1M1", take="v01", tracks="strings")
    assert stamp.time_reference_samples == samples + 480
    # The iXML beside it carries what bext cannot: the rate, drop-frame or not, track names.
    chunk = stamp.chunk()
    at = chunk.index(b"iXML")
    size = struct.unpack("<I", chunk[at + 4:at + 8])[0]
    ixml = _ixml_fields(chunk[at + 8:at + 8 + size])
    assert ixml["rate"] == f"{fps.numerator}/{fps.denominator}"
    assert ixml["flag"] == ("DF" if ";" in tc else "NDF")
    assert ixml["timestamp"] == samples + 480 and ixml["tracks"] == ["strings L", "strings R"]
    assert (ixml["scene"], ixml["take"]) == ("1M1", "v01")


def _ixml_fields(xml: bytes) -> dict:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml.rstrip(b"\0"))
    speed = root.find("SPEED")
    return {"rate": speed.findtext("TIMECODE_RATE"), "flag": speed.findtext("TIMECODE_FLAG"),
            "timestamp": int(speed.findtext("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI")) << 32
            | int(speed.findtext("TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO")),
            "tracks": [t.findtext("NAME") for t in root.find("TRACK_LIST").findall("TRACK")],
            "scene": root.findtext("SCENE"), "take": root.findtext("TAKE"), "project": root.findtext("PROJECT")}


def test_measuring_in_blocks_equals_measuring_the_whole():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 10_000)).astype(np.float32)
    blocks = [x[:, :3], x[:, 3:5000], x[:, 5000:5001], x[:, 5001:]]
    again = list(rechunk(blocks, 4096))
    assert [b.shape[1] for b in again] == [4096, 4096, 1808]
    assert np.array_equal(np.concatenate(again, axis=1), x)
    spans = [(100, 2000), (1500, 9000), (9990, 12000), (50, 50)]
    levels, excerpts = SpanLevels(spans), Excerpts([(4000, 500), (9900, 200)])
    for b in again:
        levels.feed(b)
        excerpts.feed(b)
    got = levels.rms_dbfs()
    for (a, b), db in zip(spans[:3], got):
        assert db == pytest.approx(10 * np.log10(np.mean(x[:, a:min(b, 10_000)].astype(np.float64) ** 2)), abs=0.01)
    assert got[3] is None
    assert np.allclose(excerpts[0][0], x[:, 4000:4500].mean(axis=0))
    assert np.allclose(excerpts[1][0][:100], x[:, 9900:].mean(axis=0)) and not excerpts[1][0][100:].any()
