"""A hummed, sung or played melody to notes, with Spotify's basic-pitch (Apache-2.0; its
model ships inside the package, nothing downloads).

basic-pitch is an optional extra. Its package metadata asks for TensorFlow on Linux, which
it does not need with the ONNX copy of its model, so it is installed without its
dependencies and the few it uses are installed beside it:

    pip install -e '.[theme-audio]' && pip install --no-deps basic-pitch==0.4.0
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scorer.errors import BackendUnavailable, InputError

INSTALL = ("pip install -e '.[theme-audio]' && pip install --no-deps basic-pitch==0.4.0 "
           "(onnxruntime, mir_eval and resampy from the extra; the model ships in basic-pitch)")
MIN_NOTE_S = 0.06          # shorter detections are breaths, consonants and scratches
LEGATO_GAP_S = 0.03        # same-pitch detections closer than this are one held note
MIN_RMS = 1e-4             # quieter than this the recording holds nothing to transcribe


@dataclass(frozen=True)
class Melody:
    """A monophonic line: (start_s, end_s, MIDI pitch) in time order, no overlaps, and
    the tempo heard in it."""
    notes: tuple[tuple[float, float, int], ...]
    tempo_bpm: float


def _model():
    import importlib.util

    if importlib.util.find_spec("onnxruntime") is None:   # basic-pitch's runtime for the ONNX model
        raise BackendUnavailable(f"transcribing a recorded theme needs onnxruntime: {INSTALL}")
    import logging

    # basic-pitch logs a warning for every model format whose runtime is absent (TF, TFLite,
    # CoreML) on the root logger at import; we use ONNX on purpose, so they are noise here.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        from basic_pitch import FilenameSuffix, build_icassp_2022_model_path
        from basic_pitch.inference import predict
    except ImportError as exc:
        raise BackendUnavailable(f"transcribing a recorded theme needs basic-pitch and onnxruntime "
                                 f"({exc.name or exc} is missing): {INSTALL}") from None
    finally:
        root.setLevel(level)
    return predict, build_icassp_2022_model_path(FilenameSuffix.onnx)


def top_line(events: list[tuple[float, float, int, float]]) -> list[tuple[float, float, int]]:
    """The tune among (start_s, end_s, pitch, amplitude) detections: where notes overlap
    the most salient (loudest) wins and the other is trimmed or dropped; abutting pieces of
    one pitch join."""
    out: list[tuple[float, float, int, float]] = []
    for s, e, p, a in sorted(events, key=lambda x: (x[0], -x[3], x[2])):
        if out and s < out[-1][1]:
            ps, pe, pp, pa = out[-1]
            if a > pa:                     # the new note is the tune: the old one stops here
                if s - ps >= MIN_NOTE_S:
                    out[-1] = (ps, s, pp, pa)
                else:
                    out.pop()
            else:                          # the old note is the tune: the new one waits
                s = pe
                if e - s < MIN_NOTE_S:
                    continue
        if e - s >= MIN_NOTE_S:
            out.append((s, e, p, a))
    # A held note with vibrato comes back as a chain of abutting detections of one pitch:
    # one note. (A repeated note sung legato merges too; re-articulate it to keep two.)
    merged: list[list] = []
    for s, e, p, _ in out:
        if merged and merged[-1][2] == p and s - merged[-1][1] <= LEGATO_GAP_S:
            merged[-1][1] = e
        else:
            merged.append([s, e, p])
    return [(round(s, 6), round(e, 6), int(p)) for s, e, p in merged]


def heard_tempo(onsets_s: list[float], y: np.ndarray, sr: int) -> float:
    """The tempo of a melody: librosa's tempo estimate from the onset strength, folded by
    octaves into 60–160 BPM (a theme is written in beats of that size)."""
    import librosa

    env = librosa.onset.onset_strength(y=y, sr=sr)
    tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=env, sr=sr))[0])
    if not np.isfinite(tempo) or tempo <= 0:
        gaps = np.diff(onsets_s)
        tempo = 60.0 / float(np.median(gaps)) if len(gaps) else 100.0
    while tempo < 60.0:
        tempo *= 2
    while tempo > 160.0:
        tempo /= 2
    return round(tempo, 3)


def transcribe_melody(path: str | os.PathLike) -> Melody:
    """The melody in a recording (WAV, FLAC, OGG, MP3, …)."""
    import librosa

    p = Path(path)
    if not p.is_file():
        raise InputError("no such audio file", path=str(p))
    predict, model_path = _model()
    try:
        with warnings.catch_warnings():   # librosa warns before its audioread fallback fails too
            warnings.simplefilter("ignore")
            y, sr = librosa.load(str(p), sr=22050, mono=True)
    except Exception as exc:  # noqa: BLE001 - soundfile/audioread raise many types for bad files
        raise InputError(f"is not audio scorer can read ({type(exc).__name__}: {exc})", path=str(p)) from None
    if y.size == 0 or not np.isfinite(y).all():
        raise InputError("holds no usable audio (empty, or samples that are not numbers)", path=str(p))
    if float(np.sqrt(np.mean(y ** 2))) < MIN_RMS:
        raise InputError("is silent: there is no melody to transcribe", path=str(p))
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):     # it prints "Predicting MIDI for …"
        _, _, events = predict(str(p), model_or_model_path=model_path, onset_threshold=0.5,
                               frame_threshold=0.3, minimum_note_length=MIN_NOTE_S * 1000, melodia_trick=True)
    line = top_line([(float(s), float(e), int(pitch), float(a)) for s, e, pitch, a, *_ in events])
    if len(line) < 2:
        raise InputError(f"no melody found (basic-pitch heard {len(line)} note"
                         f"{'' if len(line) == 1 else 's'}); hum or play the theme clearly, one note at a time",
                         path=str(p))
    return Melody(tuple(line), heard_tempo([s for s, _, _ in line], y, sr))
