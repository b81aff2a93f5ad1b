"""scorer — temp-score a film cut.

The pipeline reads as a sentence: analyze → spot → compose → render → mix → deliver.
Heavy modules are imported lazily so `import scorer` stays fast.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["analyze", "spot", "compose", "render", "mix", "deliver", "score"]


def __getattr__(name: str):
    import importlib
    homes = {"analyze": "scorer.analyze", "spot": "scorer.spot", "compose": "scorer.compose",
             "render": "scorer.render", "mix": "scorer.mix", "deliver": "scorer.deliver",
             "score": "scorer.pipeline"}
    if name in homes:
        return getattr(importlib.import_module(homes[name]), name)
    raise AttributeError(f"module 'scorer' has no attribute {name!r}")
