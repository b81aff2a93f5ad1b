"""Idioms: how a layer is *played* — walking bass, spiccato ostinato, comping, pedal
point, brushed swing — each with variants, as one bar of events.

A preset names the idioms each layer may use (`[idioms]` in its TOML); the cue's seed
picks one per layer for the cue and a variant per section, so two seeds give two
different textures over the same tempo map and hits. "figure" is the preset's own
one-bar pattern for the intensity band (rhythm.low/mid/high).

Pitched events are (onset_beats, length_beats, token, accent) within one bar. Tokens:
"1" root, "3" third, "5" fifth, "7" seventh, "8" octave, "t" the third an octave up,
"f" the fifth an octave up, "w" a walking step (the next scale tone toward the next
chord's root), "a" a chromatic approach into the next chord's root, "T" the key's tonic
(a pedal), "D" its dominant, "C" the whole chord (a comping stab).
Drum events are (drum name, onset_beats, accent 0…1.2). "stop_time" plays the band's
figure but stops the band — kit, bass, pad, ostinato, counter-line — after a stab on the
downbeat of the bar before each strong hit, so the tune and the hit are heard alone
(comedy's mickey-mousing). The melody's "rubato" breathes: its attacks are held back in
the middle of each phrase and catch up by its end.
"""
from __future__ import annotations

from dataclasses import dataclass

# The idioms' names and ranks are vocabulary (presets name them): scorer.music.presets.
from scorer.music.presets import FIGURE, IDIOMS  # noqa: F401 - re-exported for the arranger

N_VARIANTS = 3


@dataclass(frozen=True)
class Texture:
    """The idiom a layer plays in a cue: a calm one, and the busiest for builds."""
    idiom: str
    busy: str


