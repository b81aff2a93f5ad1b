"""The cue list as CSV, the way a music editor reads it: id, in/out timecode (on the cut's
own timecode, from its start timecode), duration, mood, tempo, hits, the cue's notes.
Labelled TEMP: this is a reference for the composer, not final music.

hits: "scored/spotted"; hits_scored / hits_unscored: their timecodes, each with its kind.
notes: the spotting note, then every review note on the cue ("[TC author] text", " | "
between them)."""
from __future__ import annotations

import csv
import io

from scorer.timebase import frame_to_smpte, s_to_frame
from scorer.types import ReviewNote, Score

COLUMNS = ("cue", "in", "out", "duration", "duration_s", "usage", "preset", "valence", "arousal",
           "key", "tempo_bpm", "meter", "hits", "hits_scored", "hits_unscored", "notes", "status")


def cue_notes(spotting_note: str, notes) -> str:
    """A cue's notes in one cell: the spotting note, then each review note."""
    return " | ".join([*([spotting_note] if spotting_note else []),
                       *(f"[{n.timecode} {n.author}] {n.text}" for n in notes)])


def cuesheet_csv(score: Score, notes: tuple[ReviewNote, ...] = ()) -> str:
    fps = score.source.fps
    first = score.source.start_frame
    tc = lambda t_s: frame_to_smpte(first + s_to_frame(t_s, fps), fps)  # noqa: E731
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for cs in score.cues:
        c = cs.cue
        frames = s_to_frame(c.end_s, fps) - s_to_frame(c.start_s, fps)
        tempi = sorted({round(s.tempo_bpm, 2) for s in cs.tempo_map.segments})
        tempo = f"{tempi[0]:g}" if len(tempi) == 1 else f"{tempi[0]:g}-{tempi[-1]:g}"
        w.writerow([
            c.id, tc(c.start_s), tc(c.end_s),
            frame_to_smpte(frames, fps), f"{c.duration_s:.3f}", "BI (background instrumental)",
            c.preset, f"{c.valence:+.2f}", f"{c.arousal:+.2f}", cs.key, tempo,
            f"{cs.tempo_map.beats_per_bar}/4",
            f"{sum(h.scored for h in c.hits)}/{len(c.hits)}",      # scored / spotted
            " ".join(f"{tc(h.t_s)}({h.kind})" for h in c.hits if h.scored),
            " ".join(f"{tc(h.t_s)}({h.kind})" for h in c.hits if not h.scored),
            cue_notes(c.note, [n for n in notes if n.cue_id == c.id]), "TEMP",
        ])
    return buf.getvalue()


def notes_csv(notes) -> str:
    """The review notes as a table: timecode, cue, author, when, text."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("timecode", "cue", "author", "created_at", "text"))
    for n in notes:
        w.writerow((n.timecode, n.cue_id, n.author, n.created_at, n.text))
    return buf.getvalue()
