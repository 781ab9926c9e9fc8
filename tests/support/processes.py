"""Service processes in tests: a free port for their metrics/health server, and waiting until they
are ready."""

from __future__ import annotations

import asyncio
import socket

import httpx


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
