"""Malformed files of every kind scorer reads — MIDI themes, cue sheets, presets,
timelines — give scorer's own errors with a readable reason, in bounded time, and the
parsers survive whatever hypothesis throws at them."""
from __future__ import annotations

import json
import time
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scorer.music.presets import load_preset_file
from scorer.compose.theme import load_theme, theme_from_midi
from scorer.errors import BackendUnavailable, InputError, PresetError, ScorerError
from scorer.io.timeline import read_timeline
from scorer.pipeline import load_cue_sheet
from scorer.timebase import frame_to_smpte, smpte_to_frame
from scorer.types import CueSheet

REPO = Path(__file__).resolve().parents[2]
RATES = [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
         Fraction(50), Fraction(60000, 1001), Fraction(60)]


def mthd(fmt=1, ntracks=1, division=480) -> bytes:
    return b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big") + ntracks.to_bytes(2, "big") + \
        (division & 0xFFFF).to_bytes(2, "big")


def mtrk(body: bytes, declared: int | None = None) -> bytes:
    return b"MTrk" + (len(body) if declared is None else declared).to_bytes(4, "big") + body


NOTE = bytes.fromhex("00 90 3c 50 60 80 3c 00 00 90 3e 50 60 80 3e 00")
END = bytes.fromhex("00 ff 2f 00")

# mido-style hex fixtures: every one must be an InputError naming the file.
MIDI_CORPUS = {
    "empty": b"",
    "header only": mthd(),
    "not midi": b"RIFF\x00\x00\x00\x00WAVE",
    "EOF in track": mthd() + mtrk(NOTE, declared=200),
    "data byte over 127": mthd() + mtrk(bytes.fromhex("00 90 3c d0") + END),
    "bad key signature": mthd() + mtrk(bytes.fromhex("00 ff 59 02 0f 05") + NOTE + END),
    "zero division": mthd(division=0) + mtrk(NOTE + END),
    "SMPTE division": mthd(division=0xE728) + mtrk(NOTE + END),
    "huge declared track": mthd() + mtrk(NOTE + END, declared=0x7FFFFFF0),
    "huge declared meta": mthd() + mtrk(bytes.fromhex("00 ff 01 8f ff ff 7f") + b"x" * 8),
    "running status without status": mthd() + mtrk(bytes.fromhex("00 3c 50") + END),
    "type 2": mthd(fmt=2) + mtrk(NOTE + END),
    "drums only": mthd() + mtrk(bytes.fromhex("00 99 24 50 60 89 24 00") + END),
    "one note": mthd() + mtrk(bytes.fromhex("00 90 3c 50 60 80 3c 00") + END),
}


# What the message says, where it matters which problem is named.
MIDI_NEEDLES = {"empty": "not a readable MIDI", "not midi": "not a readable MIDI", "zero division": "division",
                "EOF in track": "not a readable MIDI", "drums only": "no pitched notes",
                "one note": "at least two notes", "type 2": "type 2"}


@pytest.mark.parametrize("name", sorted(MIDI_CORPUS))
def test_malformed_midi_themes_are_input_errors(tmp_path, name):
    path = tmp_path / "theme.mid"
    path.write_bytes(MIDI_CORPUS[name])
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=MIDI_NEEDLES.get(name)) as e:
        theme_from_midi(path)
    assert time.perf_counter() - t0 < 5.0
    assert str(path) in str(e.value) or "theme" in str(e.value)
    assert len(str(e.value)) < 400          # a reason, not a dump


@pytest.mark.parametrize("content, needle", [
    ("", "not valid JSON"),
    ("{", "not valid JSON"),
    ("[]", "object"),
    ('{"schema": "CueSheet.9"}', "schema"),
    ('{"schema": "CueSheet.1", "source": {}}', "source"),
])
def test_malformed_cue_sheets_are_input_errors(tmp_path, content, needle):
    path = tmp_path / "cues.json"
    path.write_text(content)
    with pytest.raises(InputError, match=needle) as e:
        load_cue_sheet(path)
    assert str(path) in str(e.value)


def _valid_cue_sheet() -> dict:
    return json.loads(_VALID)


_VALID = json.dumps(__import__("test_compose").sheet(
    [__import__("test_compose").cue(1.0, 20.0, [__import__("test_compose").hit(5.0, 0.8)]),
     __import__("test_compose").cue(25.0, 40.0, cid="1M2")]).to_dict())


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats(allow_nan=True)
                     | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                     max_leaves=8)


def _paths(d, prefix=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_mutation_of_a_cue_sheet_loads_or_is_an_input_error(data):
    d = _valid_cue_sheet()
    paths = list(_paths(d))
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(paths))
        target = d
        for k in where[:-1]:
            target = target[k]
        if data.draw(st.booleans()) and isinstance(target, dict):
            target.pop(where[-1], None)
        else:
            target[where[-1]] = data.draw(_JSON)
        paths = list(_paths(d))
        if not paths:
            break
    try:
        sheet = CueSheet.from_dict(json.loads(json.dumps(d, allow_nan=True)))
    except ScorerError:
        return
    assert CueSheet.from_dict(sheet.to_dict()) == sheet     # what loads round-trips


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_mutation_of_a_preset_loads_or_is_a_preset_error(tmp_path, data):
    lines = (REPO / "presets" / "noir.toml").read_text().splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        kind = data.draw(st.sampled_from(["delete", "value", "garble"]))
        if kind == "delete":
            lines.pop(i)
        elif kind == "value" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            value = data.draw(st.sampled_from(["-1", "1e309", '"x"', "[]", "true", "999", '["ZZ"]', "{}"]))
            lines[i] = f"{key}= {value}"
        else:
            lines[i] = data.draw(st.text(max_size=12))
    path = tmp_path / "noir.toml"
    path.write_text("\n".join(lines) + "\n")
    try:
        load_preset_file(path)
    except PresetError as e:
        assert str(path) in str(e)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(RATES), st.floats(0.0, 1.0, exclude_max=True))
