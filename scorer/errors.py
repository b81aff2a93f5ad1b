"""scorer's own exceptions: every user-facing failure is one of these, with a readable reason."""
from __future__ import annotations


class ScorerError(Exception):
    """Base class: a failure scorer can explain to the user."""


class InputError(ScorerError):
    """A user-supplied file or value is missing, malformed or unusable.

    The message names the file (or field) and the problem.
    """

    def __init__(self, message: str, *, path: str | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class BackendUnavailable(ScorerError):
    """A render backend is unknown or cannot run here; the message says what is available."""


class PresetError(InputError):
    """A preset file fails validation; the message names the file and the field."""
