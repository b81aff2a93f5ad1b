"""No time arithmetic outside scorer/timebase.py: seconds ⇄ samples and seconds ⇄ frames go
through its functions (one rounding rule), so a module cannot round its own way.

Every module under scorer/ is parsed; a `*`, `/` or `//` with a sample or frame rate on
either side (SAMPLE_RATE, sample_rate, sr, fps, frame_rate, …, also float(fps) and
fps.numerator) is an offender unless it is listed in EXCEPTIONS with its reason.
"""
from __future__ import annotations

import ast
from pathlib import Path

SCORER = Path(__file__).resolve().parent.parent / "scorer"
OWNER = "scorer/timebase.py"

# Names (variables, attributes, parameters) that hold a sample rate or a frame rate.
RATE_NAMES = frozenset({
    "SAMPLE_RATE", "ANALYSIS_RATE", "TRACK_RATE", "sample_rate", "samplerate", "sr", "sr_model",
    "fps", "frame_rate", "fr",
})

# (file, expression as ast.unparse writes it) → why it is not a time conversion.
EXCEPTIONS = {
    ("scorer/mix/loudness.py", "np.pi * f0 / sample_rate"):
        "K-weighting's bilinear pre-warp: a frequency over the rate (filter design)",
    ("scorer/render/ambience.py", "2 * np.pi * f0 / SAMPLE_RATE"):
        "a resonator's pole angle: a frequency over the rate (filter design)",
    ("scorer/render/stage.py", "sample_rate / 2"): "the Nyquist frequency",
    ("scorer/render/effects.py", "2 * np.pi * freq_hz / sample_rate"):
        "an EQ section's angular frequency: a frequency over the rate (filter design)",
    ("scorer/analyze/sound.py", "sample_rate / 2"): "the Nyquist frequency (librosa's fmax)",
    ("scorer/io/audio.py", "sample_rate * channels"): "the WAV header's byte rate (bytes per second)",
    ("scorer/render/neural/conform.py", "TRACK_RATE // g"): "a resampling ratio between two rates",
    ("scorer/render/neural/conform.py", "sample_rate // g"): "a resampling ratio between two rates",
    ("scorer/render/neural/separate.py", "sr_model // g"): "a resampling ratio between two rates",
    ("scorer/render/neural/separate.py", "sample_rate // g"): "a resampling ratio between two rates",
}


def _is_rate(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in RATE_NAMES
    if isinstance(node, ast.Attribute):
        if node.attr in ("numerator", "denominator"):
            return _is_rate(node.value)
        return node.attr in RATE_NAMES
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("float", "int", "Fraction"):
        return len(node.args) == 1 and _is_rate(node.args[0])
    return False


def offenders(root: Path = SCORER) -> list[tuple[str, int, str]]:
    """(file, line, expression) of every unlisted time conversion outside timebase.py."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if rel == OWNER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for node in ast.walk(tree):
            if (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div, ast.FloorDiv))
                    and (_is_rate(node.left) or _is_rate(node.right))):
                text = ast.unparse(node)
                if (rel, text) not in EXCEPTIONS:
                    found.append((rel, node.lineno, text))
    return sorted(set(found))


def test_no_time_arithmetic_outside_timebase():
    bad = offenders()
    assert not bad, "time conversions outside scorer/timebase.py (use its functions):\n" + "\n".join(
        f"  {f}:{line}: {text}" for f, line, text in bad)


def test_every_exception_is_still_there():
    """A listed exception that no longer occurs is dropped from the list, not left to excuse
    a new one."""
    seen = set()
    for rel, text in EXCEPTIONS:
        tree = ast.parse((SCORER.parent / rel).read_text(encoding="utf-8"))
        if any(isinstance(n, ast.BinOp) and ast.unparse(n) == text for n in ast.walk(tree)):
            seen.add((rel, text))
    assert seen == set(EXCEPTIONS), sorted(set(EXCEPTIONS) - seen)


def test_the_check_sees_the_forms_it_is_for(tmp_path):
    pkg = tmp_path / "scorer"
    pkg.mkdir()
    (pkg / "timebase.py").write_text("x = t_s * SAMPLE_RATE\n")          # the owner: allowed
    (pkg / "m.py").write_text(
        "a = n / SAMPLE_RATE\n"
        "b = int(t * self.sample_rate)\n"
        "c = np.arange(n) / sr\n"
        "d = frame / float(fps)\n"
        "e = t_s * fps.numerator / fps.denominator\n"
        "f = total_s * model.frame_rate\n"
        "g = start_s + duration_s\n"                                      # no rate: fine
        "h = gain_db / 20\n")
    lines = [line for _, line, _ in offenders(pkg)]
    assert sorted(set(lines)) == [1, 2, 3, 4, 5, 6]
