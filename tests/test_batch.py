"""`scorer batch` on a local Ray instance (2 CPUs): three cuts come out as three sequential
`scorer score` runs would write them, the projects are the ones the studio writes one step
at a time, a rerun resumes, a worker killed mid-take is retried without a duplicate or a
lost take, and a neural actor loads its model once for many cues."""
from __future__ import annotations

import json
import os
import sys
import zipfile

import pytest
import ray

from media import make_cut
from scorer import batch, cli, studio
from scorer.errors import BackendUnavailable
from scorer.project import Project

SEED = 7
TAKES = 2


@pytest.fixture(scope="module")
def cuts(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch_cuts")
    a, b, c = d / "Reel 1.mp4", d / "reel_2.mp4", d / "reel-3.mp4"
    make_cut(a, shot_frames=(120, 100, 60, 150), clicks_s=(6.0,))
    make_cut(b, shot_frames=(90, 30, 26, 34, 28, 200), clicks_s=(9.0,))
    make_cut(c, shot_frames=(150, 140, 110), clicks_s=(4.0, 11.5))
    return [a, b, c]


def kill_once(markers: dict):
    """A take hook (batch.run's take_hook) armed at each point in `markers` (point →
    marker file): the first take task to reach the point kills its worker (os._exit) and
    leaves the marker, which disarms it, so Ray's retry runs normally. A closure, so Ray
    pickles it by value: this test module is not importable in the workers."""
    def hook(point: str) -> None:
        marker = markers.get(point)
        if marker is None:
            return
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.close(fd)
        os._exit(1)

    return hook


@pytest.fixture(scope="module")
def ray_local():
    """A local instance of 2 CPUs."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def first_run(cuts, tmp_path_factory, ray_local):
    """One batch run in which two take tasks kill their workers: one while its take is
    'running', one after the take is done but before it reports back."""
    out = tmp_path_factory.mktemp("batch_out")
    marks = tmp_path_factory.mktemp("marks")
    faults = {"compose": marks / "compose", "finished": marks / "finished"}
    runs = batch.run([str(c) for c in cuts], out, takes=TAKES, seed=SEED, preview=False, quiet=True,
                     take_hook=kill_once(faults))
    return out, runs, faults


def _done(p: Project) -> list:
    return [t for t in p.takes() if t.status == "done"]


def _export_folder(p: Project):
    (z,) = sorted((p.folder / "exports").glob("*.zip"))
    return p.folder / "exports" / z.stem, z


@pytest.mark.ray
def test_batch_matches_three_sequential_scorer_score_runs(first_run, cuts, tmp_path):
    out, runs, _ = first_run
    assert [r.error for r in runs] == ["", "", ""]
    assert sum(len(r.cues) for r in runs) > len(cuts)          # cuts of several cues among them
    for cut, r in zip(cuts, runs):
        assert r.exported and os.path.isfile(r.zip)
        assert cli.main(["score", str(cut), "-o", str(tmp_path / cut.stem), "--seed", str(SEED),
                         "--no-preview", "-q"]) == 0
        p = Project.open(out / cut.stem)
        folder, z = _export_folder(p)
        mine, theirs = folder, tmp_path / cut.stem
        assert (mine / "score.mid").read_bytes() == (theirs / "score.mid").read_bytes()
        assert json.loads((mine / "cues.json").read_text()) == json.loads((theirs / "cues.json").read_text())
        assert (mine / "cuesheet.csv").read_text() == (theirs / "cuesheet.csv").read_text()
        assert p.cue_sheet().to_dict() == json.loads((theirs / "cues.json").read_text())
        with zipfile.ZipFile(z) as zf:                                   # the zip holds that export
            assert zf.read(f"{folder.name}/score.mid") == (theirs / "score.mid").read_bytes()


@pytest.mark.ray
def test_every_take_is_the_one_the_studio_makes(first_run, cuts, tmp_path):
    out, _, _ = first_run
    for cut in cuts:
        p = Project.open(out / cut.stem)
        sheet = p.cue_sheet()
        assert studio.project_seed(p) == SEED
        seq = Project.create(tmp_path / cut.stem, cut_path=cut, cue_sheet=sheet)
        seq.set_setting("seed", str(SEED))
        for cue in sheet.cues:
            seeds = [batch.take_seed(SEED, cut.stem, cue.id, k) for k in range(TAKES)]
            assert seeds[0] == SEED and len(set(seeds)) == TAKES
            mine = {t.seed: t for t in _done(p) if t.cue_id == cue.id}
            assert sorted(mine) == sorted(seeds)
            assert p.selected(cue.id).seed == SEED                      # the first take is chosen
            ref = studio.make_take(seq, cue.id, studio.take_params(seed=seeds[1]))
            assert (studio.take_file(p, mine[seeds[1]], "take.mid").read_bytes()
                    == studio.take_file(seq, ref, "take.mid").read_bytes())
        assert p.verify() == []


@pytest.mark.ray
def test_a_killed_worker_is_retried_without_duplicating_a_take(first_run):
    out, runs, faults = first_run
    assert all(f.exists() for f in faults.values())                     # both workers did die
    failed = 0
    for r in runs:
        p = Project.open(r.folder)
        done = _done(p)
        assert len(done) == len(r.cues) * TAKES == r.takes_done         # none lost
        assert len({(t.cue_id, t.seed) for t in done}) == len(done)     # none twice
        failed += sum(t.status == "failed" for t in p.takes())
        assert not any(t.status == "running" for t in p.takes())
    assert failed == 1        # the take whose worker died while writing it, marked by recover()


@pytest.mark.ray
def test_a_rerun_resumes_and_makes_nothing_new(first_run, cuts, capsys):
    out, _, _ = first_run
    before = {c.stem: [(t.id, t.status, t.files) for t in Project.open(out / c.stem).takes()] for c in cuts}
    zips = {c.stem: sorted((out / c.stem / "exports").glob("*.zip")) for c in cuts}
    # The same command again (through the CLI, on the instance this module started).
    code = cli.main(["batch", *map(str, cuts), "-o", str(out), "--takes", str(TAKES),
                     "--seed", str(SEED), "--no-preview"])
    assert code == 0
    err = capsys.readouterr().err
    for c in cuts:
        assert [(t.id, t.status, t.files) for t in Project.open(out / c.stem).takes()] == before[c.stem]
        assert sorted((out / c.stem / "exports").glob("*.zip")) == zips[c.stem]
    assert err.count("resumed") == len(cuts) and f"{len(cuts)} cuts in" in err
    n_cues = sum(len(Project.open(out / c.stem).cue_sheet().cues) for c in cuts)
    assert f"cues done {n_cues}/{n_cues}" in err and "exported 3/3" in err


def test_take_seeds_are_stable_and_distinct():
    assert batch.take_seed(1, "Reel 1", "1M1", 1) == batch.take_seed(1, "Reel 1", "1M1", 1)
    assert batch.take_seed(5, "Reel 1", "1M1", 0) == 5
    seeds = {batch.take_seed(s, c, q, k) for s in (0, 1) for c in ("a", "b") for q in ("1M1", "1M2")
             for k in range(1, 4)}
    assert len(seeds) == 24 and all(0 <= s < 2 ** 31 for s in seeds)


def test_bad_batch_requests_are_refused_before_anything_runs(cuts, tmp_path, capsys):
    assert cli.main(["batch", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "o")]) == 2
    assert "nope.mp4" in capsys.readouterr().err
    assert cli.main(["batch", str(cuts[0]), "-o", str(tmp_path / "o"), "--model-path", str(tmp_path)]) == 2
    assert "neural --backend" in capsys.readouterr().err
    assert not (tmp_path / "o" / cuts[0].stem).exists()


# --- a neural backend ----------------------------------------------------------------------------
# (an actor serving many cues with one load, on a GPU node of a cluster: test_batch_cluster.py)

@pytest.mark.ray
def test_missing_weights_stop_a_neural_batch_with_the_backends_message(cuts, tmp_path, ray_local):
    """The actor fails to load before any analysis starts, with the backend's own words."""
    with pytest.raises(BackendUnavailable, match="musicgen-small"):
        batch.run([str(cuts[0])], tmp_path / "out", backend="musicgen", quiet=True,
                  options={"model": "facebook/musicgen-small", "model_path": str(tmp_path / "empty")})
    assert not (tmp_path / "out" / cuts[0].stem).exists()


def test_without_ray_the_command_says_how_to_get_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)          # `import ray` fails as if not installed
    assert cli.main(["batch", str(tmp_path / "a.mp4"), "-o", str(tmp_path / "o")]) == 2
    assert "pip install -e '.[scale]'" in capsys.readouterr().err
