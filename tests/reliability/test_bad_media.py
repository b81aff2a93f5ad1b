"""Hostile and broken media: each is refused (or handled) with a clear message naming the
problem, the process stays up, nothing is left behind, no byte of a file a playlist points
at is read, and a good file works afterwards. Decoding runs in worker processes whose
memory and time are capped (the limits are scorer.config.Config's, each set by a SCORER_*
environment variable; tests/test_config.py checks the variables reach them).
"""
from __future__ import annotations

from scorer.analyze.picture import PictureFeatures

import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from media import make_audio_only, make_cut, truncate

from scorer.analyze import analyze
from scorer.config import Config, using
from scorer.errors import InputError
from scorer.io.video import decode_audio, probe

SECRET = b"TOP-SECRET-BYTES-0123456789"


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    cut = d / "good.mp4"
    make_cut(cut, shot_frames=(30, 30), speech_spans_s=((0.5, 1.5),))
    return cut


@pytest.fixture()
def secret(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_bytes(SECRET * 100)
    return p


class Listener:
    """A loopback TCP server that records whether anything connected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop = True
        self.thread.join(timeout=2)
        self.sock.close()


def _temp_leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("scorer-*")}


def _patch(src: Path, dst: Path, fn) -> Path:
    data = bytearray(src.read_bytes())
    fn(data)
    dst.write_bytes(bytes(data))
    return dst


def _absurd_size(path: Path) -> None:
    """A Matroska file whose header declares a 16000x16000 raw picture (1 GB a frame)."""
    import av
    with av.open(str(path), "w", format="matroska") as c:
        s = c.add_stream("rawvideo", rate=24)
        s.width, s.height, s.pix_fmt = 16000, 16000, "yuv420p"
        p = av.Packet(b"\x00" * 16)
        p.stream, p.pts, p.dts = s, 0, 0
        c.mux(p)


def _absurd_duration(data: bytearray) -> None:
    """Make the movie header claim 136 years and every track 2^32 − 1 units."""
    k = data.find(b"mvhd")
    struct.pack_into(">II", data, k + 4 + 4 + 8, 1, 0xFFFFFFFF)
    k = data.find(b"mdhd")
    while k >= 0:
        struct.pack_into(">I", data, k + 4 + 4 + 8 + 4, 0xFFFFFFFF)
        k = data.find(b"mdhd", k + 4)


def _many_streams(path: Path, n: int) -> None:
    import av
    with av.open(str(path), "w", format="matroska") as c:
        v = c.add_stream("mpeg4", rate=24)
        v.width, v.height, v.pix_fmt = 64, 64, "yuv420p"
        for _ in range(n):
            c.add_stream("pcm_s16le", rate=8000, layout="mono")
        for i in range(3):
            frame = __import__("av").VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)


CASES = {
    "empty": (lambda d, good, secret, port: (d / "x.mp4").write_bytes(b""), "is empty"),
    "truncated inside the header": (lambda d, good, secret, port: truncate(good, d / "x.mp4", keep=0.002),
                                    "truncated|not a video"),
    "truncated inside the first frame": (lambda d, good, secret, port: _truncate_in_first_frame(good, d / "x.mp4"),
                                         "truncated|damaged|no decodable"),
    "truncated halfway": (lambda d, good, secret, port: truncate(good, d / "x.mp4", keep=0.5),
                          "truncated|damaged"),
    "text renamed .mp4": (lambda d, good, secret, port: (d / "x.mp4").write_text("hello\nworld\n"),
                          "not a video file: it is a text file"),
    "HTML renamed .mp4": (lambda d, good, secret, port: (d / "x.mp4").write_text("<!DOCTYPE html><html></html>"),
                          "an HTML page"),
    "SVG renamed .mp4": (lambda d, good, secret, port: (d / "x.mp4").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>'), "an SVG image"),
    "audio only": (lambda d, good, secret, port: make_audio_only(d / "x.mp4"), "has no video stream"),
    "absurd picture size": (lambda d, good, secret, port: _absurd_size(d / "x.mp4"),
                            "16000x16000 picture, beyond the .*-pixel limit"),
    "too many streams": (lambda d, good, secret, port: _many_streams(d / "x.mp4", 70), "71 streams"),
    "HLS playlist of a local file": (lambda d, good, secret, port: (d / "x.mp4").write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://{secret}\n#EXTINF:10,\n{good}\n#EXT-X-ENDLIST\n"),
        "an HLS playlist"),
    "HLS playlist of a loopback URL": (lambda d, good, secret, port: (d / "x.mp4").write_text(
        f"#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1:{port}/seg.ts\n#EXT-X-ENDLIST\n"), "an HLS playlist"),
    "concat list": (lambda d, good, secret, port: (d / "x.mp4").write_text(
        f"ffconcat version 1.0\nfile '{good}'\nfile '{secret}'\n"), "an FFmpeg concat list"),
    "playlist behind leading spaces": (lambda d, good, secret, port: (d / "x.mp4").write_text(
        f"   \n#EXTM3U\nhttp://127.0.0.1:{port}/a.ts\n"), "HLS playlist"),
}


def _truncate_in_first_frame(good: Path, dst: Path) -> None:
    """Cut the file a few bytes into the first video sample (moov at the end is lost too)."""
    data = good.read_bytes()
    k = data.find(b"mdat")
    dst.write_bytes(data[:k + 8 + 40])


@pytest.fixture()
def private_tmp(tmp_path, monkeypatch):
    """This test's own temp folder, so other processes' temp files don't count."""
    d = tmp_path / "tmp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_media_is_refused_clearly_and_nothing_leaks(name, tmp_path, good, secret, private_tmp):
    make, needle = CASES[name]
    listener = Listener()
    before = _temp_leftovers()
    try:
        make(tmp_path, good, secret, listener.port)
        bad = tmp_path / "x.mp4"
        with pytest.raises(InputError, match=needle) as e:
            analyze(bad)
        assert str(bad) in str(e.value)
        assert SECRET.decode() not in str(e.value)
        with pytest.raises(InputError):
            probe(bad)
    finally:
        listener.close()
    assert listener.connections == 0, "a playlist made the decoder connect to loopback"
    assert _temp_leftovers() == before
    # The process is still up and a good file still works.
    assert len(analyze(good).shots) == 2


def test_an_absurd_declared_duration_is_ignored_for_the_real_one(tmp_path, good):
    """FFmpeg times an MP4 by its sample tables, not the headers' durations: the cut is
    analysed at its true length."""
    bad = _patch(good, tmp_path / "x.mp4", _absurd_duration)
    a = analyze(bad)
    assert len(a.shots) == 2 and abs(a.source.duration_s - 60 * 1001 / 24000) < 0.05


def test_a_wrong_extension_is_no_problem(tmp_path, good):
    renamed = tmp_path / "cut.mov.txt"
    renamed.write_bytes(good.read_bytes())
    assert len(analyze(renamed).shots) == 2


def test_a_cut_without_audio_is_analysed(tmp_path):
    cut = tmp_path / "silent.mp4"
    make_cut(cut, shot_frames=(24, 24), audio=False)
    a = analyze(cut)
    assert len(a.shots) == 2 and not a.source.has_audio and a.dialogue == ()


def test_the_decoders_memory_cap_stops_a_decode_cleanly(tmp_path, good, private_tmp):
    """With the cap far below what decoding needs, the worker fails with a clear message
    (or dies), the caller gets an InputError, and nothing is left behind."""
    before = _temp_leftovers()
    with pytest.raises(InputError, match="memory|decoder process") as e:
        decode_audio(good, sample_rate=48000, mono=True, config=Config(decode_memory_mb=40))
    assert str(good) in str(e.value)
    assert _temp_leftovers() == before
    assert decode_audio(good, sample_rate=48000, mono=True, config=Config()).shape[0] == 1


def test_the_decoders_time_limit_stops_a_decode(tmp_path, good):
    with using(Config(decode_timeout_s=0.05)), \
            pytest.raises(InputError, match="was still running after .* and was stopped"):
        analyze(good)
    with pytest.raises(InputError, match="SCORER_DECODE_TIMEOUT_S='zero' is not a number"):
        Config.from_env({"SCORER_DECODE_TIMEOUT_S": "zero"})


def test_a_decoder_killed_mid_job_is_an_input_error_and_the_next_job_works(tmp_path, good, monkeypatch):
    """SIGKILL the picture worker as soon as it reports: the caller survives."""
    import signal

    from scorer.io.video import PictureJob

    job = PictureJob(good, features=PictureFeatures)
    try:
        while job.worker_pid is None:
            job._done.wait(0.01)
            if job._outcome is not None:
                break
        if job.worker_pid:
            os.kill(job.worker_pid, signal.SIGKILL)
        with pytest.raises(InputError, match="killed by signal|decoder"):
            job.result()
    finally:
        job.close()
    assert len(analyze(good).shots) == 2


def test_the_cli_stays_clear_on_a_playlist(tmp_path, good, secret):
    bad = tmp_path / "x.mp4"
    bad.write_text(f"#EXTM3U\n#EXTINF:10,\nfile://{secret}\n")
    r = subprocess.run([sys.executable, "-m", "scorer.cli", "score", str(bad), "-o", str(tmp_path / "out"), "-q"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "HLS playlist" in r.stderr and str(bad) in r.stderr
    assert SECRET.decode() not in r.stdout + r.stderr
    assert not (tmp_path / "out").exists()


def test_limits_are_configurable(tmp_path, good):
    with pytest.raises(InputError, match="320x180 picture, beyond the 10000-pixel limit .*SCORER_MAX_PIXELS"):
        probe(good, config=Config.from_env({"SCORER_MAX_PIXELS": str(100 * 100)}))
    with pytest.raises(InputError, match="SCORER_MAX_PIXELS='-3' must be positive"):
        Config.from_env({"SCORER_MAX_PIXELS": "-3"})
    assert probe(good, config=Config()).fps == Fraction(24000, 1001)
