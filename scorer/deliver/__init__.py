"""Everything handed over, in forms people keep working with (ARCHITECTURE.md "Outputs"):

OUT/cues.json  OUT/cuesheet.csv  OUT/score.mid  OUT/theme.musicxml  OUT/leadsheet.musicxml
OUT/stems/<Project>_ALL_<Group>_v<NN>.wav (and per cue: <Project>_<Cue>_<Group>_v<NN>.wav)
OUT/mix.wav  OUT/timeline.otio  OUT/preview.mp4  OUT/report.json

Stems and the mix are Broadcast WAVs stamped with the cut's start timecode, their names
carrying the delivery's version. `scorer score` delivers each run whole as OUT.v01,
OUT.v02 … with OUT pointing at the newest (deliver/versions.py); deliver() itself writes
into the folder it is given, a folder that already holds stems taking the next version
number.
"""
from __future__ import annotations

import concurrent.futures
import os
import re
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import numpy as np

from scorer.deliver.cuesheet import cuesheet_csv, notes_csv
from scorer.deliver.hits import measured_onset_s, onset_window
from scorer.deliver.measure import Excerpts, Meter, fork
from scorer.deliver.midi import midi_bytes
from scorer.errors import InputError
from scorer.io.audio import Bext, write_wavs_and_sum
from scorer.io.files import write_bytes, write_json, write_text
from scorer.mix import Mix, line_spans
from scorer.mix.duck import SILENT_LUFS
from scorer.mix.loudness import db_to_gain
from scorer.schemas import tag
from scorer.timebase import SAMPLE_RATE, frame_to_s, frame_to_smpte, frames_in, fps_str, s_to_frame, s_to_sample
from scorer.types import CueSheet, Score

# report.json, for people and scripts to read (scorer reads none back). A Report.1 field
# keeps its name and meaning: fields may be added, but one renamed, dropped or meaning
# something else takes Report.2, with an upgrade (scorer/schemas.py) for any reader.
REPORT = "Report"
REPORT_VERSION = 1
REPORT_SCHEMA = tag(REPORT, REPORT_VERSION)


def _write_cue_stems(mix: Mix, out: Path, *, project: str, version: int, stamp) -> dict[str, dict[str, str]]:
    """Each cue's stems on their own, every group of a cue over the same span: from the
    cue's first sample to the end of its longest tail (a bed that ends sooner is padded
    with silence), so a music editor lines them up by their time stamp alone."""
    from scorer.io.audio import write_wav

    # The clips as the mix holds them (tails faded, ducked) at the gain every stem plays at,
    # so a cue's stem is exactly its share of the full-length stem.
    gain = np.float32(db_to_gain(mix.music_gain_db))
    span: dict[str, tuple[int, int]] = {}
    for clips in mix.stems.groups.values():
        for clip in clips:
            # Nothing can sit before the cut's first frame (nor before 00:00:00:00).
            a, b = max(clip.start_sample, 0), clip.start_sample + clip.samples.shape[1]
            lo, hi = span.get(clip.label, (a, b))
            span[clip.label] = (min(lo, a), max(hi, b))
    files: dict[str, dict[str, str]] = {}
    for group, clips in sorted(mix.stems.groups.items()):
        for clip in clips:
            name = f"stems/{stem_file_name(project, clip.label, group, version)}"
            first, end = span[clip.label]

            def blocks(clip=clip, first=first, end=end):
                for at in range(first, end, SAMPLE_RATE):
                    block = np.zeros((clip.samples.shape[0], min(SAMPLE_RATE, end - at)), np.float32)
                    i, j = max(at - clip.start_sample, 0), min(at + block.shape[1] - clip.start_sample,
                                                               clip.samples.shape[1])
                    if j > i:
                        block[:, i + clip.start_sample - at:j + clip.start_sample - at] = clip.samples[:, i:j] * gain
                    yield block
            write_wav(out / name, blocks(),
                      bext=stamp(f"{project} {clip.label} {group} v{version:02d} - TEMP score", first,
                                 scene=clip.label, tracks=group))
            files.setdefault(clip.label, {})[group] = name
    return files


def _timecode_and_cue(score: Score):
    """frame index → (its timecode, "1M2 tension" for the cue playing there, or "")."""
    fps, first = score.source.fps, score.source.start_frame
    spans = [(cs.cue.start_s, cs.cue.end_s, f"{cs.cue.id} {cs.cue.preset}  TEMP") for cs in score.cues]

    def overlay(k: int) -> tuple[str, str]:
        t = frame_to_s(k, fps)
        cue = next((name for a, b, name in spans if a <= t < b), "")
        return frame_to_smpte(first + k, fps), cue
    return overlay


