"""Start and stop the camsim RTSP server from any Python (the venv included).

The server needs GStreamer's bindings, which only Debian's system python3 has, so it runs as a
child process: ``/usr/bin/python3 -m vigia.simulators.camsim.server`` with ``PYTHONPATH`` set to
the directory holding this source tree (or, when installed into a site-packages directory, to a
temporary directory that links only this package, so the venv's numpy never shadows Debian's).
The RTSP password travels in the child's environment, never on its command line.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any
from urllib.parse import quote

SERVER_MODULE = "vigia.simulators.camsim.server"
DEFAULT_PYTHON = "/usr/bin/python3"
PACKAGE_DIR = Path(__file__).resolve().parent  # …/vigia/simulators/camsim


class CamsimError(RuntimeError):
    """The server could not be started (missing GStreamer, port taken, bad options…)."""


@dataclass(frozen=True)
class ServerOptions:
    """What the server serves; mirrors ``vigia.simulators.camsim.server``'s arguments."""

    cameras: int = 2
    port: int = 8554
    bind: str = "127.0.0.1"
    fps: float = 10.0
    gop: int = 25
    size: tuple[int, int] = (1280, 720)
    bitrate: int = 0
    seed: int = 1
    truth: Path | None = None
    intruder_every_s: float = 0.0
    commands: int | None = None  # loopback port of the inject command (0: any free one)
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    def argv(self) -> list[str]:
        args = ["--cameras", str(self.cameras), "--port", str(self.port), "--bind", self.bind,
                "--fps", f"{self.fps:g}", "--gop", str(self.gop), "--size", f"{self.size[0]}x{self.size[1]}",
                "--bitrate", str(self.bitrate), "--seed", str(self.seed)]
        if self.truth is not None:
            args += ["--truth", str(self.truth)]
        if self.intruder_every_s:
            args += ["--intruder-every", f"{self.intruder_every_s:g}"]
        if self.commands is not None:
            args += ["--commands", str(self.commands)]
        return args


def server_python() -> str:
    """The interpreter that has GStreamer: ``$VIGIA_CAMSIM_PYTHON`` or Debian's ``/usr/bin/python3``."""
    return os.environ.get("VIGIA_CAMSIM_PYTHON", DEFAULT_PYTHON)


def source_path() -> tuple[Path, tempfile.TemporaryDirectory[str] | None]:
    """A directory to put on the server's ``PYTHONPATH`` and, if one was made, its temporary dir."""
    root = PACKAGE_DIR.parents[2]  # the directory that holds vigia/
    if not any((root / name).exists() for name in ("numpy", "cv2", "pip")):
        return root, None  # a source tree (editable install, Docker image): use it as is
    shim = tempfile.TemporaryDirectory(prefix="camsim-path-")
    target = Path(shim.name) / "vigia" / "simulators"
    target.mkdir(parents=True)
    (target / "camsim").symlink_to(PACKAGE_DIR, target_is_directory=True)
    (target / "commands.py").symlink_to(PACKAGE_DIR.parent / "commands.py")  # the server's inject command
    return Path(shim.name), shim


class CamsimServer:
    """A running camsim server process; use as a context manager or call :meth:`start`/:meth:`stop`."""

    def __init__(self, options: ServerOptions, python: str | None = None,
                 stderr: int | IO[Any] | None = None) -> None:
        self.options = options
        self.python = python or server_python()
        self.stderr = stderr
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.paths: list[str] = []
        self.commands_port: int | None = None  # where POST /inject is taken (options.commands)
        self._shim: tempfile.TemporaryDirectory[str] | None = None

    def start(self, timeout: float = 120.0) -> CamsimServer:
        """Start the server and wait until it listens; raise :class:`CamsimError` if it cannot.

        It listens within seconds on its own, but a whole platform starting at once on two busy cores
        (``make run``, the console's platform test) has kept it from doing so within 30 s."""
        if shutil.which(self.python) is None:
            raise CamsimError(f"{self.python} not found: camsim's server runs under Debian's python3 with "
                              "python3-gi and gir1.2-gst-rtsp-server-1.0 (deploy/local/bootstrap.sh installs them)")
        path, self._shim = source_path()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["PYTHONPATH"] = str(path)
        env["PYTHONUNBUFFERED"] = "1"
        if self.options.user:
            env["VIGIA_CAMSIM_USER"] = self.options.user
            env["VIGIA_CAMSIM_PASSWORD"] = self.options.password or ""
        else:
            env.pop("VIGIA_CAMSIM_USER", None)
        self.process = subprocess.Popen([self.python, "-m", SERVER_MODULE, *self.options.argv()], env=env,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr)
        try:
            ready = self._read_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self.port, self.paths = int(ready["port"]), list(ready["paths"])
        self.commands_port = ready.get("commands")
        return self

    def _read_ready(self, timeout: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.process.stdout, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0:
                if sel.select(left):
                    line = self.process.stdout.readline()
                    if not line:
                        break
                    message = json.loads(line)
                    if message.get("event") == "ready":
                        return message
        code = self.process.poll()
        raise CamsimError(f"camsim server did not become ready within {timeout:g} s"
                          + (f" (exited with {code}; see its stderr)" if code is not None else ""))

    def urls(self, host: str | None = None, credentials: bool = True) -> list[str]:
        """``rtsp://[user:password@]host:port/camN`` of every camera."""
        if self.port is None:
            raise CamsimError("server not started")
        host = host or ("127.0.0.1" if self.options.bind in ("0.0.0.0", "") else self.options.bind)  # noqa: S104
        auth = ""
        if credentials and self.options.user:
            auth = f"{quote(self.options.user, safe='')}:{quote(self.options.password or '', safe='')}@"
        return [f"rtsp://{auth}{host}:{self.port}{path}" for path in self.paths]

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the server, wait for it (SIGKILL after ``timeout``); its exit code."""
        code = None
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            code = self.process.returncode
            if self.process.stdout is not None:
                self.process.stdout.close()
        if self._shim is not None:
            self._shim.cleanup()
            self._shim = None
        return code

    def __enter__(self) -> CamsimServer:
        return self.start() if self.process is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
