"""camsim for other services' tests: ``with run_camsim() as cams: cams.urls[0]``.

Example fixture::

    @pytest.fixture
    def camsim(tmp_path):
        with run_camsim(tmp_path, cameras=1, fps=10, gop=10, size=(640, 360)) as cams:
            yield cams          # cams.urls, cams.truth_path, cams.truth()

The server listens on a free port; it is stopped (SIGTERM, then SIGKILL) when the block ends.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigia.simulators.camsim.launcher import CamsimServer, ServerOptions
from vigia.simulators.camsim.truth import read_truth


@dataclass(frozen=True)
class RunningCamsim:
    """URLs (credentials included when auth is on), the truth file and the server handle."""

    urls: list[str]
    truth_path: Path
    server: CamsimServer

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    def truth(self) -> list[dict[str, Any]]:
        """Ground-truth records written so far (closed intervals only until the server stops)."""
        return read_truth(self.truth_path) if self.truth_path.exists() else []


@contextmanager
def run_camsim(directory: Path | str | None = None, *, cameras: int = 1, fps: float = 10.0, gop: int = 10,
               size: tuple[int, int] = (640, 360), seed: int = 1, user: str | None = None,
               password: str | None = None, bitrate: int = 0, timeout: float = 30.0,
               intruder_every_s: float = 0.0, commands: int | None = None) -> Iterator[RunningCamsim]:
    """Run a camsim server for the duration of the block; the truth file goes into ``directory``
    (a temporary directory, removed afterwards, when ``None``). ``intruder_every_s``: a person
    crosses every camera's foreground this often (see ``SceneConfig``); ``commands``: the port of
    its inject command (0: any free one; ``server.commands_port`` says which)."""
    with tempfile.TemporaryDirectory(prefix="camsim-") as tmp:
        truth = Path(directory or tmp) / "camsim-truth.jsonl"
        options = ServerOptions(cameras=cameras, port=0, fps=fps, gop=gop, size=size, seed=seed, truth=truth,
                                user=user, password=password, bitrate=bitrate, intruder_every_s=intruder_every_s,
                                commands=commands)
        with tempfile.TemporaryFile() as stderr:
            server = CamsimServer(options, stderr=stderr)
            try:
                server.start(timeout)
            except Exception as exc:
                stderr.seek(0)
                raise type(exc)(f"{exc}\n{stderr.read().decode(errors='replace')[-2000:]}") from exc
            try:
                yield RunningCamsim(server.urls(), truth, server)
            finally:
                server.stop()
