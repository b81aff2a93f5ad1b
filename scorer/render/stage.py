"""The stage and the hall: every instrument placed where an orchestra seats it, and one
room the whole score plays in.

A SoundFont renders each instrument dry and in the middle. Recorded film music is an
orchestra on a scoring stage: each section at its seat (music/seating.py), all of them
heard through the same hall. Here:

- `place(block, seat)` pans a part's stereo output to its seat (constant-power pan law,
  unity at the centre) and narrows its own spread to the seat's width (mid/side).
- `Hall` is the room: a reverberation time per octave band (long at the bottom, short at
  the top, as in a real hall whose air and surfaces absorb the highs), a pre-delay, early
  reflections and a diffuse tail. `hall_ir` builds its true-stereo impulse response (left
  and right inputs each reach both outputs through their own reflections, so a violin on
  the left is answered first from the left wall), deterministically from its seed.
- `Convolver` streams a signal through that response block by block (FFT overlap-add):
  the same samples as convolving the clip whole, with memory of one block.

Every stem group sends into the one hall (StemFx.send_db, post-EQ) and carries its own
return: convolution is linear, so the stems' returns sum to exactly what one shared
reverb fed by all the sends would give — the stems still sum to the mix, each stem alone
still sounds in the room, and the whole orchestra is heard in the same one. The response
is normalised so that a centred signal sent at 0 dB returns at the same long-term power.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from scorer.music.seating import Seat
from scorer.timebase import SAMPLE_RATE, n_samples, s_to_sample, sample_to_s

def place(block: np.ndarray, seat: Seat) -> np.ndarray:
    """(2, n) float32 block of one instrument at its seat: its own stereo spread scaled by
    seat.width (mid/side), then panned by the constant-power law (−3 dB each side at the
    centre, times √2 so a centred instrument keeps its level)."""
    mid = 0.5 * (block[0] + block[1])
    side = (0.5 * seat.width) * (block[0] - block[1])
    theta = (seat.pan + 1.0) * np.pi / 4
    g_left, g_right = np.float32(np.sqrt(2) * np.cos(theta)), np.float32(np.sqrt(2) * np.sin(theta))
    return np.stack([(mid + side) * g_left, (mid - side) * g_right]).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Hall:
    """A room: reverberation time (s, to −60 dB) per octave band centre (Hz), pre-delay
    before the first reflection, how many early reflections each path gets over how long.
    The default is a scoring stage — a large, warm room (≈ 1.9 s at 500 Hz–1 kHz, longer
    in the bass, much shorter at the top), as film orchestras are recorded in."""
    name: str = "scoring stage"
    rt60_s: tuple[tuple[float, float], ...] = ((125.0, 2.3), (250.0, 2.1), (500.0, 1.95), (1000.0, 1.8),
                                               (2000.0, 1.55), (4000.0, 1.25), (8000.0, 0.9), (16000.0, 0.55))
    predelay_ms: float = 22.0
    early_reflections: int = 16
    early_span_ms: float = 80.0
    highpass_hz: float = 90.0      # a hall's low end blurs the bass line: the send is cut below this
    seed: int = 1

    @property
    def length_s(self) -> float:
        """How long the response runs: past the longest band's decay to −60 dB."""
        return self.predelay_ms / 1000 + max(t for _, t in self.rt60_s) * 1.05


# Built responses by (hall, sample rate). A render worker is handed its parent's
# (adopt_hall_irs): building one costs the import of scipy.signal and ~0.2 s, more than a
# short cue's render.
_IRS: dict[tuple[Hall, int], np.ndarray] = {}


