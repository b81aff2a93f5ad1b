"""Harmony: a chord plan per cue (roman numerals from the preset, on bar lines and hits,
with a cadence into the button) and voice-led voicings.

The vocabulary it plans with — modes, keys, numerals, chord symbols — lives in
scorer.music; the names this module imports from there are re-exported, for code that
imported them from here.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

# One way only: presets reads numerals with scorer.music, never with this module.
from scorer.music.presets import Preset
# Re-exported: this module defined these before scorer.music held them.
from scorer.music import (MODES, NOTE_PCS, ChordSpec, chord_in_key, chord_intervals,  # noqa: F401
                          chord_scale, fifths_apart, key_name, parse_key, parse_numeral, pc_name,
                          scale_pcs, spell_degree, symbol_pcs, tonic_numeral, uses_flats)
from scorer.types import TempoMap


# --- the chord plan ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Chord:
    """One chord of a cue: [start_beat, end_beat) in the cue's tempo map."""
    start_beat: float
    end_beat: float
    start_s: float
    end_s: float
    spec: ChordSpec
    at_hit: bool = False      # starts on an honoured hit: attack it
    is_button: bool = False   # the final chord at the cue end

    @property
    def symbol(self) -> str:
        return self.spec.symbol


@dataclass(frozen=True)
class Harmony:
    """Key and chords of one cue; the last chord is the button at the cue end."""
    tonic: str
    mode: str
    key: str
    scale: tuple[int, ...]
    chords: tuple[Chord, ...]


def choose_tonic(preset: "Preset", rng: np.random.Generator, *, after: tuple[str, str] | None = None) -> str:
    """One of the preset's candidate tonics, drawn with the cue's generator.

    after: the (tonic, mode) of the cue this one grows out of: then only the candidates
    whose key signature is nearest on the circle of fifths are drawn from, so connected
    cues move to a closely related key (or stay in it).
    """
    cands = list(preset.tonics)
    if after is not None:
        dist = {t: fifths_apart(after, (t, preset.mode)) for t in cands}
        cands = [t for t in cands if dist[t] == min(dist.values())]
    return str(cands[int(rng.integers(len(cands)))])


def _body_boundaries(*, end_body: float, bpb: int, chord_bars_at, hit_beats: list[float],
                     start_beat: float = 0.0) -> list[tuple[float, bool]]:
    """Chord starts before the cadence: the cue start (a pickup's chord when the cue starts
    before its first downbeat), bar lines at the band's harmonic rhythm, plus hits.

    A bar-line change right after a hit (within the following bar) or just before one
    (less than a beat) is dropped: the hit's chord should be heard, not replaced at once.
    """
    bars, bar = [], 0
    while bar * bpb < end_body - 1e-9:
        bars.append(float(bar * bpb))
        bar += chord_bars_at(bar)
    hits = [h for h in hit_beats if start_beat - 1e-9 <= h < end_body - 1e-9]
    keep = [b for b in bars
            if not any(0 < b - h < bpb or 0 < h - b < 1 for h in hits) and b not in hits]
    if start_beat not in keep and start_beat not in hits:
        keep.insert(0, start_beat)
    out = [(b, False) for b in keep] + [(h, True) for h in hits]
    return sorted(out)


def plan_chords(*, preset: "Preset", tonic: str, tempo_map: TempoMap, end_beat: float,
                hit_beats: tuple[float, ...], chord_bars_at, rng: np.random.Generator,
                into: tuple[str, str] | None = None, open_on_tonic: bool = False) -> Harmony:
    """Chords for one cue: the preset's progressions on bar lines (and on honoured hits),
    a cadence over the last bars and the final chord as the button at end_beat.

    chord_bars_at(bar) -> bars per chord at that bar (from the intensity band).
    into: the (tonic, mode) of the cue that follows without a gap, when it is in another
    key: the cadence then modulates — its dominant is the new key's V7 and the button is
    the new key's tonic chord, which is where the next cue begins.
    open_on_tonic: start on the tonic chord (a cue entered from a modulating cadence).
    """
    mode, bpb = preset.mode, preset.beats_per_bar
    new_key = ">"   # a numeral with this prefix is read in the key modulated to
    modulating = into is not None and (NOTE_PCS[into[0]], into[1]) != (NOTE_PCS[tonic], mode)

    def spec(n: str) -> ChordSpec:
        if n.startswith(new_key):
            return chord_in_key(n[1:], tonic=into[0], mode=into[1])
        return chord_in_key(n, tonic=tonic, mode=mode)

    cadence = list(preset.cadence)
    if modulating:
        cadence = cadence[:-2] + [new_key + "V7", new_key + tonic_numeral(into[1])]
    # Cadence: its chords before the last take the final bar lines before the end, one
    # bar each, as many as fit after the first bar; the last chord is the button.
    last_bar_line = (np.ceil(end_beat / bpb - 1e-9) - 1) * bpb
    pre = cadence[:-1]
    cad_starts: list[float] = []
    for k in range(len(pre)):
        b = last_bar_line - k * bpb
        if b < bpb - 1e-9:  # keep the first bar for the cue's own opening chord
            break
        cad_starts.insert(0, float(b))
    pre = pre[len(pre) - len(cad_starts):]
    end_body = cad_starts[0] if cad_starts else end_beat

    starts = _body_boundaries(end_body=end_body, bpb=bpb, chord_bars_at=chord_bars_at,
                              hit_beats=list(hit_beats), start_beat=tempo_map.segments[0].start_beat)
    # Progressions: one drawn, played twice, then another; a hit always moves harmony on.
    progs = preset.progressions
    order: list[str] = []
    cur = int(rng.integers(len(progs)))
    numerals: list[str] = []
    for _, at_hit in starts:
        if not order:
            order = list(progs[cur]) * 2
            nxt = int(rng.integers(len(progs)))
            cur = nxt if len(progs) == 1 or nxt != cur else (nxt + 1) % len(progs)
        n = order.pop(0)
        if open_on_tonic and not numerals:
            n = tonic_numeral(mode)
        # On a hit the harmony must move: skip ahead past repeats of the sounding chord.
        tries = 0
        while at_hit and numerals and spec(n).pcs == spec(numerals[-1]).pcs and tries < 16:
            if not order:
                order = list(progs[cur])
            n, tries = order.pop(0), tries + 1
        numerals.append(n)
    items = [(b, n, h) for (b, h), n in zip(starts, numerals)]
    for b, n in zip(cad_starts, pre):
        items.append((b, n, False))
    # Hits inside the cadence re-attack the cadence chord sounding there.
    for h in hit_beats:
        if cad_starts and cad_starts[0] <= h < end_beat - 1e-9 and h not in cad_starts:
            sounding = [n for b, n, _ in items if b <= h][-1]
            items.append((h, sounding, True))
        elif h in cad_starts:
            items = [(b, n, True if b == h else f) for b, n, f in items]
    items.sort(key=lambda x: x[0])
    # The same chord again on a plain bar line is a held chord, not a change.
    merged = []
    for it in items:
        if merged and not it[2] and spec(it[1]).pcs == spec(merged[-1][1]).pcs:
            continue
        merged.append(it)
    items = merged
    chords = []
    for i, (b, n, h) in enumerate(items):
        e = items[i + 1][0] if i + 1 < len(items) else end_beat
        chords.append(Chord(b, e, tempo_map.beat_to_s(b), tempo_map.beat_to_s(e), spec(n), at_hit=h))
    end_s = tempo_map.beat_to_s(end_beat)
    chords.append(Chord(end_beat, end_beat + bpb, end_s, tempo_map.beat_to_s(end_beat + bpb),
                        spec(cadence[-1]), is_button=True))
    return Harmony(tonic, mode, key_name(tonic, mode), scale_pcs(tonic, mode), tuple(chords))


