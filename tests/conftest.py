import os

# Numba/librosa and torch-free code paths only; keep BLAS to one thread so timings and
# results do not depend on how busy the machine is.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Property tests draw the same examples on every run: CI must not pass or fail by luck.
# (Run with HYPOTHESIS_PROFILE=explore to search afresh.)
from hypothesis import settings  # noqa: E402

settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
