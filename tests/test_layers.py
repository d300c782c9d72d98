"""The package layout is the data flow: a lower layer never imports a higher one.

Each subpackage's docstring states its layer; this test reads every module's imports
(including those inside functions) and fails on an import that goes up the stack.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bench

ROOT = Path(bench.__file__).parent

# lowest first; a package may import its own layer and any below it
LAYERS = ["core", "data", "protocols", "train", "results", "report", "run", "scoring", "tuning", "__top__"]


def _layer(module: str) -> str:
    parts = module.split(".")
    if module == "bench":  # the package itself holds only its version
        return "core"
    if parts[0] != "bench":
        return "__top__"
    return parts[1] if parts[1] in LAYERS else "__top__"


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__")
        out.append((name, path))
    return out


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("bench")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "bench":  # from bench import x: x is the module
                found += [(node.lineno, f"bench.{a.name}") for a in node.names]
            elif target.startswith("bench"):
                found.append((node.lineno, target))
    return found


def test_every_subpackage_says_what_it_holds_and_may_import():
    for name in LAYERS[:-1]:
        doc = ast.get_docstring(ast.parse((ROOT / name / "__init__.py").read_text()))
        assert doc and "import" in doc, f"bench/{name}/__init__.py needs a docstring saying what it may import"


@pytest.mark.parametrize("module,path", _modules(), ids=[m for m, _ in _modules()])
def test_no_import_goes_up_the_stack(module, path):
    own = LAYERS.index(_layer(module))
    up = [(line, target) for line, target in _imports(path, module)
          if LAYERS.index(_layer(target)) > own]
    assert not up, f"{path} imports higher layers: " + ", ".join(f"line {n}: {t}" for n, t in up)


def test_kind_decisions_live_in_the_kind_module():
    """The runner, the trainer, the torch solution base, predict and the CLI ask the kind."""
    for rel in ("run/runner.py", "run/evaluate.py", "train/trainer.py", "train/torch_solution.py",
                "run/predict.py", "cli.py", "tuning/objective.py"):
        path = ROOT / rel
        if path.exists():
            assert "TaskKind." not in path.read_text(), f"bench/{rel} branches on TaskKind"