def bass_bar(idiom: str, bpb: int, variant: int) -> list[tuple[float, float, str, float]]:
    """One bar of the bass in an idiom (not "figure")."""
    v = variant % N_VARIANTS
    if idiom == "walking":
        toks = ["1"] + (["5"] if v == 1 and bpb > 2 else []) + ["w"] * bpb
        toks = toks[:bpb - 1] + ["a"]
        ev = [(float(b), 1.0, t, 1.05 if b == 0 else 0.95) for b, t in zip(range(bpb), toks)]
        if v == 2 and bpb >= 3:   # a swung pickup into the next bar: the approach on the last triplet
            last = ev[-1]
            ev[-1] = (last[0], 2 / 3, "w", 0.9)
            ev.append((last[0] + 2 / 3, 1 / 3, "a", 0.85))
        return ev
    if idiom == "pedal":
        tok = "D" if v == 2 else "T"
        if v == 1 and bpb >= 4:
            half = float(bpb // 2)
            return [(0.0, half, tok, 1.0), (half, bpb - half, tok, 0.8)]
        return [(0.0, float(bpb), tok, 1.0)]
    if idiom == "two_feel":
        half = float(bpb // 2) if bpb % 2 == 0 else float(bpb - 1)
        other = {0: "5", 1: "8", 2: "5"}[v]
        ev = [(0.0, half, "1", 1.05), (half, bpb - half, other, 0.9)]
        if v == 2:   # a short pickup into the next downbeat
            ev[-1] = (half, bpb - half - 0.5, other, 0.9)
            ev.append((bpb - 0.5, 0.5, "w", 0.8))
        return ev
    if idiom == "drive":
        ev = []
        steps = 2 * bpb
        accents = set()
        if v == 0:   # 3+3+2 in eighths
            k = 0
            while k < steps:
                accents.add(k)
                k += 3 if steps - k > 2 else 2
        else:
            accents = set(range(0, steps, 2))
        for k in range(steps):
            tok = "1" if v != 2 or k < steps - 2 else ("5" if k == steps - 2 else "8")
            ev.append((k / 2, 0.45, tok, 1.1 if k in accents else 0.8))
        return ev
    if idiom == "sustain":
        if v == 1 and bpb >= 3:
            return [(0.0, bpb - 1.0, "1", 1.0), (bpb - 1.0, 1.0, "5", 0.8)]
        if v == 2 and bpb >= 4:
            return [(0.0, bpb / 2, "1", 1.0), (bpb / 2, bpb / 2, "8", 0.85)]
        return [(0.0, float(bpb), "1", 1.0)]
    if idiom == "stepwise":
        if bpb == 3:
            return [(0.0, 2.0, "1", 1.0), (2.0, 1.0, "w", 0.85)]
        half = bpb / 2
        if v == 1:
            return [(0.0, half + 1, "1", 1.0), (half + 1, bpb - half - 1, "w", 0.85)]
        return [(0.0, half, "1", 1.0), (half, half, "w" if v == 0 else "5", 0.85)]
    raise ValueError(f"no bass idiom {idiom!r}")


_SPICCATO = (("1", "5", "8", "5"), ("1", "1", "5", "1"), ("1", "3", "5", "8"))
_BROKEN = (("1", "5", "8", "t"), ("1", "3", "5", "8", "5", "3"), ("1", "5", "3", "5"))
_TRIPLET = (("1", "3", "5"), ("8", "5", "3"), ("1", "5", "8"))


def ostinato_bar(idiom: str, bpb: int, variant: int) -> list[tuple[float, float, str, float]]:
    """One bar of the ostinato layer in an idiom (not "figure")."""
    v = variant % N_VARIANTS
    if idiom == "spiccato":
        cell = _SPICCATO[v]
        steps = 4 * bpb
        group_starts, k = set(), 0
        while k < steps:           # accents in 3+3+2 sixteenths, the drive of an action cue
            group_starts.add(k)
            k += 3 if steps - k > 4 or (steps - k) % 2 else 2
        return [(k / 4, 0.2, cell[k % len(cell)], 1.15 if k in group_starts else 0.8) for k in range(steps)]
    if idiom == "broken":
        cell = _BROKEN[v]
        return [(k / 2, 0.5, cell[k % len(cell)], 1.0 if k % 2 == 0 else 0.85) for k in range(2 * bpb)]
    if idiom == "triplet_arp":
        cell = _TRIPLET[v]
        return [(k / 3, 1 / 3, cell[k % 3], 1.0 if k % 3 == 0 else 0.8) for k in range(3 * bpb)]
    if idiom == "comping":
        if v == 0 and bpb >= 3:      # the Charleston: 1 and the "and" of 2
            return [(0.0, 1.0, "C", 1.0), (1.5, 0.5, "C", 0.9)]
        if v == 1:                   # on 2 and 4
            return [(float(b), 0.4, "C", 0.95) for b in range(1, bpb, 2)]
        return [(bpb - 0.5, 0.5, "C", 0.95)]   # an anticipation of the next bar
    if idiom == "pulse":
        tok = "5" if v == 1 else "1"
        if v == 2:                   # dotted eighths against the beat
            ons = [k * 0.75 for k in range(int(bpb / 0.75 + 1e-9) + 1) if k * 0.75 < bpb - 1e-9]
            return [(o, 0.35, tok, 1.0 if o == 0 else 0.85) for o in ons]
        return [(k / 2, 0.4, tok, 1.05 if k % 2 == 0 else 0.8) for k in range(2 * bpb)]
    if idiom == "bounce":
        cell = (("1", "5", "3", "5"), ("1", "8", "5", "8"), ("5", "1", "3", "1"))[v]
        ev = [(float(b), 0.35, cell[b % 4], 1.0 if b % 2 == 0 else 0.85) for b in range(bpb)]
        if v == 2:
            ev.append((bpb - 0.5, 0.25, "3", 0.8))
        return ev
    if idiom == "sparse":
        tok = ("5", "3", "8")[v]
        return [(0.0 if v != 1 else 1.0, float(bpb) - (0.0 if v != 1 else 1.0), tok, 0.9)]
    raise ValueError(f"no ostinato idiom {idiom!r}")


_TAIKO = (
    (("tom_floor", 0.0, 1.15), ("tom_floor", 0.75, 0.7), ("tom_low", 1.5, 0.9), ("tom_floor", 2.0, 1.1),
     ("tom_low", 3.0, 0.9), ("tom_mid", 3.5, 0.8)),
    (("kick", 0.0, 1.1), ("tom_floor", 0.5, 0.8), ("tom_floor", 1.0, 0.9), ("tom_low", 2.5, 1.0),
     ("tom_floor", 3.0, 1.05), ("tom_mid", 3.25, 0.7), ("tom_mid", 3.5, 0.8), ("tom_high", 3.75, 0.9)),
    (("tom_floor", 0.0, 1.2), ("kick", 1.0, 0.8), ("tom_low", 1.75, 0.85), ("tom_floor", 2.25, 1.0),
     ("tom_floor", 3.0, 0.9)),
)


def drum_bar(idiom: str, bpb: int, variant: int, *, bar_in_phrase: int) -> list[tuple[str, float, float]]:
    """One bar of the drum kit in an idiom (not "figure"). bar_in_phrase picks the pattern
    of patterns that change every two bars."""
    v = variant % N_VARIANTS
    if idiom == "taiko":
        pat = _TAIKO[(v + bar_in_phrase // 2) % len(_TAIKO)]
        return [(d, o * bpb / 4, a) for d, o, a in pat if o * bpb / 4 < bpb]
    if idiom == "brush_swing":
        ev = [("ride", float(b), 0.9 if b % 2 else 0.8) for b in range(bpb)]
        ev += [("ride", b + 2 / 3, 0.6) for b in range(1, bpb, 2)]       # the swung "and"
        ev += [("hat_pedal", float(b), 0.7) for b in range(1, bpb, 2)]
        if v >= 1:
            ev += [("snare", b + 2 / 3, 0.35) for b in range(0, bpb, 2 if v == 1 else 1)]   # brush ghosts
        return ev
    if idiom == "march":
        ev = [("kick", float(b), 1.0) for b in range(0, bpb, 2)]
        roll = (0.0, 0.5, 0.75, 1.0, 2.0, 2.5, 2.75, 3.0) if v != 1 else (0.0, 1.0, 1.5, 2.0, 3.0, 3.25, 3.5)
        ev += [("snare", o * bpb / 4, 1.1 if o in (0.0, 2.0) else 0.7) for o in roll if o * bpb / 4 < bpb]
        if v == 2:
            ev += [("crash", 0.0, 0.6)] if bar_in_phrase % 4 == 0 else []
        return ev
    if idiom == "heartbeat":
        if v == 1 and bar_in_phrase % 2:
            return []
        return [("kick", 0.0, 1.0), ("kick", 1.0 / 3 if v != 2 else 0.5, 0.7)] + (
            [("kick", bpb / 2, 0.9), ("kick", bpb / 2 + 1 / 3, 0.65)] if v == 2 and bpb >= 4 else [])
    if idiom == "sparse":
        if bar_in_phrase % 2:
            return []
        return [(("tom_floor", "kick", "tom_low")[v], 0.0, 0.8)]
    raise ValueError(f"no drum idiom {idiom!r}")


def busiest(options: tuple[str, ...], table: dict[str, int]) -> str:
    return max(options, key=lambda n: (table[n], n))
