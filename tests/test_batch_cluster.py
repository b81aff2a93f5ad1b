"""`scorer batch --backend musicgen` on a Ray cluster of two nodes on this machine (Ray's own
cluster_utils: a raylet each): a CPU node of 2 CPUs and a node that declares one GPU. The
model's actor asks for the GPU, so it lands on the GPU node and loads the model once for
every cue; analysis stays on the CPU node. The model is a tiny random MusicGen saved as an
audiocraft checkpoint folder (its output is noise: this checks plumbing, never music), run
on the CPU (device "cpu") since the declared GPU is only a Ray resource here."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import soundfile as sf

import pytest
import ray
from ray.cluster_utils import Cluster

from media import correlation, make_cut
from scorer import batch, studio
from scorer.project import Project
from scorer.timebase import SAMPLE_RATE, s_to_sample

pytestmark = [pytest.mark.ray, pytest.mark.neural]

SEED = 3


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "include_dashboard": False})
    gpu_node = c.add_node(num_cpus=1, num_gpus=1)
    ray.init(address=c.address, log_to_driver=False)
    yield c, gpu_node.node_id
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def tiny_musicgen(tmp_path_factory):
    """Found offline by name through model_path, like real weights."""
    from scorer.render.neural.models import import_audiocraft

    import_audiocraft()            # torchaudio's CUDA-only extension stubbed first, as the backend does
    from scorer.render.neural import random_models as R

    weights = tmp_path_factory.mktemp("weights")
    m = R.build("musicgen", R.lm_config(lm=R.TINY_LM, max_duration_s=20),
                R.compression_config(seanet=R.TINY_SEANET, rvq=R.TINY_RVQ, sample_rate=32000))
    R.save_checkpoint(m, weights / "musicgen-small")
    return weights


def test_one_actor_on_the_gpu_node_serves_every_cue_with_one_load(cluster, tiny_musicgen, tmp_path):
    _, gpu_node = cluster
    cut = tmp_path / "reel.mp4"
    make_cut(cut, shot_frames=(90, 30, 26, 34, 28, 200), clicks_s=(9.0,))
    options = {"model": "facebook/musicgen-small", "model_path": str(tiny_musicgen), "device": "cpu",
               "separate": False, "window_s": 4.0, "context_s": 1.0, "crossfade_s": 0.25}
    held: list = []
    (r,) = batch.run([str(cut)], tmp_path / "out", takes=2, seed=SEED, backend="musicgen", options=options,
                     preview=False, quiet=True, actor_info=held)
    assert r.error == "" and r.exported and os.path.isfile(r.zip)

    p = Project.open(r.folder)
    cues = p.cue_sheet().cues
    done = [t for t in p.takes() if t.status == "done"]
    assert len(cues) >= 2 and len(done) == 2 * len(cues)
    assert {t.backend for t in done} == {"musicgen"}
    for t in done:
        info = json.loads(studio.take_file(p, t, "take.json").read_text())
        assert info["backend"] == "musicgen" and info["params"]["seed"] == t.seed
    assert sorted(p.selected(c.id).seed for c in cues) == [SEED] * len(cues)

    (actor,) = held                                      # one GPU in the cluster: one actor
    assert actor["loads"] == 1 and actor["takes"] == len(done) and actor["device"] == "cpu"
    assert actor["node"] == gpu_node and actor["resources"].get("GPU") == 1.0
    assert r.nodes["take"] == {gpu_node}                                   # where the model is
    assert gpu_node not in r.nodes["analyse"] | r.nodes["deliver"]         # CPU work on the CPU node

    # The export delivered each cue from the stems its take kept — no model needed: with
    # the weights gone, exporting again still works, from the same recordings.
    folder = p.folder / "exports" / Path(r.zip).stem
    said = json.loads((folder / "chosen_takes.json").read_text())
    assert sorted(said) == sorted(c.id for c in cues)
    assert all(v["audio"] == "the take's own stems, as auditioned" and v["seed"] == SEED for v in said.values())
    shutil.rmtree(tiny_musicgen)
    again = studio.export(p, preview=False)
    first, second = _music(folder), _music(p.folder / "exports" / again.stem)
    assert first.shape == second.shape and np.abs(first).max() > 0.01
    assert np.array_equal(first, second)
    # …and the export's music is the take's: each cue's stem file, gain applied, is in it.
    for c in cues:
        take = p.selected(c.id)
        kept = json.loads(studio.take_file(p, take, "take.json").read_text())["stems"]
        for group, f in kept["files"].items():
            rec, _ = sf.read(studio.take_file(p, take, f["file"]), dtype="float32", always_2d=True)
            rec = rec.T * f["gain"]
            # Inside the cue, clear of the neighbours' tails that share the group.
            lo, hi = s_to_sample(c.start_s + 1.0) - kept["start_sample"], s_to_sample(c.end_s - 0.5) - kept["start_sample"]
            out = _stem(folder, group)[:, kept["start_sample"] + lo:kept["start_sample"] + hi]
            assert hi - lo > SAMPLE_RATE and correlation(out, rec[:, lo:hi]) > 0.99


def _stem(folder, group):
    (path,) = (folder / "stems").glob(f"*_ALL_{group[:1].upper() + group[1:]}_v[0-9][0-9].wav")
    y, _ = sf.read(path, dtype="float32", always_2d=True)
    return y.T


def _music(folder):
    return _stem(folder, "music")           # MusicGen's one group when it does not separate
