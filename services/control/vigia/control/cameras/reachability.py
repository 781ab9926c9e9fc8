"""The optional reachability check of a camera: can ``ffprobe`` open its stream within the timeout?"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from typing import Any

from vigia.control.cameras import rtsp

DEFAULT_BINARY = "ffprobe"


class ProbeUnavailable(RuntimeError):
    """``ffprobe`` is not installed where the control plane runs."""


@dataclass(frozen=True)
class ProbeResult:
    """The answer of one check. ``detail`` never contains the URL or its credentials."""

    reachable: bool
    detail: str
    elapsed_ms: int
    codec: str | None = None
    width: int | None = None
    height: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def probe(url: str, timeout: float, binary: str = DEFAULT_BINARY) -> ProbeResult:
    """Run ``ffprobe -rtsp_transport tcp`` against ``url`` for at most ``timeout`` seconds.

    Raises :class:`ProbeUnavailable` when ``binary`` cannot be found.
    """
    executable = shutil.which(binary)
    if executable is None:
        raise ProbeUnavailable(f"{binary} is not installed on the control plane; install ffmpeg to "
                               "check cameras")
    # ffprobe's own socket timeout (µs) makes it give up cleanly; the subprocess timeout is the cap.
    args = [executable, "-v", "error", "-rtsp_transport", "tcp", "-timeout", str(int(timeout * 1_000_000)),
            "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height",
            "-of", "default=noprint_wrappers=1", url]
    started = time.monotonic()
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"no answer within {timeout:g} s", _ms(started))
    except OSError as exc:
        raise ProbeUnavailable(f"{binary} could not be started: {exc.strerror}") from None
    elapsed = _ms(started)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or "").splitlines() if line.strip()]
        reason = rtsp.scrub(lines[-1] if lines else f"ffprobe exited with {done.returncode}", url)
        return ProbeResult(False, reason[:300], elapsed)
    fields = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    if not fields:
        return ProbeResult(False, "stream opened but has no video track", elapsed)
    return ProbeResult(True, "stream opened", elapsed, codec=fields.get("codec_name"),
                       width=_int(fields.get("width")), height=_int(fields.get("height")))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
