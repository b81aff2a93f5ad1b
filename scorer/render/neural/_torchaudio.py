"""Import torchaudio on a CPU build of torch.

torchaudio 2.11 (PyPI's newest) ships a native extension built against CUDA torch; on CPU
torch its `import` fails in `torchaudio._extension` (libc10_cuda.so is missing), and with
it `import audiocraft`. audiocraft uses only torchaudio's pure-Python parts (Spectrogram
for the chroma, Loudness), so where the real extension cannot load we put a stub
`torchaudio._extension` in its place before importing torchaudio again. The stub leans on
torchaudio internals: tools/install-neural.sh pins torchaudio exactly, and
tests/test_neural.py checks this module against that version.
"""
from __future__ import annotations

import sys
import types

TESTED_TORCHAUDIO = "2.11.0"
_native: bool | None = None     # None: not imported yet; else whether the real extension loaded


def _stub() -> types.ModuleType:
    stub = types.ModuleType("torchaudio._extension")
    stub._IS_TORCHAUDIO_EXT_AVAILABLE = False
    stub._IS_ALIGN_AVAILABLE = False

    def fail_if_no_align(func):
        def unavailable(*args, **kwargs):
            raise RuntimeError("torchaudio's forced-alignment extension is not available on this "
                               "(CPU) build of torch")
        return unavailable

    def _check_cuda_version():
        return None

    stub.fail_if_no_align = fail_if_no_align
    stub._check_cuda_version = _check_cuda_version
    stub.__all__ = ["_check_cuda_version", "_IS_TORCHAUDIO_EXT_AVAILABLE"]
    return stub


def _forget_torchaudio() -> None:
    for name in [n for n in sys.modules if n == "torchaudio" or n.startswith("torchaudio.")]:
        del sys.modules[name]


def import_torchaudio():
    """torchaudio, imported with its real native extension where that loads, else with the
    stub. Returns the module; `native_extension()` says which."""
    global _native
    if "torchaudio" in sys.modules and _native is not None:
        return sys.modules["torchaudio"]
    import torch  # noqa: F401  (torchaudio's extension loader needs torch loaded first)
    try:
        import torchaudio
        _native = bool(getattr(sys.modules.get("torchaudio._extension"), "_IS_TORCHAUDIO_EXT_AVAILABLE", False))
        return torchaudio
    except (OSError, ImportError) as exc:
        # Only the native-library failure is ours to handle; anything else is re-raised.
        if "torchaudio" not in repr(exc) and "libc10" not in repr(exc) and ".so" not in repr(exc):
            raise
        _forget_torchaudio()
    sys.modules["torchaudio._extension"] = _stub()
    import torchaudio
    _native = False
    return torchaudio


def native_extension() -> bool | None:
    """Whether torchaudio loaded its real extension (None before import_torchaudio())."""
    return _native
