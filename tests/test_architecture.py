"""What each folder may import (docs/architecture.md): ingest/ and detector/ know
nothing of the server; the engine (app/engine/) knows ingest/ and detector/ but no
web framework and no other part of the server; none of them reads the clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB = ("fastapi", "starlette", "uvicorn", "httpx")
CLOCK_CALLS = {("time", "time"), ("time", "monotonic"), ("datetime", "now"),
               ("datetime", "utcnow"), ("date", "today")}  # fmt: skip


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
    return out


def clock_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
            if (name, node.func.attr) in CLOCK_CALLS:
                found.append(f"{path.name}:{node.lineno}")
    return found


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize(
    ("folder", "allowed_app"),
    [("ingest", ()), ("detector", ()), ("app/engine", ("outagewatch.app.engine",))],
)
def test_folders_import_only_what_they_may(folder: str, allowed_app: tuple[str, ...]) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(folder)
        for name in imports(path)
        if name.split(".")[0] in WEB
        or (name.startswith("outagewatch.app") and not name.startswith(allowed_app or ("-",)))
    ]
    assert wrong == []
    assert modules(folder), folder


@pytest.mark.parametrize("folder", ["ingest", "detector", "app/engine"])
def test_no_clock_is_read_where_time_is_an_argument(folder: str) -> None:
    assert [hit for path in modules(folder) for hit in clock_reads(path)] == []


def test_the_checks_would_see_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom fastapi import FastAPI\nt = time.time()\n")
    assert "fastapi" in imports(bad)
    assert clock_reads(bad) == ["bad.py:3"]
