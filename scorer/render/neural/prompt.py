"""Text prompts for the neural backends, from the preset, the cue's intensity and the
user's words. Pure functions: tests read them like a table."""
from __future__ import annotations

from scorer.music.presets import LOW_MID, MID_HIGH, Preset

INTENSITY_WORDS = {"low": "sparse, soft and restrained", "mid": "steady and building",
                   "high": "intense, full and powerful"}


def intensity_band(intensity: float) -> str:
    """"low", "mid" or "high" for an intensity 0…1 (the presets' own thresholds)."""
    return "low" if intensity < LOW_MID else "mid" if intensity < MID_HIGH else "high"


def music_prompt(preset: Preset, *, intensity: float, tempo_bpm: float, key: str, user_text: str = "") -> str:
    """The MusicGen description of one window: the preset's prompt, the user's words, then
    what the score fixes (intensity, tempo, key) so the text agrees with the melody wav."""
    parts = [preset.prompt.strip()]
    if user_text.strip():
        parts.append(user_text.strip())
    parts.append(f"{INTENSITY_WORDS[intensity_band(intensity)]}, {tempo_bpm:.0f} bpm, {key}")
    return ", ".join(parts)


def ambience_prompt(preset: Preset, *, user_text: str = "") -> str:
    """The AudioGen description of a cue's bed: the preset's ambience prompt and the user's words."""
    parts = [preset.ambience.prompt.strip()]
    if user_text.strip():
        parts.append(user_text.strip())
    return ", ".join(parts)


def user_text_for(prompt: str | dict | None, cue_id: str) -> str:
    """The user's words for a cue: one string for every cue, or a cue id → string map."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, dict):
        text = prompt.get(cue_id, "")
        if not isinstance(text, str):
            raise TypeError(f"prompt for cue {cue_id} must be a string, got {type(text).__name__}")
        return text
    raise TypeError(f"prompt must be a string or a cue id → string mapping, got {type(prompt).__name__}")