def scored_cue_sheet(cue_sheet: CueSheet, score: Score) -> CueSheet:
    """The cue sheet with each hit's `scored` flag as the composed music honours it."""
    by_id = {cs.cue.id: cs.cue for cs in score.cues}
    return replace(cue_sheet, cues=tuple(by_id.get(c.id, c) for c in cue_sheet.cues))


def hit_report(score: Score, excerpts: Excerpts) -> list[dict]:
    """Every hit with its planned beat error and the onset measured in the delivered music.
    excerpts: the music around each hit, in the order of hit_windows()."""
    fps = score.source.fps
    rows = []
    for i, (cs, fit) in enumerate((cs, fit) for cs in score.cues for fit in cs.hit_fits):
        h = fit.hit
        row = {"cue": cs.cue.id, "t_s": h.t_s, "frame": h.frame,
               "timecode": frame_to_smpte(score.source.start_frame + h.frame, fps), "kind": h.kind,
               "strength": h.strength, "scored": h.scored, "beat": fit.beat,
               "on_downbeat": fit.on_downbeat,
               "beat_error_ms": round(fit.error_s * 1000, 3),
               "beat_error_frames": round(frames_in(fit.error_s, fps), 3)}
        # Measured for every hit: an unscored one shows what the music does there.
        start, _ = excerpts.windows[i]
        onset = measured_onset_s(excerpts[i], h.t_s, start_sample=start)
        row["onset_error_ms"] = None if onset is None else round((onset - h.t_s) * 1000, 2)
        rows.append(row)
    return rows


def hit_windows(score: Score, n_total: int) -> list[tuple[int, int]]:
    """The stretch of music the onset detector needs around each hit (hit_report's order)."""
    return [onset_window(fit.hit.t_s, n_total=n_total) for cs in score.cues for fit in cs.hit_fits]


_NAME_OK = re.compile(r"[^\w-]+")


def project_name(name: str) -> str:
    """A project name safe in file names: letters, digits, '-' and '_' (others become '-').
    Accented Latin letters are written without their accents (Amélie → Amelie: what
    ASCII-only tools downstream show as the same name); letters of other scripts are kept
    as they are (東京物語), never dropped."""
    import unicodedata

    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    clean = _NAME_OK.sub("-", unicodedata.normalize("NFC", folded)).strip("-_")
    if not clean:
        raise InputError(f"project name {name!r} has no letters or digits to name files with")
    return clean[:64]


def next_version(stems_dir: Path, project: str) -> int:
    """One more than the highest version already delivered for `project` in stems_dir."""
    pattern = re.compile(rf"^{re.escape(project)}_.+_v(\d+)\.wav$")
    found = [int(m.group(1)) for p in stems_dir.glob("*.wav") if (m := pattern.match(p.name))]
    return max(found, default=0) + 1


def stem_file_name(project: str, cue: str, group: str, version: int) -> str:
    """`<Project>_<Cue or ALL>_<Group>_v<NN>.wav`, as post-production names stems."""
    cue, group = project_name(cue), project_name(group)     # ids from an edited cue sheet: never a path
    return f"{project}_{cue}_{group[:1].upper() + group[1:]}_v{version:02d}.wav"


def _stamp(description: str, *, start_sample: int, source_start_frame: int, fps, seed: int,
           date: str, clock: str, project: str, scene: str, take: str, tracks: str) -> Bext:
    """A bext chunk placing a file whose first sample is `start_sample` on the cut's
    timeline (sample 0 = the cut's first frame, at its start timecode), with an iXML chunk
    naming its tracks ("<tracks> L", "<tracks> R") and the cut's timecode rate.
    OriginatorReference is unique to the file (its description and seed, hashed), so the
    same file delivered again has the same reference."""
    import hashlib

    from scorer.io.audio import Ixml
    from scorer.timebase import is_drop_frame_rate

    midnight_offset = s_to_sample(frame_to_s(source_start_frame, fps))
    reference = "scorer" + hashlib.sha256(f"{description}|{seed}".encode()).hexdigest()[:26]
    ixml = Ixml(project=project, scene=scene, take=take, note=f"{description} (seed {seed})",
                timecode_rate=fps_str(fps), drop_frame=bool(is_drop_frame_rate(fps)),
                track_names=(f"{tracks} L", f"{tracks} R"))
    return Bext(description=description[:256], originator="scorer", originator_reference=reference,
                origination_date=date, origination_time=clock,
                time_reference_samples=midnight_offset + start_sample,
                coding_history=f"A=PCM,F={SAMPLE_RATE},W=24,M=stereo,T=scorer temp score\r\n", ixml=ixml)


