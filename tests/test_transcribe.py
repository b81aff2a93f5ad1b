"""A recorded theme (played, or hummed with vibrato) is transcribed by basic-pitch into the
notes that were played, and becomes the score's theme."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from scorer.compose.theme import theme_from_audio
from scorer.compose.transcribe import top_line, transcribe_melody
from scorer.errors import InputError

SR = 22050
TUNE = (60, 62, 64, 67, 64, 62, 60, 67)        # C D E G E D C G, one note a beat at 100 BPM
BEAT_S = 0.6


def _play(pitches, *, vibrato_cents=0.0, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    for p in pitches:
        n = int(BEAT_S * SR)
        t = np.arange(n) / SR
        f0 = 440.0 * 2 ** ((p - 69) / 12) * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * 5.5 * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        tone = sum(np.sin(k * phase) / k ** 1.5 for k in range(1, 6))
        env = np.minimum(1, t / 0.02) * np.minimum(1, (BEAT_S - 0.05 - t).clip(0) / 0.05)
        out.append(0.25 * tone * env)
    y = np.concatenate([np.zeros(int(0.3 * SR))] + out + [np.zeros(int(0.3 * SR))])
    return (y + 0.002 * rng.standard_normal(len(y))).astype(np.float32)


@pytest.mark.parametrize("vibrato", [0.0, 30.0])
def test_a_recorded_tune_is_transcribed_note_for_note(tmp_path, vibrato):
    path = tmp_path / "hum.wav"
    sf.write(path, _play(TUNE, vibrato_cents=vibrato), SR)
    melody = transcribe_melody(path)
    assert tuple(p for _, _, p in melody.notes) == TUNE
    for k, (s, e, _) in enumerate(melody.notes):
        # Within a third of a sixteenth at this tempo (hummed onsets are softer).
        assert abs(s - (0.3 + k * BEAT_S)) < (0.05 if not vibrato else 0.08)
        assert e > s
    assert all(a[1] <= b[0] for a, b in zip(melody.notes, melody.notes[1:]))
    assert 60 <= melody.tempo_bpm <= 160


def test_a_recorded_tune_becomes_a_theme_in_scale_degrees(tmp_path):
    path = tmp_path / "tune.wav"
    sf.write(path, _play(TUNE), SR)
    motif = theme_from_audio(path)
    degrees = [n.degree for n in motif.statement]
    assert degrees == [0, 1, 2, 4, 2, 1, 0, 4]         # C major, from its first note
    assert motif.answer == motif.statement              # two bars: the theme answers itself
    assert motif.source == "tune.wav"


def test_top_line_keeps_the_most_salient_note_where_detections_overlap():
    events = [(0.0, 1.0, 60, 0.9), (0.5, 0.8, 72, 0.2), (1.0, 2.0, 62, 0.5), (1.5, 2.5, 50, 0.8)]
    assert top_line(events) == [(0.0, 1.0, 60), (1.0, 1.5, 62), (1.5, 2.5, 50)]
    assert top_line([(0.0, 0.5, 60, 0.9), (0.5, 0.9, 60, 0.8), (1.0, 1.5, 60, 0.9)]) == \
        [(0.0, 0.9, 60), (1.0, 1.5, 60)]                 # vibrato pieces join; a re-attack stays


@pytest.mark.parametrize("make, needle", [
    (lambda p: None, "no such audio file"),
    (lambda p: p.write_text("not audio at all"), "not audio"),
    (lambda p: sf.write(p, np.zeros(SR, np.float32), SR), "silent"),
    (lambda p: sf.write(p, (0.2 * np.random.default_rng(1).standard_normal(SR)).astype(np.float32), SR),
     "no melody"),
])
def test_bad_recordings_are_input_errors_naming_the_file(tmp_path, make, needle):
    path = tmp_path / "theme.wav"
    make(path)
    with pytest.raises(InputError, match=needle) as e:
        transcribe_melody(path)
    assert str(path) in str(e.value)
