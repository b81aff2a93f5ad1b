"""The editor's timeline in: cuts, dissolves and markers from an EDL (CMX 3600), OTIO or
Final Cut XML file, read with OpenTimelineIO and its adapters.

Everything comes out as frame numbers of the cut (frame 0 = the first picture), whatever
start timecode the editor's timeline has (often 01:00:00:00).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from scorer.errors import InputError

ADAPTERS = {".edl": "cmx_3600", ".otio": "otio_json", ".fcpxml": "fcpx_xml", ".xml": "fcp_xml"}


@dataclass(frozen=True)
class EditorTimeline:
    """Cuts and markers from the editor, in frames of the cut."""
    cuts: tuple[int, ...]                         # first frames of shots 2…n (hard cuts)
    transitions: tuple[tuple[int, int, int, str], ...]  # (start, edit, end frame, kind), e.g. dissolves
    markers: tuple[tuple[int, str], ...]          # (frame, name)
    n_frames: int


def read_timeline(path: str | os.PathLike, *, fps: Fraction) -> EditorTimeline:
    """Read an editor's timeline. `fps` is the cut's rate: EDLs carry none, and times in
    any format are converted to frames at that rate."""
    import opentimelineio as otio

    p = Path(path)
    if not p.is_file():
        raise InputError("timeline file not found", path=str(p))
    adapter = ADAPTERS.get(p.suffix.lower())
    if adapter is None:
        raise InputError(f"unknown timeline format {p.suffix!r}; scorer reads "
                         f"{', '.join(sorted(ADAPTERS))}", path=str(p))
    rate = float(fps)
    try:
        kwargs = {"rate": rate} if adapter == "cmx_3600" else {}
        tl = otio.adapters.read_from_file(str(p), adapter_name=adapter, **kwargs)
    except Exception as exc:  # the adapters raise many types, some with misleading text
        raise InputError(f"cannot read this {adapter} timeline ({type(exc).__name__}: {exc})",
                         path=str(p)) from None
    if isinstance(tl, otio.schema.SerializableCollection):
        timelines = list(tl.find_children(descended_from_type=otio.schema.Timeline))
        if not timelines:
            raise InputError("holds no timeline", path=str(p))
        tl = timelines[0]
    if not isinstance(tl, otio.schema.Timeline) or not tl.video_tracks():
        raise InputError("holds no video track", path=str(p))

    def frame(t) -> int:
        """Track time → frame of the cut (the track starts at the cut's first frame)."""
        return t.rescaled_to(rate).to_frames(rate)

    track = tl.video_tracks()[0]
    cuts, transitions = [], []
    for i, item in enumerate(track):
        rng = track.range_of_child_at_index(i)
        first = frame(rng.start_time)
        if isinstance(item, otio.schema.Transition):
            # A transition spans in_offset before the edit point and out_offset after it;
            # its range on the track starts in_offset before the edit.
            edit = first + item.in_offset.to_frames(rate)
            transitions.append((first, edit, edit + item.out_offset.to_frames(rate),
                                "dissolve" if "dissolve" in item.transition_type.lower() else "fade"))
        elif first > 0:
            cuts.append(first)
    markers = []
    # The EDL adapter keeps LOC markers in record timecode and drops the record start, so
    # that comes from the first event line; other formats put clip markers in media time.
    edl_record_start = _edl_record_start(p, fps) if adapter == "cmx_3600" else None
    for item in [tl.tracks, track, *track.find_clips()]:
        for m in item.markers:
            t = m.marked_range.start_time
            if edl_record_start is not None:
                markers.append((round(t.value) - edl_record_start, m.name or "marker"))
                continue
            if isinstance(item, otio.schema.Clip):
                t = item.transformed_time(t, track)
            elif tl.global_start_time and t >= tl.global_start_time:
                t = t - tl.global_start_time
            markers.append((frame(t), m.name or m.color or "marker"))
    dissolve_edits = {edit for _, edit, _, _ in transitions}
    n_frames = frame(track.duration())
    return EditorTimeline(
        cuts=tuple(sorted(set(c for c in cuts if 0 < c < n_frames) - dissolve_edits)),
        transitions=tuple(sorted(transitions)), markers=tuple(sorted(markers)), n_frames=n_frames)


def _edl_record_start(path: Path, fps: Fraction) -> int:
    """Frame count of the first event's record-in timecode (e.g. 01:00:00:00)."""
    from scorer.timebase import smpte_to_frame

    drop = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.upper().startswith("FCM:"):
            drop = "NON" not in line.upper()
        parts = line.split()
        if len(parts) >= 8 and parts[0].isdigit():
            return smpte_to_frame(parts[-2], fps, drop_frame=drop and fps.denominator == 1001)
    return 0
