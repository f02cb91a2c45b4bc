"""The built wheel, installed in a fresh venv beside its runtime dependencies only (no
extras: no pytest, no nats, no dev tools), serves: `outagewatch serve` answers a report
and `outagewatch demo` its page.

The venv gets the wheel through pip (with its console script) and, instead of a second
download of every dependency, a folder of links to exactly the distributions that
outagewatch's own requirements reach (markers and extras evaluated), made from this
environment's installed metadata: a module that needs a dev-only package fails here
as it would for a user.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "app", "detector", "ingest")
PIP = (sys.executable, "-m", "pip")
DEV_ONLY = ("pytest", "hypothesis", "mypy", "playwright", "schemathesis", "nats", "httpx_sse")


def runtime_distributions() -> dict[str, md.Distribution]:
    """Every installed distribution outagewatch needs without extras, by name."""
    found: dict[str, md.Distribution] = {}
    done: set[tuple[str, str]] = set()  # (distribution, extra) already followed
    todo = [(Requirement(r), "") for r in md.requires("outagewatch") or []]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        wanted = [e for e in ["", *sorted(req.extras)] if (name, e) not in done]
        if not wanted:
            continue
        dist = found.setdefault(name, md.distribution(req.name))
        done.update((name, e) for e in wanted)
        for raw in dist.requires or []:
            todo.extend((Requirement(raw), e) for e in wanted)
    return found


def link_tree(dists: dict[str, md.Distribution], into: Path) -> None:
    """A site folder of links to the files of `dists` (top-level names only)."""
    into.mkdir()
    for dist in dists.values():
        assert dist.files is not None, f"{dist.metadata['Name']} has no RECORD"
        for f in dist.files:
            top = f.parts[0]
            if top in ("..", "__pycache__") or (into / top).exists():
                continue
            (into / top).symlink_to(Path(str(dist.locate_file(top))))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel --no-deps` of a copy of the sources (the work tree stays clean)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
        check=True,
        timeout=300,
    )
    return next(out.glob("outagewatch-*.whl"))


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel and its runtime dependencies only."""
    base = tmp_path_factory.mktemp("venv")
    env = base / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run(
        [*PIP, "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    deps = base / "deps"
    link_tree(runtime_distributions(), deps)
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site_dir) / "runtime_deps.pth").write_text(
        f"import site; site.addsitedir({str(deps)!r})\n"
    )
    return env


def test_the_wheel_installs_outagewatch_and_nothing_else(wheel: Path, venv: Path) -> None:
    """No top-level app, detector or ingest: they collide with anything else that ships
    one, and uninstalling either package deletes the other's files."""
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    dist_info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    assert {n.split("/")[0] for n in names} == {"outagewatch", *dist_info}
    assert len(dist_info) == 1 and next(iter(dist_info)).startswith("outagewatch-")
    for name in ("app/cli.py", "app/static/style.css", "app/data/catalog.txt"):
        assert f"outagewatch/{name}" in names
    assert {"outagewatch/detector/incidents.py", "outagewatch/ingest/store.py"} <= names
    (site,) = venv.glob("lib/python*/site-packages")
    installed = {p.name for p in site.iterdir()} - {"runtime_deps.pth"}
    assert installed == {"outagewatch", *dist_info}


def test_every_module_imports_without_the_dev_tools(venv: Path) -> None:
    check = """
import importlib, importlib.util, json, pkgutil, sys
import outagewatch.app as app
missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]
loaded = []
for info in pkgutil.walk_packages(app.__path__, "outagewatch.app."):
    if info.name.startswith("outagewatch.app.broker"):
        continue  # scale-out mode: the [nats] extra
    importlib.import_module(info.name)
    loaded.append(info.name)
print(json.dumps({"missing": missing, "loaded": loaded, "app": app.__file__}))
"""
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-I", "-c", check, *DEV_ONLY],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=venv,
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["missing"] == list(DEV_ONLY), "the venv must lack the dev tools"
    assert str(venv) in got["app"], "the installed wheel, not the work tree"
    assert {f"outagewatch.app.{m}" for m in ("cli", "main", "demo", "webhooks")} <= set(
        got["loaded"]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def started(venv: Path, tmp_path: Path) -> Iterator[Callable[[list[str]], int]]:
    """Starts `outagewatch <args> --port <free>` from the venv; stopped at the end."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(args: list[str]) -> int:
        port = free_port()
        with open(tmp_path / "stderr.log", "wb") as log:  # the child keeps its own copy
            proc = subprocess.Popen(
                [str(venv / "bin" / "outagewatch"), *args, "--port", str(port)],
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        procs.append(proc)
        return port

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def get(url: str, deadline_s: float, log: Path) -> bytes:
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return bytes(answer.read())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > end:
                raise AssertionError(log.read_text()) from None
            time.sleep(0.2)


@pytest.mark.slow
def test_serve_from_the_wheel_answers(started: Callable[[list[str]], int], tmp_path: Path) -> None:
    port = started(["serve", "--data", str(tmp_path / "data")])
    base = f"http://127.0.0.1:{port}"
    health = json.loads(get(f"{base}/healthz", 60, tmp_path / "stderr.log"))
    assert health["status"] == "ok", health
    request = urllib.request.Request(
        f"{base}/v1/reports",
        data=json.dumps({"service": "aws"}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 202


@pytest.mark.slow
def test_demo_from_the_wheel_serves_its_page(
    started: Callable[[list[str]], int], tmp_path: Path
) -> None:
    port = started(["demo", "--data", str(tmp_path / "demo")])
    page = get(f"http://127.0.0.1:{port}/", 180, tmp_path / "stderr.log")
    assert b"outagewatch" in page.lower()


def test_scale_out_without_the_nats_extra_says_what_to_install(venv: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(venv / "bin" / "outagewatch"), "serve", "--broker", "nats://127.0.0.1:1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert "outagewatch[nats]" in done.stderr and "Traceback" not in done.stderr
