"""audiocraft models with random weights, built from audiocraft's own builders and classes.

For tests (tiny models that run in milliseconds on a CPU) and benchmarks (the published
sizes of musicgen-small and audiogen-medium: the same compute as the trained models).
Their output is noise shaped by untrained networks — never music, never a stand-in for
a real take — so they check plumbing, lengths, seams, speed and memory only.

Configurations are audiocraft training configs (OmegaConf), so a model built here can be
saved as an audiocraft checkpoint folder (`save_checkpoint`) and loaded back through the
real loading path (models.load with model_path).
"""
from __future__ import annotations

import copy
from pathlib import Path

# Hyperparameters. The tiny ones mirror audiocraft.models.builders.get_debug_* (frame
# rate 25 Hz at 32 kHz, 4 codebooks, a 2-layer LM) but use the 'noop' tokenizer: the
# debug LM's 'whitespace' one tries to download a spaCy model.
TINY_LM = dict(n_q=4, card=400, dim=16, num_heads=4, num_layers=2, hidden_scale=4, custom=True,
               causal=True, past_context=None)
TINY_SEANET = dict(n_filters=4, n_residual_layers=1, dimension=32, ratios=[10, 8, 16], channels=1)
TINY_RVQ = dict(bins=400, n_q=4)
# musicgen-small: a 300M-parameter LM (24 layers, width 1024, 16 heads) over EnCodec 32 kHz
# (ratios 8·5·4·4 = 640 → 50 Hz, 4 codebooks of 2048). The text encoder (T5-base) is
# replaced by a lookup table: it runs once per window and does not change decoding speed.
SMALL_LM = dict(n_q=4, card=2048, dim=1024, num_heads=16, num_layers=24, hidden_scale=4, custom=False,
                causal=True, past_context=None, norm_first=True, bias_proj=False, bias_ff=False,
                bias_attn=False, positional_embedding="sin")
MEDIUM_LM = dict(SMALL_LM, dim=1536, num_heads=24, num_layers=48)
ENCODEC_32K = dict(n_filters=64, n_residual_layers=1, dimension=128, ratios=[8, 5, 4, 4], channels=1,
                   lstm=2, kernel_size=7, last_kernel_size=7, residual_kernel_size=3, dilation_base=2,
                   compress=2, norm="weight_norm", pad_mode="constant", true_skip=True)
# audiogen-medium: a 1.5B LM (48 layers, width 1536, 24 heads) over EnCodec 16 kHz
# (ratios 8·5·4·2 = 320 → 50 Hz, 4 codebooks of 2048).
ENCODEC_16K = dict(ENCODEC_32K, ratios=[8, 5, 4, 2])
RVQ_2048 = dict(bins=2048, n_q=4)


def lm_config(*, lm: dict, max_duration_s: float, melody: bool = False, text_dim: int = 16,
              chroma_radix2_exp: int = 14, sample_rate: int = 32000):
    """An LM training config: `lm` hyperparameters, a 'noop' lookup-table text conditioner,
    and with melody=True musicgen-melody's chroma conditioner (prepended, as published)."""
    from omegaconf import OmegaConf

    conditioners = {"description": {"model": "lut", "lut": {"n_bins": 128, "dim": text_dim, "tokenizer": "noop"}}}
    if melody:
        conditioners["self_wav"] = {"model": "chroma_stem", "chroma_stem": {
            "sample_rate": sample_rate, "n_chroma": 12, "radix2_exp": chroma_radix2_exp, "argmax": True,
            "match_len_on_eval": True, "eval_wavs": None, "n_eval_wavs": 0, "cache_path": None}}
    return OmegaConf.create({
        "device": "cpu", "dtype": "float32", "lm_model": "transformer_lm",
        "dataset": {"segment_duration": float(max_duration_s)},
        "transformer_lm": dict(lm),
        "codebooks_pattern": {"modeling": "delay", "delay": {"delays": list(range(lm["n_q"])),
                                                             "flatten_first": 0, "empty_initial": 0}},
        "attribute_dropout": {}, "classifier_free_guidance": {"training_dropout": 0.0, "inference_coef": 3.0},
        "fuser": {"cross_attention_pos_emb": False, "cross_attention_pos_emb_scale": 1, "sum": [],
                  "prepend": ["self_wav"] if melody else [], "cross": ["description"], "input_interpolate": []},
        "conditioners": conditioners,
    })


