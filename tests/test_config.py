"""The SCORER_* environment: read in one place (scorer/config.py), once per process, into a
typed Config; a bad value is an InputError naming the variable; the settings reach the
code that uses them (the decoder's worker gets the parent's Config, not its own
environment)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pytest

from media import make_cut
from scorer import config
from scorer.config import VARIABLES, Config, current, using
from scorer.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
# What may touch the environment, and why: config.py reads it; hub_offline sets the
# Hugging Face offline variables for the duration of a model load (and restores them).
ALLOWED = {"scorer/config.py": None, "scorer/render/neural/models.py": {"hub_offline"}}
ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_uses(path: Path) -> list[tuple[int, str, str]]:
    """(line, enclosing function or "", what) for each use of os.environ / os.getenv & co.
    in the module at `path`, however os was imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    os_names = {"os"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {a.asname or a.name for a in node.names if a.name == "os"}
    found: list[tuple[int, str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, ast.Attribute) and node.attr in ENV_NAMES and isinstance(node.value, ast.Name) \
                and node.value.id in os_names:
            found.append((node.lineno, function, f"{node.value.id}.{node.attr}"))
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found.extend((node.lineno, function, f"from os import {a.name}")
                         for a in node.names if a.name in ENV_NAMES)
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(tree, "")
    return found


def test_only_config_reads_the_environment():
    wrong = []
    for path in sorted([*(ROOT / "scorer").rglob("*.py"), *(ROOT / "ui").rglob("*.py")]):
        rel = path.relative_to(ROOT).as_posix()
        allowed = ALLOWED.get(rel, set())
        if allowed is None:
            continue
        wrong += [f"{rel}:{line} ({function or 'module level'}): {what}"
                  for line, function, what in environment_uses(path) if function not in allowed]
    assert wrong == [], "read settings through scorer.config, not the environment:\n" + "\n".join(wrong)


def test_the_checker_finds_every_spelling(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import os\nimport os as o\nfrom os import getenv\n"
                   "a = os.environ.get('X')\ndef f():\n    return o.getenv('Y')\n")
    assert [(line, fn) for line, fn, _ in environment_uses(src)] == [(3, ""), (4, ""), (6, "f")]


# --- parsing ----------------------------------------------------------------------------------------

def test_unset_and_empty_variables_are_the_defaults():
    assert Config.from_env({}) == Config()
    assert Config.from_env({name: "" for name in VARIABLES.values()}) == Config()
    assert Config.from_env({"SCORER_MAX_PIXELS": "  "}) == Config()
    d = Config()
    assert (d.decode_timeout_s, d.decode_memory_mb, d.max_streams) == (None, 6144, 64)
    assert d.max_pixels == 8192 * 4352 and d.max_duration_s == 12 * 3600.0
    assert d.soundfont is d.model_path is d.separation_path is None
    assert set(VARIABLES) == {f.name for f in fields(Config)}            # every field has its variable


def test_every_variable_is_parsed_to_its_type():
    c = Config.from_env({
        "SCORER_DECODE_TIMEOUT_S": "2.5", "SCORER_DECODE_MEMORY_MB": "512", "SCORER_MAX_DURATION_S": "60",
        "SCORER_MAX_PIXELS": "1e6", "SCORER_MAX_STREAMS": " 4 ", "SCORER_SOUNDFONT": "/fonts/gm.sf2",
        "SCORER_MODEL_PATH": "/w", "SCORER_SEPARATION_PATH": "/w/htdemucs.th", "UNRELATED": "x"})
    assert c == Config(decode_timeout_s=2.5, decode_memory_mb=512, max_duration_s=60.0, max_pixels=1_000_000,
                       max_streams=4, soundfont=Path("/fonts/gm.sf2"), model_path=Path("/w"),
                       separation_path=Path("/w/htdemucs.th"))
    assert isinstance(c.max_pixels, int) and isinstance(c.max_duration_s, float)
    with pytest.raises(FrozenInstanceError):
        c.max_pixels = 1


@pytest.mark.parametrize("name, raw, why", [
    ("SCORER_DECODE_TIMEOUT_S", "zero", "is not a number"),
    ("SCORER_DECODE_TIMEOUT_S", "0", "must be positive"),
    ("SCORER_MAX_DURATION_S", "-1", "must be positive"),
    ("SCORER_MAX_DURATION_S", "inf", "must be finite"),
    ("SCORER_MAX_DURATION_S", "nan", "must be positive"),
    ("SCORER_MAX_PIXELS", "-3", "must be positive"),
    ("SCORER_MAX_STREAMS", "2.5", "must be a whole number"),
    ("SCORER_DECODE_MEMORY_MB", "6 GB", "is not a number"),
])
def test_a_bad_value_is_an_input_error_naming_the_variable(name, raw, why):
    with pytest.raises(InputError) as err:
        Config.from_env({name: raw})
    assert str(err.value) == f"environment variable {name}={raw!r} {why}"


# --- once per process, and overridden -------------------------------------------------------------

def test_current_reads_the_environment_once_and_using_replaces_it(monkeypatch):
    monkeypatch.setattr(config, "_current", None)           # as a fresh process starts
    monkeypatch.setenv("SCORER_MAX_STREAMS", "5")
    first = current()
    assert first.max_streams == 5
    monkeypatch.setenv("SCORER_MAX_STREAMS", "6")
    assert current() is first                               # read once: later changes are not seen
    with using(Config(max_streams=7)) as c:
        assert current() is c
    assert current() is first
    with pytest.raises(TypeError):
        with using({"max_streams": 7}):
            pass


def test_a_bad_variable_is_raised_when_first_read(monkeypatch):
    monkeypatch.setattr(config, "_current", None)
    monkeypatch.setenv("SCORER_MAX_STREAMS", "many")
    with pytest.raises(InputError, match="SCORER_MAX_STREAMS='many' is not a number"):
        current()


# --- the settings reach their users ---------------------------------------------------------------

@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "cut.mp4"
    make_cut(path, shot_frames=(12, 12), audio=False)
    return path


def test_the_decoders_worker_decodes_under_the_parents_config(cut, monkeypatch):
    """The spawned worker inherits the environment; it must use the Config it is handed."""
    from scorer.analyze.picture import PictureFeatures
    from scorer.io.video import PictureJob

    monkeypatch.setenv("SCORER_MAX_PIXELS", "1")             # what the worker would read, were it to
    with PictureJob(cut, features=PictureFeatures, config=Config()) as job:
        assert len(job.result()["arrays"]["pts"]) == 24
    with PictureJob(cut, features=PictureFeatures, config=Config(max_pixels=100)) as job:
        with pytest.raises(InputError, match="beyond the 100-pixel limit"):
            job.result()


def test_the_command_reads_the_variables_and_reports_a_bad_one(cut, tmp_path):
    def scorer_analyze(**env):
        return subprocess.run([sys.executable, "-m", "scorer.cli", "analyze", str(cut), "-o",
                               str(tmp_path / "cues.json"), "-q"], capture_output=True, text=True, timeout=120,
                              cwd=ROOT, env={**os.environ, **env})

    r = scorer_analyze(SCORER_MAX_PIXELS="10000")
    assert r.returncode == 2 and "beyond the 10000-pixel limit (set SCORER_MAX_PIXELS" in r.stderr, r.stderr
    r = scorer_analyze(SCORER_MAX_PIXELS="-3")
    assert r.returncode == 2, r.stderr
    assert "scorer: error: environment variable SCORER_MAX_PIXELS='-3' must be positive" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "cues.json").exists()
