"""One seed scheme: every draw from the seed and the labels of what is drawn."""
import subprocess
import sys
import zlib

import numpy as np

from media import make_cut
from scorer import seeds, studio
from scorer.batch import take_seed


def test_the_same_seed_and_labels_draw_the_same_in_another_process():
    here = [seeds.derive(7, "take", "reel1", "1M2", k) for k in range(4)]
    there = subprocess.run([sys.executable, "-c", "from scorer import seeds; print([seeds.derive(7, 'take', "
                            "'reel1', '1M2', k) for k in range(4)])"], capture_output=True, text=True, check=True)
    assert str(here) == there.stdout.strip()
    assert len(set(here)) == 4 and all(0 <= s < seeds.SEED_LIMIT for s in here)
    assert seeds.derive(7, "1M2") != seeds.derive(7, "1M3") != seeds.derive(8, "1M3")


def test_text_labels_are_their_crc32_so_a_cues_generator_is_what_it_always_was():
    # compose drew from default_rng([seed, crc32(cue id), stream]) before the scheme had a
    # module: the same music for the same seed after it.
    a = seeds.rng(3, "1M2", 2).integers(0, 1 << 30, 8)
    b = np.random.default_rng([3, zlib.crc32(b"1M2"), 2]).integers(0, 1 << 30, 8)
    assert (a == b).all()


def test_the_studio_draws_a_new_take_seed_as_batch_does(tmp_path):
    cut = tmp_path / "reel.mp4"
    make_cut(cut, shot_frames=(72, 72))
    p = studio.new_project(tmp_path / "p", cut, seed=4)
    cue = p.cue_sheet().cues[0].id
    first = studio.regenerate(p, [cue])
    second = studio.regenerate(p, [cue], takes=2)
    assert [t.seed for t in first + second] == [take_seed(4, "reel", cue, k) for k in (1, 2, 3)]
    # A seed someone typed that the scheme would give later is not drawn twice.
    studio.regenerate(p, [cue], seeds=[take_seed(4, "reel", cue, 5)])
    more = studio.regenerate(p, [cue], takes=2)
    assert [t.seed for t in more] == [take_seed(4, "reel", cue, k) for k in (4, 6)]
