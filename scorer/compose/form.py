"""Form: a cue planned as sections and phrases before a note is written.

A cue has an arc — establish, state the idea, develop it, build toward its strongest
moment, release, end — fitted to its length in bars, its hits and its intensity curve.
Phrases are two or four bars (a question and an answer); the bars just before the
climax build; the last bars are the cadence. Every layer reads the same plan, so the
tune, the textures and the dynamics move together.
"""
from __future__ import annotations

from dataclasses import dataclass

INTRO, STATEMENT, DEVELOPMENT, BUILD, CLIMAX, RELEASE, ENDING = (
    "intro", "statement", "development", "build", "climax", "release", "ending")


@dataclass(frozen=True)
class Section:
    """Bars [first_bar, first_bar + n_bars) of one kind."""
    kind: str
    first_bar: int
    n_bars: int

    @property
    def end_bar(self) -> int:
        return self.first_bar + self.n_bars


@dataclass(frozen=True)
class Form:
    """A cue's sections in bar order (bar 0 is the first downbeat; a pickup bar is −1),
    and the bar of its climax (the strongest hit, else the intensity peak)."""
    sections: tuple[Section, ...]
    climax_bar: int

    def section_at(self, bar: int) -> Section:
        for s in self.sections:
            if s.first_bar <= bar < s.end_bar:
                return s
        return self.sections[-1] if bar >= self.sections[-1].end_bar else self.sections[0]

    def kind_at(self, bar: int) -> str:
        return self.section_at(bar).kind

    def phrase_position(self, bar: int, within: float = 0.0) -> float:
        """Where a moment sits in its phrase, 0 (the phrase's first bar line) … 1 (its end):
        phrases are the section cut into 4-bar units (2 when the section is short).
        within: how far into the bar, 0…1."""
        s = self.section_at(bar)
        length = _phrase_bars(s)
        return (((bar - s.first_bar) % length) + within) / length

    def phrase_end(self, bar: int) -> bool:
        """The bar closes a phrase (a breath, a fill or a pickup into the next one)."""
        s = self.section_at(bar)
        length = _phrase_bars(s)
        return (bar - s.first_bar) % length == length - 1 or bar == s.end_bar - 1


def _phrase_bars(section: Section) -> int:
    return 4 if section.n_bars >= 4 else max(1, section.n_bars)


def plan_form(*, first_bar: int, n_bars: int, climax_bar: int | None, peak_bar: int,
              cadence_bars: int) -> Form:
    """The sections of a cue of bars first_bar … n_bars − 1.

    climax_bar: the bar of the strongest honoured hit (None: none strong enough; the
    intensity peak, peak_bar, is then the climax). cadence_bars: the bars the cadence
    takes at the end.
    """
    first = max(first_bar, 0)           # a pickup bar belongs to whatever follows it
    total = n_bars - first
    if total <= 3:
        sections = [Section(STATEMENT, first_bar, max(1, n_bars - first_bar - 1))]
        if n_bars - first_bar > 1:
            sections.append(Section(ENDING, n_bars - 1, 1))
        return Form(tuple(sections), min(max(climax_bar if climax_bar is not None else peak_bar, first), n_bars - 1))
    end_n = max(1, min(cadence_bars, 2, total // 4))
    body_end = n_bars - end_n
    climax = climax_bar if climax_bar is not None else peak_bar
    climax = min(max(climax, first + 1), body_end - 1)
    # An opening of one or two bars in longer cues — never past an early climax.
    intro_n = min(0 if total < 6 else 1 if total < 14 else 2, max(0, climax - first))
    bounds: list[tuple[str, int, int]] = []
    if intro_n:
        bounds.append((INTRO, first_bar, first + intro_n))
    start = first + intro_n if intro_n else first_bar
    # The build: up to 4 bars into the climax, at least 2 where the cue has them.
    build_n = min(4, max(0, climax - start - 2))
    build_at = climax - build_n
    # Statement first (up to 8 bars: a theme and its answer), then development.
    stmt_end = start + min(8, max(0, build_at - start))
    if stmt_end > start:
        bounds.append((STATEMENT, start, stmt_end))
    if build_at > stmt_end:
        bounds.append((DEVELOPMENT, stmt_end, build_at))
    if build_n:
        bounds.append((BUILD, build_at, climax))
    climax_n = max(1, min(4, (body_end - climax) // 2 if body_end - climax > 3 else body_end - climax))
    bounds.append((CLIMAX, climax, climax + climax_n))
    if body_end > climax + climax_n:
        bounds.append((RELEASE, climax + climax_n, body_end))
    bounds.append((ENDING, body_end, n_bars))
    sections = tuple(Section(k, a, b - a) for k, a, b in bounds if b > a)
    return Form(sections, climax)


def climax_and_peak(*, hits, intensity_at_bar, first_bar: int, n_bars: int, bar_of_beat) -> tuple[int | None, int]:
    """(bar of the strongest honoured hit of strength ≥ 0.6 or None, bar of the highest
    intensity). hits: (hit, beat) pairs; intensity_at_bar(bar) → 0…1."""
    strong = [(h.strength, -b, b) for h, b in hits if h.strength >= 0.6]
    climax = bar_of_beat(max(strong)[2]) if strong else None
    bars = range(max(first_bar, 0), n_bars)
    peak = max(bars, key=lambda b: (round(intensity_at_bar(b), 6), -b)) if len(bars) else 0
    return climax, peak
