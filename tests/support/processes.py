"""Service processes in tests: a free port for their metrics/health server, waiting until they are
ready, and :class:`ServiceProcesses` for the stacks that start, kill and restart them."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, ClassVar

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(process: asyncio.subprocess.Process, port: int, name: str, within_s: float) -> None:
    """Poll ``/readyz`` on ``port`` until it answers 200; fail if the process exits or time runs out."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for _ in range(int(within_s * 10)):
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if process.returncode is not None:
                break
            await asyncio.sleep(0.1)
    raise AssertionError(f"{name} never became ready")


class ServiceProcesses:
    """Starting, stopping and reading the logs of a stack's service processes, for the stacks in
    tests/e2e and tests/fault (dataclasses that mix this in). The stack provides ``commands``
    (service -> argv after the interpreter), ``env`` (service -> environment), ``logs`` (a
    directory: one ``<service>.log`` each, appended to on every start), ``procs``, ``files`` and
    ``starts``, and says where a service answers ``/readyz`` in :meth:`ready_url`."""

    commands: ClassVar[dict[str, list[str]]]
    env: dict[str, dict[str, str]]
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]]
    files: list[IO[bytes]]
    starts: dict[str, int]

    def ready_url(self, service: str) -> str | None:
        """Where ``service`` answers ``/readyz``; None for a service with no port of its own."""
        raise NotImplementedError

    def start(self, service: str) -> subprocess.Popen[bytes]:
        """Start ``service`` (again) with its environment; its log file is appended to."""
        self.starts[service] = self.starts.get(service, 0) + 1
        log = open(self.logs / f"{service}.log", "ab")  # noqa: SIM115 - closed at teardown
        log.write(f"\n=== start #{self.starts[service]} ===\n".encode())
        log.flush()
        self.files.append(log)
        proc = subprocess.Popen([sys.executable, *self.commands[service]], cwd=ROOT, env=self.env[service],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.procs[service] = proc
        return proc

    def wait_ready(self, *services: str, timeout: float) -> None:
        """Until each of ``services`` (default: every started one) with a ready URL answers 200;
        fails at once when one of them exits, naming it with its log."""
        pending = {s: url for s in (services or tuple(self.procs)) if (url := self.ready_url(s)) is not None}
        deadline = time.monotonic() + timeout
        while pending:
            for service in sorted(pending):
                self.assert_alive(service)
                if answers(pending[service]):
                    del pending[service]
            assert time.monotonic() < deadline, f"not ready: {sorted(pending)}\n{self.tails(*pending)}"
            time.sleep(0.2)

    def stop(self, service: str, timeout: float = 60) -> int:
        """SIGTERM ``service`` and wait for it to exit; returns its exit code."""
        proc = self.procs[service]
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout)

    def kill(self, service: str) -> None:
        """SIGKILL: no shutdown, no acks of what was in flight."""
        proc = self.procs[service]
        proc.kill()
        proc.wait(30)

    def assert_alive(self, *services: str) -> None:
        for name in services or tuple(self.procs):
            proc = self.procs[name]
            assert proc.poll() is None, f"{name} exited with {proc.returncode}:\n{self.tail(name)}"

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def tails(self, *names: str, chars: int = 1500) -> str:
        return "\n".join(f"--- {n} ---\n{self.tail(n, chars)}" for n in (names or tuple(self.procs)))


def answers(url: str) -> bool:
    """Whether ``url`` answers 200 now."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
