"""scorer — temp-score a film cut.

The pipeline reads as a sentence: analyze → spot → compose → render → mix → deliver.
Each stage module keeps its heavy imports (PyAV, librosa, scipy, the synthesizer) inside
the functions that need them, so `import scorer` stays fast.
"""
from __future__ import annotations

__version__ = "0.1.0"

# Imported eagerly on purpose: a lazy module __getattr__ would be shadowed by the
# submodule of the same name (scorer.compose the module vs compose the function) as soon
# as anything imports the submodule.
from scorer.analyze import analyze
from scorer.spot import spot
from scorer.compose import compose
from scorer.render import render
from scorer.mix import mix
from scorer.deliver import deliver
from scorer.compose import refine
from scorer.errors import BackendUnavailable, InputError, PresetError, ScorerError
from scorer.pipeline import analyze_and_spot, load_cue_sheet, score
from scorer.settings import NeuralOptions, ScoreSettings
from scorer.types import (Analysis, Cue, CueScore, CueSheet, Hit, Score, Shot, Source, Span, Stems,
                          TempoMap)

__all__ = ["analyze", "spot", "compose", "render", "mix", "deliver", "score",
           "analyze_and_spot", "load_cue_sheet", "refine", "ScoreSettings", "NeuralOptions",
           "ScorerError", "InputError", "PresetError", "BackendUnavailable",
           "Analysis", "Cue", "CueScore", "CueSheet", "Hit", "Score", "Shot", "Source", "Span", "Stems",
           "TempoMap"]
