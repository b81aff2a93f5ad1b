#!/usr/bin/env bash
# Install the neural render backends (musicgen, audiogen) into an existing scorer venv.
#
#   tools/install-neural.sh VENV            (a venv folder, e.g. .venv)
#   tools/install-neural.sh VENV/bin/python (or its python / pip)
#
# Why a script and not just `pip install scorer[neural]`: audiocraft 1.3.0 pins
# torch==2.1.0, av==11.0.0 (no cp311 wheel), xformers<0.0.23 and torchvision/torchtext,
# which clash with a current stack. So: the pinned torch first (never an unpinned one),
# then the runtime audiocraft needs, pinned to the versions tested together, then
# audiocraft itself with --no-deps.
# Idempotent: what is already installed at the pinned version is left alone.
#
# Environment: SCORER_TORCH (default torch==2.13.0) is the torch asked for. pip takes it
# from a wheel folder where PIP_FIND_LINKS names one (e.g. a CPU build kept on disk), else
# from the index: PyPI's Linux build of torch brings CUDA (GBs); for a CPU-only machine
# point pip at PyTorch's CPU index first (PIP_INDEX_URL=https://download.pytorch.org/whl/cpu
# PIP_EXTRA_INDEX_URL=https://pypi.org/simple).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 VENV | VENV/bin/python | VENV/bin/pip" >&2
    exit 2
fi
target=$1
if [[ -d $target ]]; then
    py=$target/bin/python
else
    py=$(dirname "$target")/python
fi
if [[ ! -x $py ]]; then
    echo "no python at $py (give a venv folder or its bin/python or bin/pip)" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
torch_req=${SCORER_TORCH:-torch==2.13.0}
pip=("$py" -m pip --disable-pip-version-check)

have() {   # have NAME VERSION: is NAME installed at VERSION (any local build of it: 2.13.0+cpu)?
    [[ "$("$py" -c "import importlib.metadata as m; print(m.version('$1').split('+')[0])" 2>/dev/null)" == "${2%%+*}" ]]
}

# 1. torch at the pinned version (a wheel folder in PIP_FIND_LINKS is looked in by pip
#    itself); torch's own small dependencies (filelock, sympy, ...) come from the index.
torch_version=${torch_req#torch==}
if have torch "$torch_version"; then
    echo "torch $torch_version already installed"
else
    echo "installing $torch_req"
    # torch wants setuptools >= 77; from 81 on setuptools no longer ships pkg_resources,
    # which resampy (librosa's and basic-pitch's resampler) still imports.
    "${pip[@]}" install "$torch_req" "setuptools>=77.0.3,<81"
fi

# 2. The runtime audiocraft and demucs use, pinned to the set tested together. A
#    constraint holds torch where step 1 put it, so nothing here can replace it.
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
printf 'torch==%s\nsetuptools<81\n' "${torch_version%%+*}" > "$constraints"
runtime=(
    "einops==0.8.2" "julius==0.2.8" "omegaconf==2.4.0" "flashy==0.0.2" "num2words==0.5.14"
    "spacy==3.8.18" "sentencepiece==0.2.3" "transformers==5.23.0" "huggingface_hub==2.4.0"
    "safetensors==0.8.0" "torchmetrics==1.9.0" "xformers==0.0.35" "pyyaml==6.0.3"
    "demucs==4.1.0" "lameenc==1.9.0" "sphn==0.2.1"
)
missing=()
for req in "${runtime[@]}"; do
    have "${req%%==*}" "${req#*==}" || missing+=("$req")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing runtime: ${missing[*]}"
    "${pip[@]}" install -c "$constraints" "${missing[@]}"
else
    echo "runtime already installed"
fi

# 3. audiocraft and torchaudio without their dependency pins. torchaudio 2.11's native
#    extension needs CUDA torch; scorer/render/neural/_torchaudio.py blocks it on CPU torch,
#    which leans on torchaudio internals — hence the exact pin.
for req in "torchaudio==2.11.0" "audiocraft==1.3.0"; do
    if have "${req%%==*}" "${req#*==}"; then
        echo "${req%%==*} already installed"
    else
        "${pip[@]}" install --no-deps "$req"
    fi
done

# 4. Check: the backends import and the shim works on this torch.
"$py" - <<'PY'
import time
t0 = time.perf_counter()
from scorer.render.neural.models import import_audiocraft
import_audiocraft()
import torch, torchaudio, audiocraft, demucs
print(f"neural backends ready: torch {torch.__version__}, torchaudio {torchaudio.__version__}, "
      f"audiocraft {audiocraft.__version__}, demucs {demucs.__version__} "
      f"(import {time.perf_counter() - t0:.1f} s)")
PY
