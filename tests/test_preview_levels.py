"""The preview's levels are measured after encoding: its AAC, decoded here independently
(PyAV, frame by frame, into the project's BS.1770 meter), peaks under the spec's
true-peak ceiling, and report.json gives the same figures and says where they were measured.

The cuts carry loud, dense production sound (short noise transients over a quiet voice),
normalised up until the limiter works on every transient: the programme the preview
encodes sits at the ceiling, where AAC's overshoot would put the decoded sound over it.
"""
from __future__ import annotations

import importlib
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from media import make_cut, speech_like

import scorer
from scorer.io.clipstore import ClipStore
from scorer.mix.limit import limit
from scorer.mix.loudness import SPECS, LoudnessMeter, db_to_gain, measure

SR = 48_000
DURATION_S = 5.0


def _transients(duration_s: float, *, burst: float = 0.2, every_s: float = 0.5, seed: int = 0) -> np.ndarray:
    """(2, n) float32: a quiet voice under sharp noise transients every every_s, burst
    their level: 24.6 dB from true peak to loudness at 0.2 (26.9 at 0.3, every 0.5 s), so
    normalised to a broadcast level, every transient meets the limiter (3–4 dB of it at
    0.2 and −23 LUFS: within what the spec lets it take)."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * SR))
    y = 0.003 * rng.standard_normal(n) + 0.25 * speech_like(duration_s, seed=3)
    t = np.arange(int(0.05 * SR)) / SR
    for start_s in np.arange(0.3, duration_s - 0.2, every_s):
        i = int(start_s * SR)
        b = burst * rng.standard_normal(len(t)) * np.exp(-t * 400)
        y[i:i + len(b)] += b[: n - i]
    y = np.clip(y, -1, 1)
    return np.stack([y, 0.9 * np.roll(y, 37)]).astype(np.float32)


def _loud_cut(path: Path, fps: Fraction) -> dict:
    """A cut of DURATION_S at fps whose sound is _transients(), as 16-bit PCM in a MOV
    (exact: no codec of its own between the test's signal and the scorer)."""
    import av

    picture = path.with_name(path.stem + "-picture.mp4")
    n_frames = int(round(DURATION_S * fps))
    truth = make_cut(picture, fps=fps, shot_frames=(n_frames // 2, n_frames - n_frames // 2), audio=False)
    with av.open(str(picture)) as src, av.open(str(path), "w", format="mov") as dst:
        vin = src.streams.video[0]
        vout = dst.add_stream_from_template(vin)
        aout = dst.add_stream("pcm_s16le", rate=SR, layout="stereo")
        for packet in src.demux(vin):
            if packet.dts is None:
                continue
            packet.stream = vout
            dst.mux(packet)
        frame = av.AudioFrame.from_ndarray(_transients(truth["duration_s"]), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = SR, 0
        for packet in aout.encode(frame):
            dst.mux(packet)
        for packet in aout.encode(None):
            dst.mux(packet)
    return truth


def _decoded(path: Path) -> np.ndarray:
    """The file's audio as decoded by PyAV, (2, n) float32, nothing clipped."""
    import av

    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray() for f in c.decode(c.streams.audio[0])], axis=1)


def _levels(y: np.ndarray) -> tuple[float, float]:
    """(true peak dBTP, integrated LUFS) by the project's meter, fed the signal whole."""
    meter = LoudnessMeter(SR, 2)
    meter.add(y)
    return meter.true_peak_dbtp(), meter.integrated_lufs()


def _video_packets(path: Path) -> list[bytes]:
    import av

    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


CASES = [  # (fps, spec): EBU at film and NTSC video rates, a web and a −2 dBTP broadcast spec
    (Fraction(24000, 1001), "ebu"),
    (Fraction(30000, 1001), "ebu"),
    (Fraction(24000, 1001), "web"),
    (Fraction(30000, 1001), "atsc"),
]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{float(c[0]):.3f}-{c[1]}")
def scored(request, tmp_path_factory):
    fps, spec = request.param
    d = tmp_path_factory.mktemp(f"levels-{spec}")
    cut = d / "loud.mov"
    truth = _loud_cut(cut, fps)
    # The Mix, Score and cue sheet handed to deliver(), to deliver them again without a preview.
    module = importlib.import_module("scorer.deliver")
    seen = {}
    real = module.deliver

    def spy(score, mix, cue_sheet, *args, **kwargs):
        seen.update(score=score, mix=mix, cue_sheet=cue_sheet)
        return real(score, mix, cue_sheet, *args, **kwargs)

    store = ClipStore(d / "work")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(module, "deliver", spy)
        # (No ambience bed: the levels at stake are the programme's, whatever plays in it.)
        report = scorer.score(cut, d / "out", seed=1, spec=spec, store=store, ambience=False)
    yield SimpleNamespace(fps=fps, spec=SPECS[spec], cut=cut, truth=truth, out=d / "out", report=report, **seen)
    store.close()


def test_preview_true_peak_decoded_is_under_the_ceiling(scored):
    ceiling = scored.spec.true_peak_dbtp
    loud = scored.report["loudness"]
    # The material is what the issue is about: the programme reaches the limiter …
    assert loud["programme_true_peak_dbtp"] >= ceiling - 0.3
    # … and the preview's AAC, decoded independently, still peaks under the ceiling.
    true_peak, lufs = _levels(_decoded(scored.out / "preview.mp4"))
    assert true_peak <= ceiling
    got = scored.report["preview"]
    assert got["measured_on"] == "decoded AAC of preview.mp4"
    assert got["ceiling_dbtp"] == ceiling and got["meets_ceiling"] is True
    assert got["true_peak_dbtp"] == pytest.approx(true_peak, abs=0.1)
    assert got["integrated_lufs"] == pytest.approx(lufs, abs=0.1)
    # The mix meets the spec, and the preview stays near it: AAC's low-pass takes the top
    # octave of the noise bursts (0.3 LU here), the headroom's extra limiting 0.25 LU.
    assert loud["programme_lufs"] == pytest.approx(scored.spec.integrated_lufs, abs=0.5)
    assert lufs == pytest.approx(scored.spec.integrated_lufs, abs=1.0)
    assert lufs == pytest.approx(got["passes"][-1]["pcm_integrated_lufs"], abs=0.5)


def test_the_report_says_what_was_measured_where(scored):
    report, ceiling = scored.report, scored.spec.true_peak_dbtp
    loud = report["loudness"]
    # The programme's own figures stay, named as the PCM before encoding.
    assert "before encoding" in loud["programme_measured_on"] and "PCM" in loud["programme_measured_on"]
    assert {"programme_lufs", "programme_true_peak_dbtp", "target_true_peak_dbtp"} <= set(loud)
    assert loud["programme_true_peak_dbtp"] <= ceiling
    got = report["preview"]
    passes = got["passes"]
    assert got["encodes"] == len(passes) >= 1
    assert got["limited_to_dbtp"] == passes[-1]["limited_to_dbtp"] < ceiling
    assert got["true_peak_dbtp"] == passes[-1]["decoded_true_peak_dbtp"]
    # Every pass but the last was over the ceiling (a re-encode only when needed), each
    # limited lower than the one before.
    assert all(p["decoded_true_peak_dbtp"] > ceiling for p in passes[:-1])
    assert all(b["limited_to_dbtp"] < a["limited_to_dbtp"] for a, b in zip(passes, passes[1:]))
    for p in passes:
        assert p["aac_overshoot_db"] == pytest.approx(p["decoded_true_peak_dbtp"] - p["pcm_true_peak_dbtp"],
                                                      abs=0.011)
    assert report["source"]["fps"] == f"{scored.fps.numerator}/{scored.fps.denominator}"
    if scored.fps == Fraction(30000, 1001):
        assert ";" in report["source"]["start_timecode"]          # drop-frame


def test_the_preview_keeps_the_picture_and_lasts_it(scored):
    assert _video_packets(scored.out / "preview.mp4") == _video_packets(scored.cut)
    n = _decoded(scored.out / "preview.mp4").shape[1]
    assert 0 <= n - round(scored.truth["duration_s"] * SR) < 1024
    # Nothing of the encodes is left beside it.
    assert sorted(p.name for p in scored.out.iterdir() if p.name.startswith(".")) == []


def test_without_a_preview_there_is_no_preview_section(scored, tmp_path):
    from scorer.deliver import deliver

    report = deliver(scored.score, scored.mix, scored.cue_sheet, tmp_path / "o", cut_path=scored.cut, preview=False)
    assert report["preview"] is None and not (tmp_path / "o" / "preview.mp4").exists()
    assert "programme_measured_on" in report["loudness"]


# --- the re-encode, on its own -----------------------------------------------------------------

@pytest.fixture(scope="module")
def picture(tmp_path_factory) -> tuple[Path, dict]:
    d = tmp_path_factory.mktemp("picture")
    cut = d / "cut.mp4"
    return cut, make_cut(cut, shot_frames=(60, 60), size=(64, 36), audio=False)


def _programme_at(audio: np.ndarray, gain_db: float):
    """programme(limit_dbtp) as deliver() hands it over: audio at gain_db, limited, a
    fresh stream of one-second blocks on each call."""
    gain = np.float32(db_to_gain(gain_db))
    return lambda limit_dbtp: limit((audio[:, i:i + SR] * gain for i in range(0, audio.shape[1], SR)),
                                    ceiling_dbtp=limit_dbtp)


def test_an_overshooting_encode_is_limited_lower_and_only_its_sound_encoded_again(picture, tmp_path, monkeypatch):
    import av

    from scorer.deliver import preview

    cut, truth = picture
    # Transients four times a second at a web level: 10 dB of limiting on each, on which
    # AAC at 192 kb/s adds about 1.1 dB to the true peak.
    audio = _transients(truth["duration_s"], burst=0.3, every_s=0.25)
    lufs, _ = measure([audio], sample_rate=SR)
    ceiling = -1.0
    # No headroom on the first encode: its AAC peaks over the ceiling on this programme.
    monkeypatch.setattr(preview, "AAC_HEADROOM_DB", 0.0)
    out = tmp_path / "preview.mp4"
    out.write_bytes(b"an earlier preview")
    limits, frames = [], []

    def programme(limit_dbtp):
        # The earlier file stays whole until the last encode is moved onto it.
        assert out.read_bytes() == b"an earlier preview"
        limits.append(limit_dbtp)
        return _programme_at(audio, -16.0 - lufs)(limit_dbtp)

    def overlay(k):
        frames.append(k)
        return "TC", "CUE"

    levels = preview.write_preview_under_ceiling(cut, programme, out, ceiling_dbtp=ceiling, overlay=overlay)
    first, last = levels.encodes[0], levels.encodes[-1]
    assert first.limited_to_dbtp == ceiling and first.true_peak_dbtp > ceiling
    assert first.aac_overshoot_db > 0.5                    # what AAC adds on limited transients
    assert len(levels.encodes) >= 2 and levels.meets_ceiling
    assert limits == [e.limited_to_dbtp for e in levels.encodes]
    # The next limit: lower by the overshoot past the ceiling and the margin.
    assert limits[1] == pytest.approx(ceiling - (first.true_peak_dbtp - ceiling) - preview.RELIMIT_MARGIN_DB)
    # Measured independently on the file in place:
    true_peak, decoded_lufs = _levels(_decoded(out))
    assert true_peak <= ceiling
    assert last.true_peak_dbtp == pytest.approx(true_peak, abs=0.1)
    assert last.integrated_lufs == pytest.approx(decoded_lufs, abs=0.1)
    # The picture was burnt in once; the re-encodes copied it.
    assert frames == list(range(truth["n_frames"]))
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(c.streams.video[0])) == truth["n_frames"]
    assert [p.name for p in tmp_path.iterdir()] == ["preview.mp4"]


def test_a_programme_under_the_ceiling_is_encoded_once(picture, tmp_path):
    from scorer.deliver.preview import write_preview_under_ceiling

    cut, truth = picture
    audio = _transients(truth["duration_s"])
    lufs, _ = measure([audio], sample_rate=SR)
    calls = []

    def programme(limit_dbtp):
        calls.append(limit_dbtp)
        return _programme_at(audio, -33.0 - lufs)(limit_dbtp)      # peaks 3.6 dB under the limit

    levels = write_preview_under_ceiling(cut, programme, tmp_path / "p.mp4", ceiling_dbtp=-2.0)
    assert len(calls) == 1 and len(levels.encodes) == 1 and levels.meets_ceiling
    assert _video_packets(tmp_path / "p.mp4") == _video_packets(cut)
