"""The import structure reads top to bottom (ARCHITECTURE.md): a module imports only its
own layer's modules and those below, at module level or inside a function alike, and no
two modules import each other."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "scorer"

# Bottom to top. A module may import its own layer and any layer below.
LAYERS = (
    ("scorer.errors", "scorer.seeds", "scorer.timebase", "scorer.config", "scorer.schemas"),
    ("scorer.types",),
    ("scorer.music",),
    ("scorer.io",),
    ("scorer.analyze", "scorer.spot", "scorer.compose", "scorer.mix"),
    ("scorer.render",),
    ("scorer.deliver",),
    ("scorer.settings", "scorer.pipeline", "scorer.project"),
    ("scorer.studio",),
    ("scorer.batch",),
    ("scorer.cli", "scorer"),
)


def _module(path: Path) -> str:
    parts = ("scorer", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)


def _layer(module: str) -> int:
    best = None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > best[1]):
                best = (i, len(name))
    assert best is not None, f"{module} is in no layer: add it to LAYERS and ARCHITECTURE.md"
    return best[0]


MODULES = {_module(p) for p in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """The scorer modules `path` imports: `from scorer.compose import idioms` imports the
    module scorer.compose.idioms (and the package's __init__ only when a name is its own)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("scorer")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scorer") and node.level == 0:
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in MODULES else node.module)
    return out


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_no_module_imports_a_layer_above_its_own():
    wrong = []
    for module, imported in _graph().items():
        if module == "scorer":
            continue                               # the public API re-exports from every layer
        for target in imported:
            if _layer(target) > _layer(module):
                wrong.append(f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})")
    assert wrong == []


def test_no_two_modules_import_each_other():
    graph = _graph()
    pairs = sorted({tuple(sorted((a, b))) for a, deps in graph.items() for b in deps
                    if b in graph and a in graph[b] and a != b})
    assert pairs == []
