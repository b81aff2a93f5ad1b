"""The studio's timeline picture: every shot, cue, hit and dialogue line is drawn where
it belongs on the cut, as well-formed SVG."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from test_compose import cue, hit, sheet, snap

from scorer.types import Shot, Span
from ui.timeline import PAD_X, timeline_svg

NS = {"s": "http://www.w3.org/2000/svg"}


def _sheet():
    c1 = cue(2.0, 30.0, [hit(9.4, 0.9), hit(21.0, 0.5, scored=False)], preset="tension", cid="1M1")
    c2 = cue(40.0, 90.0, [hit(50.0, 1.0)], preset="noir", cid="1M2")
    shots = tuple(Shot(snap(a), snap(b), 0, brightness=br) for a, b, br in
                  ((0, 12, 0.1), (12, 45, 0.5), (45, 100, 0.9)))
    s = sheet([c1, c2], (Span(snap(10.0), snap(14.0)),), duration_s=100.0)
    from dataclasses import replace
    return replace(s, shots=shots)


def test_timeline_draws_everything_at_its_time():
    s = _sheet()
    width = 1000
    svg = timeline_svg(s, width_px=width, selected="1M2", statuses={"1M1": "locked"}, playhead_s=50.0,
                       notes=((12.5, 'Director: <img src="http://x/">'),))
    root = ET.fromstring(svg)
    x_of = lambda t: PAD_X + (width - 2 * PAD_X) * t / 100.0  # noqa: E731
    shots = root.findall("s:rect[@class='shot']", NS)
    assert len(shots) == 3
    assert abs(float(shots[1].get("x")) - x_of(s.shots[1].start_s)) < 0.1
    level = lambda sh: int(sh.get("fill")[4:].split(",")[0])  # noqa: E731
    assert level(shots[0]) < level(shots[1]) < level(shots[2])   # darker shot, darker shade
    cues = root.findall("s:g[@class='cue']", NS)
    assert [g.get("data-cue") for g in cues] == ["1M1", "1M2"]
    assert cues[0].get("data-status") == "locked" and "🔒" in "".join(cues[0].itertext())
    sel = cues[1].find("s:rect", NS)
    assert sel.get("stroke") == "#fff"
    assert abs(float(sel.get("x")) - x_of(s.cues[1].start_s)) < 0.1
    assert abs(float(sel.get("width")) - (x_of(s.cues[1].end_s) - x_of(s.cues[1].start_s))) < 0.2
    hits = root.findall("s:line[@data-t]", NS)
    assert len(hits) == 3
    scored = [h for h in hits if "scored" in h.get("class")]
    assert len(scored) == 2
    for h in hits:
        assert abs(float(h.get("x1")) - x_of(float(h.get("data-t")))) < 0.1
    talk = root.findall("s:rect[@class='dialogue']", NS)
    assert len(talk) == 1 and abs(float(talk[0].get("x")) - x_of(s.dialogue[0].start_s)) < 0.1
    assert len(root.findall("s:polyline[@class='intensity']", NS)) == 2
    assert abs(float(root.find("s:line[@class='playhead']", NS).get("x1")) - x_of(50.0)) < 0.1
    note = root.find("s:path[@class='note']", NS)
    assert abs(float(note.get("data-t")) - 12.5) < 1e-6 and "<img" in note.find("s:title", NS).text   # text, not a tag
    assert root.get("width") == "100%" and root.get("viewBox").startswith(f"0 0 {width} ")   # fits the window


def test_names_are_escaped():
    from dataclasses import replace
    s = _sheet()
    s = replace(s, cues=(replace(s.cues[0], id="1M1", preset="<script>x</script>"),), source=replace(s.source, path='a"&b.mov'))
    ET.fromstring(timeline_svg(s))   # well-formed: nothing injected
    assert "<script>" not in timeline_svg(s)
