"""A delivery killed at any moment: OUT stays the previous delivery, whole and unchanged;
nothing half-written is left once the next run has started; the next run delivers."""
from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from media import make_cut

pytestmark = pytest.mark.slow          # ~110 s on 2 cores

KILLS = 20


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _score(cut: Path, out: Path, seed: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scorer.cli", "score", str(cut), "-o", str(out),
                             "--seed", str(seed), "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    d = tmp_path_factory.mktemp("kills")
    cut = d / "cut.mp4"
    make_cut(cut, shot_frames=(60, 48, 60), speech_at=((2.5, "Not now."),))
    out = d / "out"
    t = time.monotonic()
    proc = _score(cut, out, seed=1)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()
    return cut, out, time.monotonic() - t


def test_twenty_kills_at_random_moments_leave_the_previous_delivery_whole(first):
    cut, out, run_s = first
    before = _tree(out)
    assert "mix.wav" in before and os.readlink(out) == "out.v01"
    rng = random.Random(16)
    for k in range(KILLS):
        proc = _score(cut, out, seed=2 + k)
        time.sleep(rng.uniform(0.0, 1.1 * run_s))       # anywhere in the run, delivery included
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        link = os.readlink(out)
        if link != "out.v01":
            # The kill came after the delivery appeared: the new version is whole too.
            assert _tree(out)["report.json"] and "mix.wav" in _tree(out)
        assert _tree(out.parent / "out.v01") == before          # the first delivery never changes
    # The next run clears what killed runs left and delivers the next version.
    proc = _score(cut, out, seed=99)
    assert proc.wait(timeout=600) == 0, proc.stderr.read().decode()
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(".scorer-staging-")]
    assert leftovers == []
    newest = os.readlink(out)
    assert newest != "out.v01" and "mix.wav" in _tree(out)
    assert _tree(out.parent / "out.v01") == before