def dialogue_levels(cue_sheet: CueSheet, meter: Meter, mix: Mix) -> list[dict]:
    """For every line of dialogue, measured on what is delivered: the music (as in mix.wav)
    and the cut's own sound (as the preview plays it: programme − music), K-weighted over
    the line (LUFS, as the mix's rule measures them, mix/duck.py) and as RMS (dBFS); how
    far the music sits under the line, the gain the rule gave the music there, whether
    that is inside the rule's band, and why not where it is not."""
    rows = []
    lo, hi = mix.ducking.band_db
    decisions = mix.lines or (None,) * len(cue_sheet.dialogue)
    for span, music_db, prod_db, prog_db, music_lufs, dlg_lufs, decision in zip(
            cue_sheet.dialogue, meter.music.rms_dbfs(), meter.production.rms_dbfs(), meter.programme.rms_dbfs(),
            meter.music_k.lufs(), meter.production_k.lufs(), decisions):
        music_lufs = None if music_lufs <= SILENT_LUFS else round(music_lufs, 2)
        dlg_lufs = None if dlg_lufs <= SILENT_LUFS else round(dlg_lufs, 2)
        under = None if music_lufs is None or dlg_lufs is None else round(dlg_lufs - music_lufs, 2)
        problem = None if decision is None else decision.problem
        if under is not None and problem is None and not lo - 0.5 <= under <= hi + 0.5:
            problem = f"measured {under:.1f} dB under the line, outside {lo:g}–{hi:g}"
        rows.append({"start_s": span.start_s, "end_s": span.end_s,
                     "in": _cut_tc(span.start_s, cue_sheet.source),
                     "out": _cut_tc(span.end_s, cue_sheet.source),
                     "dialogue_lufs": dlg_lufs, "music_lufs": music_lufs,
                     "music_under_dialogue_db": under,
                     "target_under_db": mix.ducking.under_db,
                     "music_gain_db": None if decision is None else round(decision.gain_db, 2),
                     "within_target": None if under is None else problem is None,
                     "problem": problem,
                     "music_rms_dbfs": music_db, "dialogue_rms_dbfs": prod_db, "programme_rms_dbfs": prog_db})
    return rows


def _cut_tc(t_s: float, source) -> str:
    """The cut's own timecode at t_s (from its start timecode), as editors read it."""
    return frame_to_smpte(source.start_frame + s_to_frame(t_s, source.fps), source.fps)


def _write_notation(score: Score, out: Path) -> None:
    """theme.musicxml and leadsheet.musicxml, when the score has a theme."""
    if score.theme is None or not score.cues:
        return
    from scorer.deliver.notation import leadsheet_musicxml, theme_musicxml
    from scorer.music import parse_key
    tonic, mode = parse_key(score.cues[0].key)
    write_bytes(out / "theme.musicxml", theme_musicxml(score.theme, tonic=tonic, mode=mode,
                                                       tempo_bpm=score.cues[0].tempo_map.segments[0].tempo_bpm))
    write_bytes(out / "leadsheet.musicxml", leadsheet_musicxml(score))