# --- voicing -----------------------------------------------------------------------------------

def parallel_perfects(a0: int, a1: int, b0: int, b1: int) -> bool:
    """Whether two voices moving a0→a1 and b0→b1 make parallel (or consecutive) perfect
    fifths or octaves: a perfect interval both times, both voices moving the same way."""
    i0, i1 = (b0 - a0) % 12, (b1 - a1) % 12
    moved_a, moved_b = a1 - a0, b1 - b0
    return (i0 in (0, 7) and i0 == i1 and moved_a != 0 and moved_b != 0
            and (moved_a > 0) == (moved_b > 0))


PARALLEL_COST = 6.0


def voice_chord(pcs: tuple[int, ...], *, low: int, high: int, n_voices: int,
                prev: tuple[int, ...] | None, centre: float, max_top: int | None = None,
                bass: tuple[int | None, int | None] = (None, None)) -> tuple[int, ...]:
    """A voicing of `pcs` in [low, high] with n_voices notes, ascending.

    Minimal motion from `prev` (voice leading), near `centre` (register), every chord tone
    but the fifth present, no doubled third, no muddy close intervals low down, adjacent
    voices within an octave, no parallel fifths or octaves between its voices nor between
    its voices and the bass line (bass: the bass's previous and new pitch). max_top: keep
    the top voice at or below it where any voicing can (e.g. below the speech band under
    dialogue, or under the tune).
    """
    root, third = pcs[0], pcs[1]
    fifth = pcs[2] if len(pcs) > 2 else None
    required = {root, third} | set(pcs[3:])
    cands = [p for p in range(low, high + 1) if p % 12 in pcs]
    n = min(n_voices, len(cands))
    best, best_key = None, None
    for combo in itertools.combinations(cands, n):
        got = [p % 12 for p in combo]
        if not required <= set(got) and len(required) <= n:
            continue
        if any(b - a > 12 for a, b in zip(combo[1:], combo[2:])) or combo[-1] - combo[0] > 24:
            continue
        cost = 0.0
        if got.count(third) > 1:
            cost += 3.0
        if fifth is not None and fifth not in got:
            cost += 1.0
        if combo[0] < 52 and len(combo) > 1 and combo[1] - combo[0] < 5:
            cost += 4.0   # thirds and seconds below E3 turn to mud
        if max_top is not None and combo[-1] > max_top:
            cost += 50.0 + (combo[-1] - max_top)
        cost += 0.3 * abs(sum(combo) / n - centre)
        if prev:
            if len(prev) == n:
                cost += sum(abs(a - b) for a, b in zip(combo, prev))
                cost += PARALLEL_COST * sum(parallel_perfects(prev[i], combo[i], prev[j], combo[j])
                                            for i in range(n) for j in range(i + 1, n))
                if None not in bass:
                    cost += PARALLEL_COST * sum(parallel_perfects(bass[0], bass[1], prev[i], combo[i])
                                                for i in range(n))
            else:
                cost += sum(min(abs(a - b) for b in prev) for a in combo)
        key = (cost, combo)
        if best_key is None or key < best_key:
            best, best_key = combo, key
    if best is None:
        raise ValueError(f"no voicing of pitch classes {pcs} in MIDI {low}..{high}")
    return tuple(best)
