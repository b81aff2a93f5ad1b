"""Neural backends on this CPU: generation time per second of audio and peak memory.

Models are built at musicgen-small's and audiogen-medium's published sizes with random
weights (scorer/render/neural/random_models.py): the same compute as the trained models,
and their output is noise, not music. A full-size take is far too slow to run here
(~15 s of compute per second of audio for small), so each model decodes a few frames and
the time per second of audio is EXTRAPOLATED from the measured time per decoding step
(50 steps per second of audio) plus the measured EnCodec decode. Attention cost grows
with context, so steps late in a 30 s window are slower than the early ones measured
here: the figures are a lower bound.

The 90-second cue is run END TO END for real (windows, chroma conditioning from the
soundfont render, conform, separation with an HTDemucs of the published size) with a
tiny LM, which measures everything but the LM; the LM's share is then added from the
musicgen-small step time. Each part runs in its own process so peak memory is its own.

    python bench/bench_neural.py            # all parts (about 7–8 minutes on 2 cores)
    python bench/bench_neural.py small      # one part: small | medium | cue90
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

STEPS = {"small": 12, "medium": 6}
FRAME_RATE = 50


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def bench_model(which: str) -> dict:
    import torch

    from scorer.render.neural import random_models as R

    torch.set_num_threads(max(torch.get_num_threads(), 1))
    if which == "small":
        lm_cfg = R.lm_config(lm=R.SMALL_LM, max_duration_s=30, text_dim=768)
        comp_cfg = R.compression_config(seanet=R.ENCODEC_32K, rvq=R.RVQ_2048, sample_rate=32000)
        kind = "musicgen"
    else:
        lm_cfg = R.lm_config(lm=R.MEDIUM_LM, max_duration_s=10, text_dim=1024, sample_rate=16000)
        comp_cfg = R.compression_config(seanet=R.ENCODEC_16K, rvq=R.RVQ_2048, sample_rate=16000)
        kind = "audiogen"
    t = time.perf_counter()
    model = R.build(kind, lm_cfg, comp_cfg, name=f"random-{which}")
    build_s = time.perf_counter() - t
    n_params = sum(p.numel() for p in model.lm.parameters())
    steps = STEPS[which]
    # Warm-up of 2 steps (first-call allocation), then the timed run.
    for n in (2, steps):
        model.set_generation_params(duration=n / FRAME_RATE, top_k=250, cfg_coef=3.0)
        attributes, _ = model._prepare_tokens_and_attributes(["bench"], None)
        t = time.perf_counter()
        with torch.no_grad():
            tokens = model._generate_tokens(attributes, None, progress=False)
        lm_s = time.perf_counter() - t
    with torch.no_grad():
        codes = torch.randint(0, 2048, (1, 4, FRAME_RATE))
        t = time.perf_counter()
        model.compression_model.decode(codes, None)
        decode_1s = time.perf_counter() - t
    per_step = lm_s / steps
    return {"part": which, "model": f"{kind} at {'musicgen-small' if which == 'small' else 'audiogen-medium'} size",
            "lm_parameters_M": round(n_params / 1e6, 1), "build_s": round(build_s, 1),
            "steps_measured": steps, "s_per_step": round(per_step, 3),
            "encodec_decode_s_per_audio_s": round(decode_1s, 3),
            "extrapolated_compute_s_per_audio_s": round(per_step * FRAME_RATE + decode_1s, 1),
            "peak_rss_gb": round(_peak_rss_gb(), 2), "tokens_shape": list(tokens.shape)}


def bench_cue90() -> dict:
    """A 90 s cue through the whole musicgen backend: tiny LM (measured), everything else full size."""
    import torch
    from fractions import Fraction

    from scorer.render import get_backend
    from scorer.render.neural import random_models as R, separate
    from scorer.types import Cue, CueScore, Hit, HitFit, Note, Part, Score, Source, TempoMap

    torch.set_num_threads(max(torch.get_num_threads(), 1))
    tm = TempoMap.constant(2.0, 112.0)
    end = tm.bar_to_s(42)                                          # 42 bars at 112 bpm = 90 s
    hits = tuple(Hit(tm.bar_to_s(b), round(tm.bar_to_s(b) * 24), 0.9, "cut", True) for b in (8, 20, 33))
    cue = Cue("1M1", 2.0, end, "tension", -0.3, 0.4, ((2.0, 0.2), (end, 0.9)), hits)
    chords = [(62, 65, 69), (58, 62, 65), (60, 64, 67), (57, 61, 64)]
    pad = Part("pad", "strings", 48, False, tuple(Note(tm.bar_to_s(b), tm.bar_to_s(b + 1), p, 80)
                                                  for b in range(42) for p in chords[(b // 2) % 4]))
    bass = Part("bass", "bass", 32, False, tuple(Note(tm.beat_to_s(b), tm.beat_to_s(b + 1), 38, 90) for b in range(168)))
    cs = CueScore(cue, tm, "D minor", ((2.0, "Dm"),), (pad, bass), tuple(HitFit(h, tm.s_to_beat(h.t_s), 0.0, True)
                                                                         for h in hits), tail_s=2.0)
    score = Score(Source("x.mp4", Fraction(24), 100.0, 2400), (cs,), seed=1)
    tiny = R.build("musicgen", R.lm_config(lm=R.TINY_LM, max_duration_s=30, melody=True),
                   R.compression_config(seanet=R.TINY_SEANET, rvq=R.TINY_RVQ, sample_rate=32000),
                   chroma_demucs=R.tiny_htdemucs())
    full_demucs = R.full_htdemucs()
    separate.load_separator = lambda **kw: full_demucs       # the published size, random weights
    stages: dict[str, float] = {}
    last = [time.perf_counter(), None]

    def progress(stage, done, total):
        now = time.perf_counter()
        if last[1] is not None:
            stages[last[1]] = stages.get(last[1], 0.0) + now - last[0]
        last[0], last[1] = now, stage

    t = time.perf_counter()
    stems = get_backend("musicgen").render(score, model=tiny, progress=progress, window_s=30.0, context_s=10.0)
    total_s = time.perf_counter() - t
    progress("end", 0, 0)
    take = stems.info["takes"]["1M1"]
    new_frames = sum(int(round((w["end_s"] - w["start_s"] - w["context_s"]) * FRAME_RATE)) for w in take["windows"])
    prompt_frames = sum(int(round(w["context_s"] * FRAME_RATE)) for w in take["windows"])
    return {"part": "cue90", "cue_s": round(end - 2.0, 2), "tail_s": 2.0, "windows": len(take["windows"]),
            "new_frames_at_50hz": new_frames, "prompt_frames_at_50hz": prompt_frames,
            "end_to_end_with_tiny_lm_s": round(total_s, 1), "stages_s": {k: round(v, 1) for k, v in stages.items()},
            "conform": {k: take["conform"][k] for k in ("applied", "reason", "n_beats_matched")},
            "peak_rss_gb": round(_peak_rss_gb(), 2)}


def main(argv: list[str]) -> None:
    parts = argv or ["small", "medium", "cue90"]
    if len(parts) == 1:
        out = bench_cue90() if parts[0] == "cue90" else bench_model(parts[0])
        print(json.dumps(out))
        return
    results = {}
    for part in parts:
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, part], capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"part {part} failed")
        results[part] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{part}: {time.perf_counter() - t:.0f} s wall", file=sys.stderr)
    small, medium, cue = results.get("small"), results.get("medium"), results.get("cue90")
    print(json.dumps(results, indent=2))
    if small:
        print(f"\nmusicgen-small size: {small['s_per_step']} s/step → EXTRAPOLATED {small['extrapolated_compute_s_per_audio_s']} "
              f"s of compute per second of audio (measured {small['steps_measured']} steps), peak RSS {small['peak_rss_gb']} GB")
    if medium:
        print(f"audiogen-medium size: {medium['s_per_step']} s/step → EXTRAPOLATED {medium['extrapolated_compute_s_per_audio_s']} "
              f"s of compute per second of audio (measured {medium['steps_measured']} steps), peak RSS {medium['peak_rss_gb']} GB")
    if small and cue:
        lm_s = cue["new_frames_at_50hz"] * small["s_per_step"]
        enc = small["encodec_decode_s_per_audio_s"] * (cue["new_frames_at_50hz"] + cue["prompt_frames_at_50hz"]) / FRAME_RATE
        rest = cue["end_to_end_with_tiny_lm_s"]
        print(f"90 s cue, {cue['windows']} windows: everything but the LM measured {rest} s end to end "
              f"(stages {cue['stages_s']}; 'generate' includes the tiny LM's own decoding); + LM EXTRAPOLATED "
              f"{lm_s:.0f} s + EnCodec decode {enc:.0f} s with musicgen-small → about {(rest + lm_s + enc) / 60:.0f} min on this CPU")


if __name__ == "__main__":
    main(sys.argv[1:])
