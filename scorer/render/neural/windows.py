"""Long takes from a model with a short window: plans, seams, tails and loops.

A cue longer than one model window is generated as overlapping windows: window k > 0
continues from the previous material's last `context_s` (optionally preceded by the
first window's opening `anchor_s`, so the take keeps its first idea), and the model's
re-rendering of the last `crossfade_s` of that context is joined to the material with an
equal-power crossfade. All sample counts are at the model's rate; arrays are
(channels, samples) float32.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from scorer.timebase import n_samples


@dataclass(frozen=True)
class Window:
    """One generation: model time [start_s, end_s) of the take, of which the first
    prompt_s (anchor + context, already generated) are given to the model as a prompt."""
    index: int
    start_s: float
    end_s: float
    context_s: float     # the previous material's tail in the prompt
    anchor_s: float      # the first window's opening, before the context in the prompt

    @property
    def prompt_s(self) -> float:
        return self.context_s + self.anchor_s

    @property
    def new_s(self) -> float:
        """Seconds of new material this window adds."""
        return self.end_s - self.start_s - self.context_s


def plan_windows(total_s: float, *, window_s: float, context_s: float, anchor_s: float = 0.0) -> tuple[Window, ...]:
    """Windows covering [0, total_s): the first window_s long, each next one continuing
    from the last context_s before its new material. A window's length (prompt included)
    never exceeds window_s."""
    if total_s <= 0:
        raise ValueError(f"total_s must be > 0, got {total_s}")
    if context_s + anchor_s >= window_s:
        raise ValueError(f"context_s + anchor_s ({context_s} + {anchor_s}) must be < window_s ({window_s})")
    if anchor_s < 0 or context_s <= 0:
        raise ValueError("context_s must be > 0 and anchor_s ≥ 0")
    first = min(window_s, total_s)
    windows = [Window(0, 0.0, first, 0.0, 0.0)]
    done = first
    step = window_s - context_s - anchor_s           # new seconds per later window
    while done < total_s - 1e-9:
        new = min(step, total_s - done)
        anchor = min(anchor_s, max(done - context_s, 0.0))
        windows.append(Window(len(windows), done - context_s, done + new, context_s, anchor))
        done += new
    return tuple(windows)


def equal_power(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade_out, fade_in) of n samples with fade_out² + fade_in² = 1 (cos/sin quarter waves,
    sampled at the centres of the n steps so neither end is exactly 0 or 1 inside)."""
    t = (np.arange(n, dtype=np.float64) + 0.5) / max(n, 1) * (math.pi / 2)
    return np.cos(t).astype(np.float32), np.sin(t).astype(np.float32)


