"""`scorer batch` on a local Ray instance (2 CPUs): the projects it writes are the ones the
studio writes one step at a time, a rerun resumes, and a worker killed mid-take is retried
without a duplicate or a lost take."""
from __future__ import annotations

import os

import pytest
import ray

from media import make_cut
from scorer import batch, cli, studio
from scorer.pipeline import analyze_and_spot
from scorer.project import Project

SEED = 7
TAKES = 2


@pytest.fixture(scope="module")
def cuts(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch_cuts")
    a, b = d / "Reel 1.mp4", d / "reel_2.mp4"
    make_cut(a, shot_frames=(120, 100, 60, 150), clicks_s=(6.0,))
    make_cut(b, shot_frames=(90, 30, 26, 34, 28, 200), clicks_s=(9.0,))
    return [a, b]


@pytest.fixture(scope="module")
def first_run(cuts, tmp_path_factory):
    """One batch run in which two take tasks kill their workers: one while its take is
    'running', one after the take is done but before it reports back."""
    out = tmp_path_factory.mktemp("batch_out")
    marks = tmp_path_factory.mktemp("marks")
    faults = {"compose": marks / "compose", "finished": marks / "finished"}
    # The workers inherit the driver's environment when the local instance starts.
    os.environ[batch.FAULT_ENV] = ",".join(f"{k}:{v}" for k, v in faults.items())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        runs = batch.run([str(c) for c in cuts], out, takes=TAKES, seed=SEED, preview=False, quiet=True)
        yield out, runs, faults
    finally:
        ray.shutdown()
        os.environ.pop(batch.FAULT_ENV, None)


def _done(p: Project) -> list:
    return [t for t in p.takes() if t.status == "done"]


def test_batch_writes_what_the_studio_writes(first_run, cuts, tmp_path):
    out, runs, _ = first_run
    assert [r.error for r in runs] == ["", ""]
    for cut, r in zip(cuts, runs):
        p = Project.open(out / cut.stem)
        sheet = p.cue_sheet()
        assert sheet.to_dict() == analyze_and_spot(cut).to_dict()
        assert studio.project_seed(p) == SEED and r.exported and os.path.isfile(r.zip)
        # The same cue sheet, seed and take parameters, one step at a time in this process.
        seq = Project.create(tmp_path / cut.stem, cut_path=cut, cue_sheet=sheet)
        seq.set_setting("seed", str(SEED))
        for cue in sheet.cues:
            seeds = [batch.take_seed(SEED, cut.stem, cue.id, k) for k in range(TAKES)]
            mine = {t.seed: t for t in _done(p) if t.cue_id == cue.id}
            assert sorted(mine) == sorted(seeds)
            assert p.selected(cue.id).seed == seeds[0]                 # the first take is chosen
            for s in seeds:
                ref = studio.make_take(seq, cue.id, studio.take_params(seed=s))
                assert (studio.take_file(p, mine[s], "take.mid").read_bytes()
                        == studio.take_file(seq, ref, "take.mid").read_bytes())
        assert p.verify() == []


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
    assert err.count("resumed") == 2 and f"{len(cuts)} cuts in" in err


def test_take_seeds_are_stable_and_distinct():
    assert batch.take_seed(1, "Reel 1", "1M1", 0) == batch.take_seed(1, "Reel 1", "1M1", 0)
    seeds = {batch.take_seed(s, c, q, k) for s in (0, 1) for c in ("a", "b") for q in ("1M1", "1M2")
             for k in range(3)}
    assert len(seeds) == 24 and all(0 <= s < 2 ** 31 for s in seeds)