def test_timecode_round_trips_at_every_rate(fps, where):
    # Every frame of a timecode day (it wraps after 23:59:59:FF, as SMPTE does).
    last = frame_to_smpte(0, fps).replace("00:00:00", "23:59:59")[:-2] + f"{round(fps) - 1:02d}"
    frame = int(where * (smpte_to_frame(last, fps) + 1))
    tc = frame_to_smpte(frame, fps)
    assert smpte_to_frame(tc, fps) == frame
    if fps.denominator == 1001 and fps.numerator in (30000, 60000):
        assert ";" in tc                                   # drop-frame is marked


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(RATES), st.integers(0, 10**6), st.integers(1, 10**4))
def test_timecode_is_monotonic(fps, a, step):
    tc = lambda f: smpte_to_frame(frame_to_smpte(f, fps), fps)  # noqa: E731
    assert tc(a) < tc(a + step)


@pytest.mark.parametrize("text", ["", "garbage", "25:00:00:00", "00:61:00:00", "00:00:61:00", "00:00:00:99",
                                  "00;00;00;00x", "-00:00:01:00", "00:01:00;00"])
def test_bad_timecodes_are_input_errors(text):
    with pytest.raises(InputError):
        smpte_to_frame(text, Fraction(30000, 1001))


EDL_CORPUS = {
    "garbage": "this is not an edl\n\x00\x01\x02",
    "bad timecode": "TITLE: X\nFCM: NON-DROP FRAME\n\n001  AX  V  C  00:00:00:00 00:00:99:00 01:00:00:00 01:00:05:00\n",
    "malformed dissolve": "TITLE: X\nFCM: NON-DROP FRAME\n\n001  AX  V  D  abc 00:00:00:00 00:00:05:00 01:00:00:00 01:00:05:00\n",
    "binary": "\x89PNG\r\n\x1a\n" + "x" * 50,
}


@pytest.mark.parametrize("name", sorted(EDL_CORPUS))
def test_malformed_timelines_are_input_errors(tmp_path, name):
    path = tmp_path / "cut.edl"
    path.write_bytes(EDL_CORPUS[name].encode("latin-1"))
    t0 = time.perf_counter()
    try:
        read_timeline(path, fps=Fraction(24))
    except InputError as e:
        assert str(path) in str(e)
    assert time.perf_counter() - t0 < 10


@pytest.mark.parametrize("content", ['{"OTIO_SCHEMA": "Timeline.1", "tracks": 7}', "{", "[1, 2]",
                                     '{"OTIO_SCHEMA": "Nonsense.9"}'])
def test_malformed_otio_is_an_input_error(tmp_path, content):
    path = tmp_path / "cut.otio"
    path.write_text(content)
    with pytest.raises(InputError) as e:
        read_timeline(path, fps=Fraction(24))
    assert str(path) in str(e.value)


def test_themes_and_timelines_refuse_missing_files(tmp_path):
    with pytest.raises(InputError, match="no such"):
        load_theme(tmp_path / "nope.mid")
    with pytest.raises(InputError):
        read_timeline(tmp_path / "nope.edl", fps=Fraction(24))


# --- recorded themes and SoundFonts ---------------------------------------------------------------

def _wav_bytes(samples, rate=22050):
    import io

    import numpy as np
    import soundfile as sf
    buf = io.BytesIO()
    sf.write(buf, np.asarray(samples, dtype=np.float32), rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


def _bad_wavs():
    import numpy as np
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)
    good = _wav_bytes(tone)
    nan = tone.copy()
    nan[1000:2000] = np.nan
    return {
        "bad RIFF size": good[:4] + b"\xff\xff\xff\x7f" + good[8:],
        "no fmt chunk": good[:12] + b"junk" + good[16:],
        "truncated header": good[:30],
        "NaN samples": _wav_bytes(nan),
        "infinite samples": _wav_bytes(np.where(np.arange(22050) == 5, np.inf, tone)),
        "silence": _wav_bytes(np.zeros(22050)),
    }


@pytest.mark.parametrize("name", sorted(_bad_wavs()))
def test_malformed_recorded_themes_are_input_errors(tmp_path, name):
    import time

    from scorer.compose.theme import load_theme

    path = tmp_path / "hum.wav"
    path.write_bytes(_bad_wavs()[name])
    t = time.perf_counter()
    with pytest.raises(InputError) as exc:
        load_theme(path)
    assert str(path) in str(exc.value) and time.perf_counter() - t < 60


@pytest.mark.parametrize("content", [b"", b"RIFF\x10\x00\x00\x00sfbk" + b"\x00" * 6, b"RIFF" + b"\xff" * 100,
                                     b"not a soundfont at all"])
def test_malformed_soundfonts_are_clear_errors(tmp_path, content):
    import scorer
    from test_compose import cue, sheet

    sf2 = tmp_path / "bad.sf2"
    sf2.write_bytes(content)
    score = scorer.compose(sheet([cue(0.0, 4.0, [], preset="tension", cid="1M1")], (), duration_s=6.0), seed=1)
    with pytest.raises((InputError, BackendUnavailable)) as exc:
        scorer.render(score, backend="soundfont", soundfont=str(sf2))
    assert "bad.sf2" in str(exc.value)
