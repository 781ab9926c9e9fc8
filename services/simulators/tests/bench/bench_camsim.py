"""CPU cost of camsim's RTSP server: N cameras at WxH and F fps, with one client per camera
(ffmpeg copying the stream, not decoding) and with none. Prints ONE JSON line.

    .venv/bin/python services/simulators/tests/bench/bench_camsim.py [--cameras 2] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

from vigia.simulators.camsim.testing import run_camsim

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def measure(pid: int, seconds: float) -> float:
    """CPU use of ``pid`` over ``seconds`` as a fraction of one core."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cameras", type=int, default=2)
    p.add_argument("--size", default="1280x720")
    p.add_argument("--fps", type=float, default=10)
    p.add_argument("--gop", type=int, default=25)
    p.add_argument("--seconds", type=float, default=30)
    a = p.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    with run_camsim(cameras=a.cameras, fps=a.fps, gop=a.gop, size=(w, h)) as cams:
        assert cams.server.process is not None
        pid = cams.server.process.pid
        idle = measure(pid, min(10.0, a.seconds))
        clients = [subprocess.Popen(["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", url, "-c", "copy",
                                     "-f", "null", "-"], stdin=subprocess.DEVNULL) for url in cams.urls]
        try:
            time.sleep(5)  # pipelines start, first key frames
            streaming = measure(pid, a.seconds)
        finally:
            for c in clients:
                c.terminate()
            for c in clients:
                c.wait(10)
    print(json.dumps({
        "bench": "camsim_server_cpu", "cameras": a.cameras, "size": a.size, "fps": a.fps, "gop": a.gop,
        "seconds": a.seconds, "cpu_cores_idle": round(idle, 3), "cpu_cores_streaming": round(streaming, 3),
        "cpu_cores_per_camera": round(streaming / a.cameras, 3), "machine_cores": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
