"""timeline.otio: the temp score on the cut's timeline, for the editor and the music editor.

One audio track for the mixed score and one per stem group, each holding a clip per cue
(named "1M2 tension", referencing the delivered WAV at the cue's range) with gaps between;
markers at every cue start and every scored hit (red) and at hits the music does not
honour (yellow), named with the cue and the hit's kind, on the score track. Times are
frames at the cut's exact rate; the timeline starts at the cut's start timecode.
"""
from __future__ import annotations

from pathlib import Path

from scorer.timebase import s_to_frame
from scorer.types import CueSheet, Score


def build_timeline(score: Score, cue_sheet: CueSheet, *, mix_file: str, stem_files: dict[str, str],
                   name: str, start_frame: int = 0, notes: tuple = ()):
    """An opentimelineio Timeline of the score (files named relative to the delivery);
    notes: review notes (scorer.types.ReviewNote), as purple markers."""
    import opentimelineio as otio

    fps = score.source.fps
    rate = float(fps)
    n_total = score.source.n_frames or s_to_frame(score.source.duration_s, fps)

    def rt(frames: int):
        return otio.opentime.RationalTime(frames, rate)

    def track(track_name: str, target: str):
        tr = otio.schema.Track(name=track_name, kind=otio.schema.TrackKind.Audio)
        ref = otio.schema.ExternalReference(target_url=target,
                                            available_range=otio.opentime.TimeRange(rt(0), rt(n_total)))
        at = 0
        for cs in score.cues:
            f0, f1 = s_to_frame(cs.cue.start_s, fps), s_to_frame(cs.cue.end_s, fps)
            if f0 > at:
                tr.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(f0 - at))))
            clip = otio.schema.Clip(name=f"{cs.cue.id} {cs.cue.preset}", media_reference=ref.clone(),
                                    source_range=otio.opentime.TimeRange(rt(f0), rt(f1 - f0)))
            clip.metadata["scorer"] = {"cue": cs.cue.id, "preset": cs.cue.preset, "key": cs.key,
                                       "tempo_bpm": [round(s.tempo_bpm, 4) for s in cs.tempo_map.segments],
                                       "beats_per_bar": cs.tempo_map.beats_per_bar}
            tr.append(clip)
            at = f1
        return tr

    timeline = otio.schema.Timeline(name=name, global_start_time=rt(start_frame))
    score_track = track("Temp score", mix_file)
    for cs in score.cues:
        f0 = s_to_frame(cs.cue.start_s, fps)
        score_track.markers.append(otio.schema.Marker(
            name=f"{cs.cue.id} {cs.cue.preset}", color=otio.schema.MarkerColor.GREEN,
            marked_range=otio.opentime.TimeRange(rt(f0), rt(0))))
        for h in cs.cue.hits:
            m = otio.schema.Marker(name=f"HIT {cs.cue.id} {h.kind}",
                                   color=otio.schema.MarkerColor.RED if h.scored else otio.schema.MarkerColor.YELLOW,
                                   marked_range=otio.opentime.TimeRange(rt(h.frame), rt(0)))
            m.metadata["scorer"] = {"t_s": h.t_s, "strength": h.strength, "scored": h.scored}
            score_track.markers.append(m)
    for n in notes:
        m = otio.schema.Marker(name=f"NOTE {n.author}: {n.text}"[:200], color=otio.schema.MarkerColor.PURPLE,
                               marked_range=otio.opentime.TimeRange(rt(s_to_frame(n.t_s, fps)), rt(0)),
                               comment=n.text)
        m.metadata["scorer"] = {"note": n.to_dict()}
        score_track.markers.append(m)
    timeline.tracks.append(score_track)
    for group in sorted(stem_files):
        timeline.tracks.append(track(group, stem_files[group]))
    return timeline


def write_timeline(path: str | Path, score: Score, cue_sheet: CueSheet, *, mix_file: str,
                   stem_files: dict[str, str], name: str, start_frame: int = 0, notes: tuple = ()) -> None:
    import opentimelineio as otio

    from scorer.io.files import atomic_path

    timeline = build_timeline(score, cue_sheet, mix_file=mix_file, stem_files=stem_files, name=name,
                              start_frame=start_frame, notes=notes)
    with atomic_path(path) as tmp:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name="otio_json")
