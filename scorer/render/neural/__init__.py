"""Neural render backends through audiocraft: `musicgen` (score-steered music takes) and
`audiogen` (ambience beds).

Nothing here imports torch or audiocraft at import time: the default install stays light,
and the heavy stack loads only when a neural backend renders. Modules:

- _torchaudio: lets torchaudio 2.11 import on CPU torch (a stub for its native extension).
- models: loading (Hugging Face cache or a local folder, never a download), one copy per
  process, device choice, memory release.
- prompt: text prompts from preset, intensity and the user's words.
- windows: multi-window generation plans, equal-power seams, designed tails, loops.
- conform: beat tracking against the tempo map, per-bar time-stretch, per-hit error.
- separate: demucs stems (drums, bass, other) from a neural take.
- take: what a take records (seed, model, prompt, parameters) and its JSON sidecar.
- musicgen, audiogen: the backends; plan: several backends per score, chosen per cue.
"""