def constant_power(n: int, correlation: float) -> tuple[np.ndarray, np.ndarray]:
    """(fade_out, fade_in) of n samples keeping the power of a mix of two signals with this
    correlation constant: g_out² + g_in² + 2·ρ·g_out·g_in = 1. ρ = 0 is the equal-power
    (cos/sin-like) fade, ρ = 1 the equal-gain one. Raised-cosine shapes, normalised."""
    rho = float(np.clip(correlation, 0.0, 1.0))
    t = (np.arange(n, dtype=np.float64) + 0.5) / max(n, 1)
    f_in = np.sin(t * math.pi / 2) ** 2
    f_out = 1.0 - f_in
    norm = np.sqrt(f_out ** 2 + f_in ** 2 + 2 * rho * f_out * f_in)
    return (f_out / norm).astype(np.float32), (f_in / norm).astype(np.float32)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation (at lag 0) of two equal-shape signals; 0 if either is silent."""
    den = float(np.sqrt(np.sum(np.square(a, dtype=np.float64)) * np.sum(np.square(b, dtype=np.float64))))
    return float(np.sum(a.astype(np.float64) * b) / den) if den > 0 else 0.0


def join(material: np.ndarray, overlap: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """material's last overlap.shape[1] samples crossfaded into `overlap` (the next window's
    rendering of those same samples), then `rest` appended.

    The fade is equal-power for the two signals as they are: the next window re-renders
    the prompt it was given, so the two are usually strongly correlated, and a plain
    sin/cos fade would then bulge by up to +3 dB mid-seam (measured +2.1 dB); the
    crossfade keeps g_out² + g_in² + 2ρ·g_out·g_in = 1 with their measured correlation ρ
    (ρ = 0: the sin/cos-like equal-power fade)."""
    n = overlap.shape[1]
    if n > material.shape[1]:
        raise ValueError(f"crossfade of {n} samples is longer than the material ({material.shape[1]})")
    out_fade, in_fade = constant_power(n, correlation(material[:, material.shape[1] - n:], overlap))
    head = material[:, :material.shape[1] - n]
    seam = material[:, material.shape[1] - n:] * out_fade + overlap * in_fade
    return np.concatenate([head, seam, rest], axis=1).astype(np.float32)


def exact_length(y: np.ndarray, n: int) -> np.ndarray:
    """y cut or zero-padded to exactly n samples."""
    if y.shape[1] >= n:
        return np.ascontiguousarray(y[:, :n])
    return np.concatenate([y, np.zeros((y.shape[0], n - y.shape[1]), y.dtype)], axis=1)


def seamless_loop(segment: np.ndarray, n: int, *, crossfade: int) -> np.ndarray:
    """`segment` repeated to n samples with no seam: its end crossfaded (equal power — the
    ends of a noise-like bed are uncorrelated) into its start, so the loop body's last
    sample leads into its first as the segment's own samples do."""
    length = segment.shape[1]
    crossfade = min(crossfade, length // 2)
    if n <= length:
        return np.ascontiguousarray(segment[:, :n])
    body = segment[:, :length - crossfade].copy()
    if crossfade:
        out_fade, in_fade = equal_power(crossfade)
        body[:, :crossfade] = segment[:, length - crossfade:] * out_fade + segment[:, :crossfade] * in_fade
    # The first pass plays the segment's own opening; every later pass the crossfaded body.
    reps = math.ceil(max(n - (length - crossfade), 0) / body.shape[1])
    out = np.concatenate([segment[:, :length - crossfade]] + [body] * reps, axis=1)
    return np.ascontiguousarray(out[:, :n])


def designed_tail(y: np.ndarray, *, sample_rate: int, end: int, decay_s: float, ring_s: float) -> np.ndarray:
    """The take ended by design at sample `end` instead of wherever the model stopped: after
    `end` the model's own continuation decays exponentially (−60 dB over decay_s), and the
    last ring_s before `end` rings on through a long reverb, so the final chord blooms and
    dies away. Everything after end + decay_s is silence; the length is unchanged."""
    from pedalboard import Pedalboard, Reverb

    n = y.shape[1]
    end = min(max(end, 0), n)
    out = y.copy()
    decay = max(n_samples(decay_s, sample_rate), 1)
    k = np.arange(n - end, dtype=np.float64)
    env = np.where(k < decay, 10 ** (-3.0 * k / decay), 0.0).astype(np.float32)     # −60 dB at `decay`
    out[:, end:] *= env
    ring = max(n_samples(ring_s, sample_rate), 1)
    source = np.zeros((y.shape[0], ring + (n - end)), np.float32)
    source[:, :ring] = y[:, max(end - ring, 0):end] if end >= ring else np.pad(y[:, :end], ((0, 0), (ring - end, 0)))
    board = Pedalboard([Reverb(room_size=0.92, damping=0.4, wet_level=1.0, dry_level=0.0, width=1.0)])
    wet = board(source if source.shape[0] != 1 else np.repeat(source, 2, axis=0), sample_rate)
    wet = wet[:1] if y.shape[0] == 1 else wet[:y.shape[0]]
    bloom = wet[:, ring:] * env                      # the reverb as heard after `end`, decaying
    # Matched to the take's level just before the end, so the tail neither jumps nor vanishes.
    ref = float(np.sqrt(np.mean(np.square(y[:, max(end - ring, 0):end], dtype=np.float64)))) if end else 0.0
    level = float(np.sqrt(np.mean(np.square(wet[:, ring:ring + ring], dtype=np.float64)))) if n > end else 0.0
    if level > 0 and ref > 0:
        bloom *= np.float32(0.5 * ref / level)
    out[:, end:] += bloom
    # A final short fade: nothing is cut mid-wave at the clip's edge.
    fade = min(n_samples(0.01, sample_rate), n)
    out[:, n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out
