import os

# Numba/librosa and torch-free code paths only; keep BLAS to one thread so timings and
# results do not depend on how busy the machine is.
os.environ.setdefault("OMP_NUM_THREADS", "1")
