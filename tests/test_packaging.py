"""Packaging: a built wheel (not the editable checkout) holds the presets and scores a cut."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from media import make_cut

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(REPO)], check=True, capture_output=True, timeout=600)
    return next(out.glob("scorer-*.whl"))


def test_the_wheel_holds_every_preset_and_the_type_marker(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"scorer/presets/{p.name}" for p in (REPO / "presets").glob("*.toml")}
    assert shipped and shipped <= names
    assert "scorer/py.typed" in names


def test_an_installed_wheel_scores_a_cut(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    cut = tmp_path / "cut.mp4"
    make_cut(cut, shot_frames=(48, 48, 48))
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run([sys.executable, "-c", "import scorer, scorer.music.presets as p; "
                            "print(scorer.__file__); print(len(p.load_presets()))"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr
    where, count = probe.stdout.split()
    assert Path(where).is_relative_to(target)          # the wheel's copy, not the checkout
    assert int(count) == len(list((REPO / "presets").glob("*.toml")))
    run = subprocess.run([sys.executable, "-m", "scorer.cli", "score", str(cut), "-o", str(tmp_path / "out"),
                          "--no-preview"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert (tmp_path / "out" / "mix.wav").stat().st_size > 0