def compression_config(*, seanet: dict, rvq: dict, sample_rate: int):
    """An EnCodec training config."""
    from omegaconf import OmegaConf

    return OmegaConf.create({
        "device": "cpu", "compression_model": "encodec",
        "encodec": {"autoencoder": "seanet", "quantizer": "rvq", "sample_rate": sample_rate,
                    "channels": seanet.get("channels", 1), "causal": False, "renormalize": False},
        "seanet": {**seanet, "encoder": {}, "decoder": {}},
        "rvq": dict(rvq),
    })


def build(kind: str, lm_cfg, compression_cfg, *, name: str | None = None, seed: int = 0, chroma_demucs=None):
    """A MusicGen (kind "musicgen") or AudioGen ("audiogen") with random weights.

    chroma_demucs: the HTDemucs a melody LM's chroma conditioner separates with (its
    constructor would otherwise fetch the published htdemucs); required for melody."""
    import contextlib

    import torch

    from scorer.render.neural.models import import_audiocraft

    import_audiocraft()
    from audiocraft.models import AudioGen, MusicGen, builders

    torch.manual_seed(seed)
    compression = builders.get_compression_model(compression_cfg).eval()
    # Initialise the quantizer's codebooks (k-means on random data), as the debug builder does.
    compression.quantizer(torch.randn(8, compression.quantizer.dimension, 128), 1)
    melody = "self_wav" in (lm_cfg.conditioners or {})
    if melody and chroma_demucs is None:
        raise ValueError("a melody LM needs chroma_demucs (e.g. tiny_htdemucs())")
    with (_demucs_returning(chroma_demucs) if melody else contextlib.nullcontext()):
        lm = builders.get_lm_model(lm_cfg).eval()
    lm.cfg = lm_cfg
    klass = MusicGen if kind == "musicgen" else AudioGen
    model = klass(name or f"random-{kind}", compression, lm,
                  max_duration=float(lm_cfg.dataset.segment_duration))
    model._scorer_configs = (lm_cfg, compression_cfg)      # kept for save_checkpoint
    return model


@__import__("contextlib").contextmanager
def _demucs_returning(model):
    import demucs.pretrained as dp

    original = dp.get_model
    dp.get_model = lambda name, repo=None: model
    try:
        yield
    finally:
        dp.get_model = original


def save_checkpoint(model, folder: str | Path) -> Path:
    """Write `model` (from build()) as an audiocraft checkpoint folder: state_dict.bin and
    compression_state_dict.bin, each {'xp.cfg': config, 'best_state': weights}."""
    import torch
    from omegaconf import OmegaConf

    lm_cfg, compression_cfg = model._scorer_configs
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lm_state = {k: v for k, v in model.lm.state_dict().items()}
    torch.save({"xp.cfg": OmegaConf.to_container(lm_cfg), "best_state": lm_state}, folder / "state_dict.bin")
    torch.save({"xp.cfg": OmegaConf.to_container(compression_cfg),
                "best_state": model.compression_model.state_dict()}, folder / "compression_state_dict.bin")
    return folder


def tiny_htdemucs(*, samplerate: int = 44100, segment_s: float = 2.0, seed: int = 0):
    """A tiny HTDemucs (demucs' own class, random weights) with the published source list
    (drums, bass, other, vocals): for tests of the chroma conditioner and separation."""
    import torch
    from fractions import Fraction

    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    model = HTDemucs(sources=["drums", "bass", "other", "vocals"], audio_channels=2, channels=4, depth=2,
                     nfft=512, t_layers=1, t_heads=1, bottom_channels=0, dconv_comp=4,
                     samplerate=samplerate, segment=Fraction(segment_s).limit_denominator(100))
    return model.eval()


def full_htdemucs(*, seed: int = 0):
    """HTDemucs at its published size (random weights): for timing separation."""
    import torch

    from demucs.htdemucs import HTDemucs

    torch.manual_seed(seed)
    return HTDemucs(sources=["drums", "bass", "other", "vocals"]).eval()


def config_copy(cfg):
    return copy.deepcopy(cfg)
