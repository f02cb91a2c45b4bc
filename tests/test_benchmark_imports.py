"""`make bench` is not run by CI (it takes half an hour): every name a benchmark takes
from the project, at the top of its file or inside a function, must still exist, or
the run breaks half-way (a renamed import parser once broke it at its first script)."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def project_imports() -> list[tuple[str, str, str]]:
    """(file, module, name) for each `from outagewatch... import name` and `from
    benchmarks... import name` anywhere in benchmarks/."""
    found = []
    for path in sorted(BENCHMARKS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.level == 0
                and node.module.split(".")[0] in ("outagewatch", "benchmarks")
            ):
                rel = str(path.relative_to(BENCHMARKS.parent))
                found += [(rel, node.module, alias.name) for alias in node.names]
    return found


IMPORTS = project_imports()


def test_the_benchmarks_import_from_the_project() -> None:
    assert len(IMPORTS) > 20  # the walk found the benchmarks' imports at all


@pytest.mark.parametrize(("file", "module", "name"), IMPORTS)
def test_each_name_a_benchmark_imports_exists(file: str, module: str, name: str) -> None:
    imported = importlib.import_module(module)
    exists = hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}") is not None
    assert exists, f"{file}: {module} has no {name}"