def deliver(score: Score, mix: Mix, cue_sheet: CueSheet, out_dir: str | os.PathLike, *,
            cut_path: str | os.PathLike | None = None, timings_s: dict | None = None,
            preview: bool = True, project: str | None = None, per_cue_stems: bool = False,
            click: bool = False, burn_in: bool = False, version: int | None = None,
            notes: tuple = (), progress: Callable[[str, float, float], None] | None = None) -> dict:
    """Write every output into out_dir; returns the report (also written as report.json).

    project: the name stems are filed under (default: the cut's file name). per_cue_stems:
    also write each cue's stems, spanning the cue and its tail, stamped with its own time.
    click: also write a click track with count-ins (not part of the mix). burn_in: the
    preview shows the timecode and the playing cue's name over the picture. The preview's
    sound is measured as decoded from its AAC and encoded again, limited lower, where its
    true peak passes the spec's ceiling (the report's "preview"; null without a preview).
    version: the number in the file names (default: one more than out_dir's stems hold).
    notes: review notes (scorer.types.ReviewNote) carried where the composer works: the cue
    sheet's notes column, markers in score.mid and timeline.otio, and notes.json/notes.csv.
    """
    out = Path(out_dir)
    (out / "stems").mkdir(parents=True, exist_ok=True)
    project = project_name(project if project is not None else Path(score.source.path).stem)
    version = next_version(out / "stems", project) if version is None else version
    source = score.source
    date, clock = "2000-01-01", "00:00:00"
    if cut_path is not None and Path(cut_path).exists():   # the cut's own date: same cut, same bytes
        made = time.gmtime(Path(cut_path).stat().st_mtime)
        date, clock = time.strftime("%Y-%m-%d", made), time.strftime("%H:%M:%S", made)

    def stamp(text: str, start: int, *, scene: str, tracks: str) -> Bext:
        return _stamp(text, start_sample=start, source_start_frame=source.start_frame, fps=source.fps,
                      seed=score.seed, date=date, clock=clock, project=project, scene=scene,
                      take=f"v{version:02d}", tracks=tracks)
    steps = ("cue sheets", "midi, notation, stems and mix", "preview", "report")
    done = 0

    def step():
        nonlocal done
        done += 1
        if progress:
            progress("deliver", done, len(steps))

    final_sheet = scored_cue_sheet(cue_sheet, score)
    write_json(out / "cues.json", final_sheet.to_dict())
    write_text(out / "cuesheet.csv", cuesheet_csv(score, notes))
    if notes:
        write_json(out / "notes.json", {"schema": "ReviewNotes.2", "notes": [n.to_dict() for n in notes]})
        write_text(out / "notes.csv", notes_csv(notes))
    step()
    write_bytes(out / "score.mid", midi_bytes(score, notes))

    def measure_and_preview():
        # One pass measures the music (hits, lines) and the programme (lines) on its way
        # into the preview; without a preview it is read for the measurements alone.
        meter = Meter(spans=line_spans(cue_sheet, mix.n_samples), windows=hit_windows(score, mix.n_samples))
        music, music_for_programme = fork(mix.music_blocks())    # the clips are read once
        if not (preview and cut_path is not None):
            meter.finish(meter.passing(music, mix.programme_blocks(music_for_programme)))
            return meter, None
        from scorer.deliver.preview import write_preview_under_ceiling
        from scorer.mix import GATE_DIALOGUE

        programme = None

        def programme_at(limit_dbtp: float):
            # The first encode carries the measured pass; a re-encode (its AAC peaked
            # over the ceiling) reads the clips again, limited lower. The lines' levels
            # stay those of the first: a lower limit changes only the loudest peaks.
            nonlocal programme
            if programme is None:
                programme = meter.passing(music, mix.programme_blocks(music_for_programme, ceiling_dbtp=limit_dbtp))
                return programme
            return mix.programme_blocks(ceiling_dbtp=limit_dbtp)

        gate = ([(sp.start_s, sp.end_s) for sp in cue_sheet.dialogue]
                if mix.loudness_gate == GATE_DIALOGUE else None)
        levels = write_preview_under_ceiling(
            cut_path, programme_at, out / "preview.mp4", ceiling_dbtp=mix.spec.true_peak_dbtp,
            gate_s=gate, loudness_gate=mix.loudness_gate, overlay=_timecode_and_cue(score) if burn_in else None)
        meter.finish(programme)
        return meter, levels

    # The preview (its AAC encoder releases the GIL) and the notation (music21, pure
    # Python: seconds for a feature) are made by two threads while this one writes the
    # audio, which spends its time in numpy and the disk. Each reads the clips itself.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="scorer-deliver") as pool:
        measured = pool.submit(measure_and_preview)
        notation = pool.submit(_write_notation, score, out)
        stem_files = {g: f"stems/{stem_file_name(project, 'ALL', g, version)}" for g in sorted(mix.stems.groups)}
        write_wavs_and_sum({out / f: mix.stem_blocks(g) for g, f in stem_files.items()}, out / "mix.wav",
                           bext={str(out / f): stamp(f"{project} ALL {g} v{version:02d} - TEMP score", 0,
                                                     scene="ALL", tracks=g)
                                 for g, f in stem_files.items()},
                           sum_bext=stamp(f"{project} mix v{version:02d} - TEMP score", 0, scene="ALL", tracks="mix"))
        click_file = None
        if click:
            from scorer.deliver.click import click_blocks
            from scorer.io.audio import write_wav
            click_file = f"stems/{stem_file_name(project, 'ALL', 'click', version)}"
            write_wav(out / click_file, click_blocks(score, n_total=mix.n_samples),
                      bext=stamp(f"{project} click v{version:02d} - TEMP score click, count-ins, downbeats high", 0,
                                 scene="ALL", tracks="click"))
        cue_files: dict[str, dict[str, str]] = {}
        if per_cue_stems:
            cue_files = _write_cue_stems(mix, out, project=project, version=version, stamp=stamp)
        # Neural takes: their seed, model, prompt and parameters beside their audio (the audio
        # is the record: MusicGen is not bit-reproducible from a seed).
        from scorer.io.takes import write_sidecars
        take_files = [str(p.relative_to(out)) for p in write_sidecars(mix.stems, out / "stems")]
        from scorer.deliver.timeline import write_timeline
        write_timeline(out / "timeline.otio", score, cue_sheet, mix_file="mix.wav", stem_files=stem_files,
                       name=f"{project} temp score v{version:02d}", start_frame=source.start_frame, notes=notes)
        notation.result()
        step()
        meter, preview_levels = measured.result()
    step()
    hits = hit_report(score, meter.excerpts)
    scored_errors = [abs(r["onset_error_ms"]) for r in hits
                     if r["scored"] and r["onset_error_ms"] is not None]
    missed = [r for r in hits if r["scored"] and r["onset_error_ms"] is None]
    report = {
        "schema": REPORT_SCHEMA,
        "label": "TEMP SCORE — a draft for reference, not final music",
        "source": {**final_sheet.source.to_dict(), "fps": fps_str(score.source.fps)},
        "seed": score.seed,
        "backend": mix.stems.backend,
        "render": mix.stems.info,
        "theme": None if score.theme is None else {
            "source": score.theme.source, "beats_per_bar": score.theme.beats_per_bar,
            "statement": [[n.onset_beats, n.length_beats, n.degree] for n in score.theme.statement],
            "answer": [[n.onset_beats, n.length_beats, n.degree] for n in score.theme.answer]},
        "motifs": {name: {"source": m.source, "beats_per_bar": m.beats_per_bar,
                          "statement": [[n.onset_beats, n.length_beats, n.degree] for n in m.statement]}
                   for name, m in score.motifs},
        "cues": [{"id": cs.cue.id, "preset": cs.cue.preset, "key": cs.key,
                  "motif": dict(score.cue_motifs).get(cs.cue.id, "theme"),
                  "sections": [{"kind": k, "start_s": t} for k, t in cs.sections],
                  "idioms": dict(cs.idioms),
                  "tempo_map": cs.tempo_map.to_dict(),
                  # The cue-tempo calculator's view: the best base tempos (the chosen
                  # one first) and what each would do to the hits at a constant tempo.
                  "tempo_alternatives": [asdict(a) for a in cs.alternatives],
                  "unhonoured_hits": [{"t_s": h.t_s, "frame": h.frame,
                                       "timecode": frame_to_smpte(score.source.start_frame + h.frame,
                                                                   score.source.fps),
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
        # The mix's figures, measured on PCM: the music as mix.wav and the stems carry it,
        # the programme before the preview's AAC encoding, limited to the spec's ceiling.
        # What the preview itself delivers, measured on its decoded AAC: "preview".
        "loudness": {"spec": mix.spec.name, "target_lufs": mix.spec.integrated_lufs,
                     "programme_measured": mix.loudness_gate,
                     "programme_measured_on": "PCM programme before encoding (limited to the spec's ceiling)",
                     "music_measured_on": "PCM music (mix.wav, the stems)",
                     "target_true_peak_dbtp": mix.spec.true_peak_dbtp,
                     "music_lufs": round(mix.music_lufs, 2),
                     "music_true_peak_dbtp": round(mix.music_true_peak_dbtp, 2),
                     "programme_lufs": round(mix.programme_lufs, 2),
                     "programme_true_peak_dbtp": round(mix.programme_true_peak_dbtp, 2),
                     "music_gain_db": round(mix.music_gain_db, 2),
                     "production_gain_db": round(mix.production_gain_db, 2)},
        "preview": None if preview_levels is None else preview_levels.to_dict(),
        "stems": sorted(mix.stems.groups),
        "files": {"project": project, "version": version, "start_timecode": source.start_timecode,
                  "stems": stem_files, "cue_stems": cue_files, "mix": "mix.wav", "click": click_file,
                  "neural_takes": take_files,
                  "timeline": "timeline.otio"},
        "dialogue": dialogue_levels(cue_sheet, meter, mix),
        "timings_s": {k: round(v, 3) for k, v in (timings_s or {}).items()},
    }
    write_json(out / "report.json", report)
    step()
    return report
