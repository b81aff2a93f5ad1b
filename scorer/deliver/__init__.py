"""Everything handed over, in forms people keep working with (ARCHITECTURE.md "Outputs"):

OUT/cues.json  OUT/cuesheet.csv  OUT/score.mid  OUT/stems/<group>.wav  OUT/mix.wav
OUT/preview.mp4  OUT/report.json
"""
from __future__ import annotations

import os
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import numpy as np

from scorer.deliver.cuesheet import cuesheet_csv
from scorer.deliver.hits import measured_onset_s
from scorer.deliver.midi import midi_bytes
from scorer.io.audio import write_wavs_and_sum
from scorer.io.files import write_bytes, write_json, write_text
from scorer.mix import Mix
from scorer.mix.place import window
from scorer.timebase import frame_to_smpte, fps_str, s_to_sample
from scorer.types import CueSheet, Score


def scored_cue_sheet(cue_sheet: CueSheet, score: Score) -> CueSheet:
    """The cue sheet with each hit's `scored` flag as the composed music honours it."""
    by_id = {cs.cue.id: cs.cue for cs in score.cues}
    return replace(cue_sheet, cues=tuple(by_id.get(c.id, c) for c in cue_sheet.cues))


def hit_report(score: Score, mix: Mix) -> list[dict]:
    """Every hit with its planned beat error and the onset measured in the rendered music."""
    fps = score.source.fps
    rows = []
    clips = [c for group in mix.stems.groups.values() for c in group]
    for cs in score.cues:
        for fit in cs.hit_fits:
            h = fit.hit
            row = {"cue": cs.cue.id, "t_s": h.t_s, "frame": h.frame,
                   "timecode": frame_to_smpte(h.frame, fps), "kind": h.kind,
                   "strength": h.strength, "scored": h.scored, "beat": fit.beat,
                   "on_downbeat": fit.on_downbeat,
                   "beat_error_ms": round(fit.error_s * 1000, 3),
                   "beat_error_frames": round(fit.error_s * float(fps), 3)}
            # Measured for every hit (an unscored one shows what the music does there);
            # only the music around the hit is summed, so memory stays flat on a feature.
            start = max(s_to_sample(h.t_s - 1.0), 0)
            music = window(clips, start=start, n=min(s_to_sample(2.0), mix.n_samples - start))
            onset = measured_onset_s(music, h.t_s, start_sample=start)
            row["onset_error_ms"] = None if onset is None else round((onset - h.t_s) * 1000, 2)
            rows.append(row)
    return rows


def deliver(score: Score, mix: Mix, cue_sheet: CueSheet, out_dir: str | os.PathLike, *,
            cut_path: str | os.PathLike | None = None, timings_s: dict | None = None,
            preview: bool = True, progress: Callable[[str, float, float], None] | None = None) -> dict:
    """Write every output into out_dir; returns the report (also written as report.json)."""
    out = Path(out_dir)
    (out / "stems").mkdir(parents=True, exist_ok=True)
    steps = ("cue sheets", "midi and notation", "stems and mix", "preview", "report")
    done = 0

    def step():
        nonlocal done
        done += 1
        if progress:
            progress("deliver", done, len(steps))

    final_sheet = scored_cue_sheet(cue_sheet, score)
    write_json(out / "cues.json", final_sheet.to_dict())
    write_text(out / "cuesheet.csv", cuesheet_csv(score))
    step()
    write_bytes(out / "score.mid", midi_bytes(score))
    if score.theme is not None and score.cues:
        from scorer.compose.harmony import parse_key
        from scorer.deliver.notation import leadsheet_musicxml, theme_musicxml
        tonic, mode = parse_key(score.cues[0].key)
        write_bytes(out / "theme.musicxml", theme_musicxml(score.theme, tonic=tonic, mode=mode))
        write_bytes(out / "leadsheet.musicxml", leadsheet_musicxml(score))
    step()
    write_wavs_and_sum({out / "stems" / f"{g}.wav": mix.stem_blocks(g) for g in sorted(mix.stems.groups)},
                       out / "mix.wav")
    step()
    if preview and cut_path is not None:
        from scorer.io.preview import write_preview
        write_preview(cut_path, mix.programme_blocks(), out / "preview.mp4")
    step()
    hits = hit_report(score, mix)
    scored_errors = [abs(r["onset_error_ms"]) for r in hits
                     if r["scored"] and r["onset_error_ms"] is not None]
    missed = [r for r in hits if r["scored"] and r["onset_error_ms"] is None]
    report = {
        "schema": "Report.1",
        "label": "TEMP SCORE — a draft for reference, not final music",
        "source": {**final_sheet.source.to_dict(), "fps": fps_str(score.source.fps)},
        "seed": score.seed,
        "backend": mix.stems.backend,
        "render": mix.stems.info,
        "theme": None if score.theme is None else {
            "source": score.theme.source, "beats_per_bar": score.theme.beats_per_bar,
            "statement": [[n.onset_beats, n.length_beats, n.degree] for n in score.theme.statement],
            "answer": [[n.onset_beats, n.length_beats, n.degree] for n in score.theme.answer]},
        "cues": [{"id": cs.cue.id, "preset": cs.cue.preset, "key": cs.key,
                  "tempo_map": cs.tempo_map.to_dict(),
                  # The cue-tempo calculator's view: the best base tempos (the chosen
                  # one first) and what each would do to the hits at a constant tempo.
                  "tempo_alternatives": [asdict(a) for a in cs.alternatives],
                  "unhonoured_hits": [{"t_s": h.t_s, "frame": h.frame,
                                       "timecode": frame_to_smpte(h.frame, score.source.fps),
                                       "kind": h.kind, "strength": h.strength, "reason": why}
                                      for h, why in cs.unhonoured],
                  "chords": [[t, c] for t, c in cs.chords],
                  "parts": [{"name": p.name, "group": p.group, "program": p.program,
                             "is_drums": p.is_drums, "n_notes": len(p.notes)} for p in cs.parts]}
                 for cs in score.cues],
        "hits": hits,
        "hits_summary": {"scored": len(scored_errors) + len(missed),
                         "scored_without_onset": len(missed),
                         "max_onset_error_ms": max(scored_errors) if scored_errors else None,
                         "mean_onset_error_ms": round(float(np.mean(scored_errors)), 2)
                         if scored_errors else None},
        "loudness": {"spec": mix.spec.name, "target_lufs": mix.spec.integrated_lufs,
                     "target_true_peak_dbtp": mix.spec.true_peak_dbtp,
                     "music_lufs": round(mix.music_lufs, 2),
                     "music_true_peak_dbtp": round(mix.music_true_peak_dbtp, 2),
                     "programme_lufs": round(mix.programme_lufs, 2),
                     "programme_true_peak_dbtp": round(mix.programme_true_peak_dbtp, 2),
                     "music_gain_db": round(mix.music_gain_db, 2),
                     "production_gain_db": round(mix.production_gain_db, 2)},
        "stems": sorted(mix.stems.groups),
        "timings_s": {k: round(v, 3) for k, v in (timings_s or {}).items()},
    }
    write_json(out / "report.json", report)
    step()
    return report