def hall_ir(hall: Hall, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(2 inputs, 2 outputs, n) float32 impulse response of `hall`; each path carries half
    the energy, so a centred (mono) signal comes back at its own power. Built once per
    process (read-only: shared by every caller)."""
    key = (hall, sample_rate)
    if key not in _IRS:
        ir = _build_hall_ir(hall, sample_rate)
        ir.setflags(write=False)
        _IRS[key] = ir
    return _IRS[key]


def adopt_hall_irs(irs: dict[tuple[Hall, int], np.ndarray]) -> None:
    """Take responses another process built (the same bytes hall_ir would build here)."""
    for key, ir in irs.items():
        _IRS.setdefault(key, ir)


def _build_hall_ir(hall: Hall, sample_rate: int) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    n = n_samples(hall.length_s, sample_rate)
    t = sample_to_s(np.arange(n), sample_rate)
    rng = np.random.default_rng(hall.seed)
    pre = hall.predelay_ms / 1000
    bands = sorted(hall.rt60_s)
    ir = np.zeros((2, 2, n))
    hp = butter(2, hall.highpass_hz, "highpass", fs=sample_rate, output="sos")
    nyquist = sample_rate / 2
    for i in range(2):
        for o in range(2):
            noise = rng.standard_normal(n)
            tail = np.zeros(n)
            for k, (fc, rt) in enumerate(bands):
                lo, hi = fc / np.sqrt(2), min(fc * np.sqrt(2), nyquist * 0.95)
                if k == 0:
                    sos = butter(2, hi, "lowpass", fs=sample_rate, output="sos")
                elif k == len(bands) - 1 or hi >= nyquist * 0.95:
                    sos = butter(2, lo, "highpass", fs=sample_rate, output="sos")
                else:
                    sos = butter(2, [lo, hi], "bandpass", fs=sample_rate, output="sos")
                # −60 dB after rt seconds: amplitude exp(−ln(1000)·t/rt), from the pre-delay on
                tail += sosfilt(sos, noise) * np.exp(-np.log(1000.0) * np.maximum(t - pre, 0.0) / rt)
            # The diffuse tail builds up over the first reflections' time, not at once.
            onset = np.clip((t - pre) / (hall.early_span_ms / 1000), 0.0, 1.0) ** 2
            tail *= onset
            # Early reflections: discrete taps, the first ones from the input's own side.
            er = np.zeros(n)
            delays = np.sort(rng.uniform(0.0, hall.early_span_ms / 1000, hall.early_reflections))
            same_side = i == o
            for j, d in enumerate(delays):
                k = s_to_sample(pre + d + (0.0 if same_side else 0.0015), sample_rate)
                if k < n:
                    er[k] += rng.choice((-1.0, 1.0)) * np.exp(-d / 0.04) * (1.0 if same_side else 0.6)
            er = sosfilt(butter(1, 6000.0, "lowpass", fs=sample_rate, output="sos"), er)
            tail /= np.sqrt(np.sum(tail ** 2))
            er /= max(np.sqrt(np.sum(er ** 2)), 1e-12)
            # Reflections carry about a fifth of the energy, the tail the rest.
            path = sosfilt(hp, np.sqrt(0.2) * er + np.sqrt(0.8) * tail)
            fade = min(n, n_samples(0.05, sample_rate))
            path[n - fade:] *= np.linspace(1.0, 0.0, fade)
            ir[i, o] = path / np.sqrt(np.sum(path ** 2)) * np.sqrt(0.5)
    return ir.astype(np.float32)


class Convolver:
    """A true-stereo signal through a (2, 2, m) impulse response, block by block (FFT
    overlap-add). Blocks up to `block` samples; the output has the input's length (what
    rings past the last block is cut off — the mix fades a cue's tail before its clip
    ends). Deterministic: one thread, float32 transforms."""

    def __init__(self, ir: np.ndarray, *, block: int, spectrum: np.ndarray | None = None):
        import scipy.fft

        self._fft = scipy.fft
        self.m = ir.shape[2]
        self.nfft = scipy.fft.next_fast_len(block + self.m - 1, real=True)
        self.block = block
        self.spectrum = (scipy.fft.rfft(ir, self.nfft, axis=2, workers=1) if spectrum is None
                         else spectrum)                                       # (2, 2, f)
        if self.spectrum.shape != (2, 2, self.nfft // 2 + 1):
            raise ValueError(f"spectrum of shape {self.spectrum.shape} does not fit {self.nfft}-point transforms")
        self.carry = np.zeros((2, self.m - 1), np.float32)

    def process(self, x: np.ndarray) -> np.ndarray:
        """(2, b) float32 in → (2, b) float32 out, b ≤ block."""
        b = x.shape[1]
        if b > self.block:
            raise ValueError(f"block of {b} samples is longer than the convolver's {self.block}")
        spec = self._fft.rfft(x.astype(np.float32, copy=False), self.nfft, axis=1, workers=1)   # (2, f)
        out_spec = np.einsum("if,iof->of", spec, self.spectrum)
        y = self._fft.irfft(out_spec, self.nfft, axis=1, workers=1)[:, :b + self.m - 1]
        acc = y.astype(np.float32, copy=False)
        acc[:, :self.m - 1] += self.carry
        self.carry = acc[:, b:].copy()
        return np.ascontiguousarray(acc[:, :b])


# A transformed response is 16 bytes per frequency bin and path pair: ~25 MB for a 30 s
# block. A few are kept (cues of one length class share one; computing one costs about a
# stem's hall), not one per size a long-lived process (the studio) ever met.
@functools.lru_cache(maxsize=3)
def hall_convolver_spectrum(hall: Hall, block: int, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The hall's response transformed for blocks of `block` samples: the same for every
    stem of a cue (and of cues whose blocks round to the same size), so computed once per
    block size while it is among the last few used."""
    import scipy.fft

    ir = hall_ir(hall, sample_rate)
    nfft = scipy.fft.next_fast_len(block + ir.shape[2] - 1, real=True)
    return scipy.fft.rfft(ir, nfft, axis=2, workers=1)


MIN_HALL_BLOCK = 1 << 14


def hall_block(block: int) -> int:
    """`block` rounded up to 2^k or 3·2^(k−1) samples (at least MIN_HALL_BLOCK): cues of
    similar length share a transformed response, and no transform is more than half as
    long again as its block needs."""
    block = max(MIN_HALL_BLOCK, block)
    p = 1 << (block - 1).bit_length()
    return 3 * p // 4 if 3 * p // 4 >= block else p


def hall_convolver(hall: Hall, block: int) -> Convolver:
    """A fresh Convolver through `hall` for blocks up to `block` samples (the transformed
    response shared, the overlap state its own)."""
    block = hall_block(block)
    return Convolver(hall_ir(hall), block=block, spectrum=hall_convolver_spectrum(hall, block))
