"""Stems from a neural take: demucs (htdemucs) separates it into drums, bass and other.

MusicGen writes one mixed take; a temp score is delivered as stems, so the take is split
with demucs' htdemucs (which audiocraft's melody model uses too). Its `vocals` source is
folded into `other` (a score has no singer; what lands there is melody). Whatever the
separation leaves out (take − Σ stems) is added to `other` as well, so the stems sum to
the take exactly; the report keeps that residual's level as a measure of the separation.

Weights: the htdemucs file in the Hugging Face cache (adefossez/HTDemucs, what demucs 4.1
loads) or in torch hub's checkpoint folder (what older demucs downloaded), or a file or
folder given as `separation_path` / $SCORER_SEPARATION_PATH. Found offline or not at all;
once loaded, the model is held by the caller's ModelLoader (models.py), like the
generation models.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from scorer.config import VARIABLES, current
from scorer.errors import BackendUnavailable

STEMS = ("drums", "bass", "other")
SEPARATION_PATH_ENV = VARIABLES["separation_path"]
HTDEMUCS_SIG = "955717e8"                     # the published htdemucs model's signature


def _how_to_get() -> str:
    return ("on a machine with internet access run `hf download adefossez/HTDemucs` (or run demucs once, "
            "which fills ~/.cache/torch/hub/checkpoints), copy the cache here, or pass the "
            f"htdemucs .th/.safetensors file as separation_path / set {SEPARATION_PATH_ENV}; "
            "or render with separate=False (one 'music' stem)")


def find_htdemucs(separation_path: str | os.PathLike | None = None) -> Path:
    """The htdemucs weights file: separation_path, else $SCORER_SEPARATION_PATH
    (config.current()), else the Hugging Face cache or torch hub's folder;
    BackendUnavailable (fast, offline) if none."""
    explicit = separation_path if separation_path is not None else current().separation_path
    if explicit is not None:
        p = Path(explicit)
        if p.is_dir():
            found = sorted(p.glob(f"{HTDEMUCS_SIG}*.th")) + sorted(p.glob(f"{HTDEMUCS_SIG}*.safetensors"))
            if found:
                return found[0]
        elif p.is_file():
            return p
        raise BackendUnavailable(f"no htdemucs weights at {str(p)!r}; {_how_to_get()}")
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache("adefossez/HTDemucs", f"{HTDEMUCS_SIG}.safetensors")
    if isinstance(cached, str):
        return Path(cached)
    import torch
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    found = sorted(hub.glob(f"{HTDEMUCS_SIG}*.th")) if hub.is_dir() else []
    if found:
        return found[0]
    raise BackendUnavailable(f"no htdemucs weights found offline (Hugging Face cache, {hub}); {_how_to_get()}")


def load_separator(*, loader, separation_path=None, device: str = "cpu"):
    """The htdemucs model on `device`, loaded once by `loader` (a models.ModelLoader; the
    backends pass models.LOADER) and held by it until it is released."""
    path = find_htdemucs(separation_path)
    return loader.keep(("htdemucs", str(path), device), lambda: _build_separator(path, device))


def _build_separator(path: Path, device: str):
    if path.suffix == ".safetensors":
        from demucs.hf import load_safetensors_model
        model = load_safetensors_model(path)
    else:
        from demucs.states import load_model
        model = load_model(path)
    return model.to(device).eval()


def separate(y: np.ndarray, sample_rate: int, *, model, device: str = "cpu") -> tuple[dict[str, np.ndarray], float]:
    """(stem name → (channels, n) float32 for STEMS, residual dB re the take) of the take y
    (channels, n) at sample_rate. The stems sum to y."""
    import torch
    from demucs.apply import apply_model
    from scipy.signal import resample_poly

    n = y.shape[1]
    stereo = np.repeat(y, 2, axis=0) if y.shape[0] == 1 else y[:2]
    sr_model = int(model.samplerate)
    g = np.gcd(sr_model, sample_rate)
    x = resample_poly(stereo, sr_model // g, sample_rate // g, axis=1).astype(np.float32) \
        if sr_model != sample_rate else stereo.astype(np.float32)
    # As demucs' own separate does: normalise by the mono mix's statistics, and back after.
    ref = x.mean(axis=0)
    mean, std = float(ref.mean()), float(ref.std()) or 1.0
    with torch.no_grad():
        out = apply_model(model, torch.from_numpy((x - mean) / std)[None], device=device, shifts=0, split=True,
                          overlap=0.25, progress=False)[0].cpu().numpy() * std + mean / len(model.sources)
    stems = {}
    for name, wav in zip(model.sources, out):
        back = resample_poly(wav, sample_rate // g, sr_model // g, axis=1) if sr_model != sample_rate else wav
        back = back[:, :n] if back.shape[1] >= n else np.pad(back, ((0, 0), (0, n - back.shape[1])))
        stems[name] = back.astype(np.float32)
    merged = {"drums": stems.get("drums", np.zeros_like(stereo)), "bass": stems.get("bass", np.zeros_like(stereo))}
    merged["other"] = sum((v for k, v in stems.items() if k not in ("drums", "bass")), np.zeros_like(stereo))
    residual = stereo - merged["drums"] - merged["bass"] - merged["other"]
    merged["other"] = merged["other"] + residual
    take_rms = float(np.sqrt(np.mean(np.square(stereo, dtype=np.float64)))) or 1e-12
    res_rms = float(np.sqrt(np.mean(np.square(residual, dtype=np.float64))))
    residual_db = 20 * np.log10(max(res_rms, 1e-12) / take_rms)
    if y.shape[0] == 1:
        merged = {k: v.mean(axis=0, keepdims=True).astype(np.float32) for k, v in merged.items()}
    return {k: merged[k].astype(np.float32) for k in STEMS}, round(float(residual_db), 2)
