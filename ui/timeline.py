"""The studio's timeline picture: the whole cut at a glance, as SVG.

Rows, top to bottom: a timecode ruler; the shots (shade = the shot's brightness, a
thin line at every cut); the cues as coloured blocks (one colour per preset, a heavier
outline on the selected cue, a lock or tick for locked/approved cues) with the intensity
curve drawn over them; the hit points (solid = scored on a beat, dashed = a candidate
the music does not hit; height = strength); the cut's own sound (its peak level along
the film); and the dialogue spans. SVG keeps it sharp
at any width, needs no drawing library, and can be checked as XML in tests.
"""
from __future__ import annotations

import zlib
from xml.sax.saxutils import escape

from scorer.timebase import s_to_smpte
from scorer.types import CueSheet

RULER_H, SHOTS_H, CUES_H, HITS_H, SOUND_H, TALK_H = 20, 16, 46, 22, 24, 10
PAD_X = 4


def _attr(text: str) -> str:
    """Text safe inside a double-quoted attribute (and as element text)."""
    return escape(text, {'"': "&quot;"})

# Colour-blind-friendly hues (Okabe–Ito), picked per preset name by a stable hash.
_HUES = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999")


def preset_colour(name: str) -> str:
    return _HUES[zlib.crc32(name.encode("utf-8")) % len(_HUES)]


def _ruler_step_s(duration_s: float, width_px: int) -> float:
    """A tick spacing that leaves about 90 px between labelled ticks."""
    target = duration_s * 90.0 / max(width_px, 1)
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if step >= target:
            return float(step)
    return 3600.0


