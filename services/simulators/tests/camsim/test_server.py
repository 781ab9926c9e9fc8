"""The real RTSP server, read with ffprobe over TCP: size, rate, GOP, auth, clean stop, CLI."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from vigia.simulators.camsim.testing import run_camsim
from vigia.simulators.camsim.truth import read_truth

pytestmark = pytest.mark.timeout(120)


def ffprobe(url: str, *args: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-timeout", "10000000",
                           "-of", "json", *args, url], capture_output=True, text=True, timeout=timeout, check=False)


def read_frames(url: str, seconds: int) -> list[dict]:
    done = ffprobe(url, "-select_streams", "v:0", "-show_entries", "frame=key_frame,pict_type,pts_time",
                   "-read_intervals", f"%+{seconds}")
    assert done.returncode == 0, done.stderr
    frames, seen = [], set()
    for f in json.loads(done.stdout)["frames"]:
        if "pts_time" in f and f["pts_time"] not in seen:  # ffprobe may list a frame's side data twice
            seen.add(f["pts_time"])
            frames.append(f)
    return frames


def test_streams_h264_at_the_configured_size_rate_and_gop(tmp_path):
    with run_camsim(tmp_path, cameras=2, fps=10, gop=10, size=(640, 360)) as cams:
        assert [u.rsplit("/", 1)[1] for u in cams.urls] == ["cam1", "cam2"]
        done = ffprobe(cams.urls[1], "-select_streams", "v:0",
                       "-show_entries", "stream=codec_name,width,height,r_frame_rate")
        assert done.returncode == 0, done.stderr
        stream = json.loads(done.stdout)["streams"][0]
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 640, 360)
        assert stream["r_frame_rate"] == "10/1"

        frames = read_frames(cams.urls[0], 5)
    times = [float(f["pts_time"]) for f in frames]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(frames) >= 35
    assert statistics.median(gaps) == pytest.approx(0.1, rel=0.1)
    assert (times[-1] - times[0]) / (len(times) - 1) == pytest.approx(0.1, rel=0.15)
    keys = [i for i, f in enumerate(frames) if f["key_frame"] == 1]
    assert len(keys) >= 3
    assert {b - a for a, b in itertools.pairwise(keys)} == {10}
    assert all(f["pict_type"] == "P" for f in frames if f["key_frame"] == 0)  # no B-frames: low latency


def test_a_longer_gop_spaces_key_frames_accordingly(tmp_path):
    with run_camsim(tmp_path, fps=10, gop=25, size=(640, 360)) as cams:
        frames = read_frames(cams.urls[0], 7)
    keys = [i for i, f in enumerate(frames) if f["key_frame"] == 1]
    assert len(keys) >= 2 and {b - a for a, b in itertools.pairwise(keys)} == {25}


def test_auth_refuses_missing_or_wrong_credentials_and_accepts_right_ones(tmp_path):
    with run_camsim(tmp_path, size=(640, 360), user="viewer", password="s3cret:/@x") as cams:
        good = cams.urls[0]
        assert good.startswith("rtsp://viewer:s3cret%3A%2F%40x@")
        bare = good.replace("viewer:s3cret%3A%2F%40x@", "")
        wrong = good.replace("s3cret%3A%2F%40x", "guess")
        for url in (bare, wrong):
            refused = ffprobe(url, "-show_entries", "stream=width")
            assert refused.returncode != 0 and "401" in refused.stderr
        accepted = ffprobe(good, "-show_entries", "stream=width")
        assert accepted.returncode == 0, accepted.stderr
        assert json.loads(accepted.stdout)["streams"][0]["width"] == 640


def test_stops_cleanly_freeing_the_port_and_closing_the_truth(tmp_path):
    with run_camsim(tmp_path, cameras=2, fps=10, size=(640, 360)) as cams:
        port, server = cams.port, cams.server
        assert ffprobe(cams.urls[0], "-show_entries", "stream=width").returncode == 0
    assert server.process is not None and server.process.returncode == 0
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    records = read_truth(tmp_path / "camsim-truth.jsonl")
    streams = [r for r in records if r["kind"] == "stream"]
    assert [s["camera"] for s in streams] == ["cam1", "cam2"]
    assert all((s["width"], s["height"], s["fps"]) == (640, 360, 10.0) for s in streams)
    plates = [r for r in records if r["kind"] == "plate"]
    assert plates, "a few seconds of scene show at least one plate"
    epoch = streams[0]["epoch"]
    assert all(epoch <= p["wall_start"] <= p["wall_end"] for p in plates)


def test_intruders_are_logged_as_they_start_crossing(tmp_path):
    import time

    with run_camsim(tmp_path, fps=10, size=(640, 360), intruder_every_s=12) as cams:
        deadline = time.monotonic() + 20
        while not [r for r in cams.truth() if r["kind"] == "intruder"] and time.monotonic() < deadline:
            time.sleep(0.2)
    records = read_truth(tmp_path / "camsim-truth.jsonl")
    [stream] = [r for r in records if r["kind"] == "stream"]
    assert stream["intruder_every_s"] == 12
    [first, *_] = [r for r in records if r["kind"] == "intruder"]
    assert (first["camera"], first["t_enter"], first["direction"]) == ("cam1", 1.0, 1)
    assert first["wall_enter"] == pytest.approx(stream["epoch"] + 1.0, abs=1e-3)


def test_cli_prints_urls_and_stops_its_server_on_sigterm(tmp_path: Path):
    truth = tmp_path / "truth.jsonl"
    cli = subprocess.Popen([sys.executable, "-m", "vigia.simulators.camsim", "--cameras", "2", "--port", "0",
                            "--size", "640x360", "--truth", str(truth)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert cli.stdout is not None
        urls = [cli.stdout.readline().strip() for _ in range(2)]
        assert [u.rsplit("/", 1)[1] for u in urls] == ["cam1", "cam2"]
        assert ffprobe(urls[1], "-show_entries", "stream=height").returncode == 0
        children = _children(cli.pid)
        assert children, "the RTSP server runs as a child process"
        cli.send_signal(signal.SIGTERM)
        assert cli.wait(20) == 0
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()]
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert any(r["kind"] == "stream" for r in read_truth(truth))


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_an_intruder_crosses_on_command_and_is_logged(tmp_path):
    import time

    import httpx

    with run_camsim(tmp_path, cameras=2, fps=10, size=(640, 360), commands=0) as cams:
        base = f"http://127.0.0.1:{cams.server.commands_port}"
        refused = httpx.post(f"{base}/inject", json={"camera": "cam9"})
        assert refused.status_code == 400 and refused.json()["field"] == "camera"
        answer = httpx.post(f"{base}/inject", json={"camera": "cam2", "lead_s": 0.5})
        assert answer.status_code == 202, answer.text
        injected = answer.json()
        deadline = time.monotonic() + 20
        while not [r for r in cams.truth() if r["kind"] == "intruder"] and time.monotonic() < deadline:
            time.sleep(0.2)
    [logged] = [r for r in read_truth(tmp_path / "camsim-truth.jsonl") if r["kind"] == "intruder"]
    assert (logged["camera"], logged["actor"]) == ("cam2", injected["actor"])
    assert logged["wall_enter"] == pytest.approx(injected["enter"], abs=2e-3)
