import json
from fractions import Fraction

import pytest

from scorer.errors import InputError
from scorer.types import Cue, CueSheet, Hit, Shot, Source, Span, TempoMap, TempoSegment, Transition


def sheet():
    src = Source("cut.mp4", Fraction(24000, 1001), 20.02, 480, 320, 180, True)
    return CueSheet(
        source=src,
        shots=(Shot(0.0, 5.005, 0, "start"), Shot(5.005, 20.02, 120, "cut", 0.02, 0.4)),
        dialogue=(Span(1.0, 2.5),),
        cues=(Cue("1M1", 0.0, 20.02, "tension", -0.3, 0.4, ((0.0, 0.2), (20.02, 0.8)),
                  (Hit(5.005, 120, 0.9, "cut", True), Hit(7.5, 180, 0.3, "onset"))),),
        transitions=(Transition(4.5, 5.5, "dissolve"),))


def test_cue_sheet_round_trips_through_json():
    s = sheet()
    again = CueSheet.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s
    assert again.to_dict()["source"]["fps"] == "24000/1001"


@pytest.mark.parametrize("path,value,needle", [
    (("cues", 0, "valence"), 3, "valence"),
    (("cues", 0, "hits", 0, "kind"), "boom", "kind"),
    (("shots", 1, "transition_in"), "wipe", "transition_in"),
    (("source", "fps"), "abc", "frame rate"),
    (("schema",), "CueSheet.0", "schema"),
    (("cues", 0, "intensity"), [[0, 2]], "outside"),
])
def test_cue_sheet_validation_names_the_field(path, value, needle):
    d = sheet().to_dict()
    target = d
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InputError, match=needle):
        CueSheet.from_dict(d)


def test_cue_after_end_of_cut_rejected():
    d = sheet().to_dict()
    d["cues"][0]["end_s"] = 25.0
    with pytest.raises(InputError, match="after the cut"):
        CueSheet.from_dict(d)


def test_tempo_map_piecewise():
    tm = TempoMap((TempoSegment(10.0, 0.0, 120.0), TempoSegment(12.0, 4.0, 60.0)))
    assert tm.beat_to_s(2) == pytest.approx(11.0)
    assert tm.beat_to_s(5) == pytest.approx(13.0)
    for b in (0, 1.5, 4, 7.25):
        assert tm.s_to_beat(tm.beat_to_s(b)) == pytest.approx(b)