def timeline_svg(sheet: CueSheet, *, width_px: int = 1200, selected: str | None = None,
                 statuses: dict[str, str] | None = None, playhead_s: float | None = None,
                 notes: tuple[tuple[float, str], ...] = (), waveform=None) -> str:
    """The timeline of `sheet` as an SVG document (a string). It is drawn width_px wide
    and scales to the width of the page (viewBox), so it fits the window.

    selected: the cue id drawn highlighted. statuses: cue id → status ("spotted",
    "sketch", "approved", "locked"). playhead_s: where the player is. notes: (time in
    seconds, what it says) of each review note, drawn as a marker on top of the cues.
    waveform: the cut's own sound, peak levels 0…1 in equal stretches of the cut
    (studio.production_waveform), drawn mirrored about a centre line; None: no row.
    """
    duration = max(sheet.source.duration_s, 1e-6)
    fps = sheet.source.fps
    usable = width_px - 2 * PAD_X
    x = lambda t: PAD_X + usable * min(max(t, 0.0), duration) / duration  # noqa: E731
    statuses = statuses or {}
    y_shots = RULER_H
    y_cues = y_shots + SHOTS_H + 4
    y_hits = y_cues + CUES_H + 2
    y_sound = y_hits + HITS_H + 2
    y_talk = y_sound + (SOUND_H + 2 if waveform is not None else 0)
    height = y_talk + TALK_H + 4
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" '
           f'viewBox="0 0 {width_px} {height}" font-family="sans-serif" font-size="13" '
           f'role="img" aria-label="Timeline of {_attr(sheet.source.path)}">',
           f'<rect x="0" y="0" width="{width_px}" height="{height}" fill="#1b1b1f"/>']

    step = _ruler_step_s(duration, width_px)
    t = 0.0
    while t <= duration + 1e-9:
        out.append(f'<line class="tick" x1="{x(t):.1f}" y1="{RULER_H - 6}" x2="{x(t):.1f}" '
                   f'y2="{RULER_H}" stroke="#888"/>')
        out.append(f'<text x="{x(t) + 2:.1f}" y="{RULER_H - 8}" fill="#bbb">'
                   f'{escape(s_to_smpte(t, fps)[:8])}</text>')
        t += step

    for shot in sheet.shots:
        level = int(40 + 160 * min(max(shot.brightness, 0.0), 1.0))
        out.append(f'<rect class="shot" x="{x(shot.start_s):.1f}" y="{y_shots}" '
                   f'width="{max(x(shot.end_s) - x(shot.start_s), 0.5):.1f}" height="{SHOTS_H}" '
                   f'fill="rgb({level},{level},{level})" stroke="#1b1b1f" stroke-width="0.6">'
                   f'<title>shot {escape(s_to_smpte(shot.start_s, fps))} ({shot.transition_in})</title></rect>')

    for cue in sheet.cues:
        x0, x1 = x(cue.start_s), x(cue.end_s)
        status = statuses.get(cue.id, "spotted")
        colour = preset_colour(cue.preset or "?")
        chosen = cue.id == selected
        out.append(f'<g class="cue" data-cue="{_attr(cue.id)}" data-status="{_attr(status)}">'
                   f'<rect x="{x0:.1f}" y="{y_cues}" width="{max(x1 - x0, 1.0):.1f}" height="{CUES_H}" '
                   f'rx="3" fill="{colour}" fill-opacity="{0.85 if chosen else 0.55}" '
                   f'stroke="{"#fff" if chosen else "#000"}" stroke-width="{2 if chosen else 0.8}"/>'
                   f'<text x="{x0 + 3:.1f}" y="{y_cues + 12}" fill="#000" font-weight="bold">'
                   f'{escape(cue.id)}{" 🔒" if status == "locked" else " ✓" if status == "approved" else ""}</text>'
                   f'<text x="{x0 + 3:.1f}" y="{y_cues + 24}" fill="#111">{escape(cue.preset)}</text>'
                   f'<title>{escape(cue.id)} {escape(cue.preset)} {escape(s_to_smpte(cue.start_s, fps))}–'
                   f'{escape(s_to_smpte(cue.end_s, fps))} ({status})</title></g>')
        # The intensity curve over the block: 0 at its bottom, 1 at its top.
        pts = [(cue.start_s, cue.intensity_at(cue.start_s))] + \
              [(t_s, v) for t_s, v in cue.intensity if cue.start_s < t_s < cue.end_s] + \
              [(cue.end_s, cue.intensity_at(cue.end_s))]
        poly = " ".join(f"{x(t_s):.1f},{y_cues + CUES_H - 2 - (CUES_H - 4) * v:.1f}" for t_s, v in pts)
        out.append(f'<polyline class="intensity" points="{poly}" fill="none" stroke="#fff" '
                   f'stroke-width="1.4" stroke-opacity="0.9"/>')
        for h in cue.hits:
            hx = x(h.t_s)
            top = y_hits + HITS_H * (1.0 - min(max(h.strength, 0.0), 1.0))
            dash = "" if h.scored else ' stroke-dasharray="2,2"'
            out.append(f'<line class="hit{" scored" if h.scored else ""}" data-t="{h.t_s:.6f}" '
                       f'x1="{hx:.1f}" y1="{top:.1f}" x2="{hx:.1f}" y2="{y_hits + HITS_H}" '
                       f'stroke="{"#ff4d4d" if h.scored else "#aaa"}" stroke-width="1.5"{dash}>'
                       f'<title>{escape(h.kind)} {escape(s_to_smpte(h.t_s, fps))} strength '
                       f'{h.strength:.2f}{"" if h.scored else " (not scored)"}</title></line>')

    if waveform is not None and len(waveform):
        mid, half = y_sound + SOUND_H / 2, SOUND_H / 2 - 1
        k = len(waveform)
        segs = " ".join(f"M{x(duration * (i + 0.5) / k):.1f},{mid - half * float(v):.1f}V{mid + half * float(v) + 0.3:.1f}"
                        for i, v in enumerate(waveform))
        out.append(f'<path class="sound" d="{segs}" stroke="#6fbf73" stroke-width="{max(usable / k, 0.6):.2f}" '
                   f'fill="none"><title>the cut\'s own sound</title></path>')
    for span in sheet.dialogue:
        out.append(f'<rect class="dialogue" x="{x(span.start_s):.1f}" y="{y_talk}" '
                   f'width="{max(x(span.end_s) - x(span.start_s), 1.0):.1f}" height="{TALK_H}" '
                   f'fill="#7fb3ff"><title>dialogue {escape(s_to_smpte(span.start_s, fps))}–'
                   f'{escape(s_to_smpte(span.end_s, fps))}</title></rect>')
    for t_s, text in notes:
        nx = x(t_s)
        out.append(f'<path class="note" data-t="{t_s:.6f}" d="M{nx - 5:.1f},{y_cues - 2} L{nx + 5:.1f},{y_cues - 2} '
                   f'L{nx:.1f},{y_cues + 7} Z" fill="#ffd84d" stroke="#000" stroke-width="0.6">'
                   f'<title>{escape(s_to_smpte(t_s, fps))} {escape(text)}</title></path>')
    if playhead_s is not None:
        out.append(f'<line class="playhead" x1="{x(playhead_s):.1f}" y1="0" x2="{x(playhead_s):.1f}" '
                   f'y2="{height}" stroke="#fff" stroke-width="1"/>')
    out.append("</svg>")
    return "\n".join(out)
