"""``python -m vigia.simulators.phonesim`` as a process against the test protocol server: streams,
writes the ground truth, stops cleanly on SIGTERM after delivering what was unacked."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from services.simulators.tests.phonesim.protocol_server import ProtocolServer
from vigia.simulators.phonesim.register import DeviceRegistration, read_tokens, write_tokens
from vigia.simulators.phonesim.truth import read_truth


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_cli_streams_phones_logs_truth_and_drains_on_sigterm(tmp_path: Path) -> None:
    regs = [DeviceRegistration(f"p{i}", str(uuid.uuid4()), f"tok-{uuid.uuid4().hex}", True) for i in range(2)]
    tokens = tmp_path / "tokens.jsonl"
    write_tokens(tokens, regs)
    assert tokens.stat().st_mode & 0o077 == 0  # secrets: owner only
    assert [(r.device, r.token) for r in read_tokens(tokens)] == [(r.device, r.token) for r in regs]
    async with ProtocolServer({r.token: r.device for r in regs}) as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vigia.simulators.phonesim", "--tokens", str(tokens), "--url", server.url,
            "--rate", "20", "--audio-rate", "48000", "--quiet-start", "0", "--mean-gap", "0.6", "--min-gap", "0.3",
            "--truth", str(tmp_path / "truth.jsonl"), "--stats", str(tmp_path / "stats.json"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            await server.wait_for(lambda: all(len(server.received[r.device].packets) >= 60 for r in regs), 60)
            process.send_signal(signal.SIGTERM)
            stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, stderr.decode()[-2000:]
    totals = json.loads(stdout.decode().strip().splitlines()[-1])
    received = sum(len(server.received[r.device].packets) for r in regs)
    assert totals["phones"] == 2 and totals["acked_packets"] == received == totals["packets"]
    assert totals["acked_audio"] == sum(len(server.received[r.device].audio) for r in regs) > 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert set(stats["devices"]) == {r.device for r in regs}
    truth = read_truth(tmp_path / "truth.jsonl")
    phones = [t for t in truth if t["kind"] == "phone"]
    anomalies = [t for t in truth if t["kind"] != "phone"]
    assert {p["device"] for p in phones} == {r.device for r in regs}
    assert anomalies and all(a["device"] in {r.device for r in regs} and a["start"] < a["end"] for a in anomalies)
    assert {"kind", "device", "start", "end", "magnitude", "unit", "episode"} <= set(anomalies[0])
    # Every complete anomaly lies inside the time the phone streamed.
    first = min(p["timestamp"] for r in regs for p in server.received[r.device].packets)
    last = max(p["timestamp"] for r in regs for p in server.received[r.device].packets)
    assert all(first <= a["start"] and a["end"] <= last + 1_000_000_000 for a in anomalies if a.get("complete", True))


def test_cli_refuses_to_run_without_tokens_or_registration() -> None:
    result = subprocess.run([sys.executable, "-m", "vigia.simulators.phonesim"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "--register" in result.stderr


async def test_cli_injects_a_correlated_episode_on_command(tmp_path: Path) -> None:
    regs = [DeviceRegistration(f"p{i}", str(uuid.uuid4()), f"tok-{uuid.uuid4().hex}", True) for i in range(2)]
    tokens = tmp_path / "tokens.jsonl"
    write_tokens(tokens, regs)
    port = free_port()
    async with ProtocolServer({r.token: r.device for r in regs}) as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "vigia.simulators.phonesim", "--tokens", str(tokens), "--url", server.url,
            "--rate", "20", "--audio-rate", "16000", "--quiet-start", "600", "--commands", str(port),
            "--truth", str(tmp_path / "truth.jsonl"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            await server.wait_for(lambda: len(server.received[regs[1].device].packets) >= 10, 60)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                refused = await http.post("/inject", json={"phone": 2})
                assert refused.status_code == 400 and refused.json()["field"] == "phone"
                answer = await http.post("/inject", json={"phone": 1, "lead_s": 0.5})
            assert answer.status_code == 202, answer.text
            injected = answer.json()
            assert injected["device"] == regs[1].device
            spike = next(a for a in injected["anomalies"] if a["kind"] == "magnetic")
            await server.wait_for(lambda: any(p["timestamp"] > spike["end"] + 10**9
                                              for p in server.received[regs[1].device].packets), 60)
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, stderr.decode()[-2000:]
    packets = server.received[regs[1].device].packets
    quiet = max(p["magnetometer"]["magnitude"] for p in packets if p["timestamp"] < spike["start"])
    assert max(p["magnetometer"]["magnitude"] for p in packets
               if spike["start"] <= p["timestamp"] < spike["end"]) > quiet + 0.5 * spike["magnitude"]
    logged = [t for t in read_truth(tmp_path / "truth.jsonl") if t["kind"] != "phone"]
    # The truth log holds exactly the injected episode (nothing was seeded in the first 600 s).
    assert sorted((a["kind"], a["start"]) for a in logged) == sorted(
        (a["kind"], a["start"]) for a in injected["anomalies"])
    assert {a["device"] for a in logged} == {regs[1].device}
