"""Faults under load (issue #10): the broker restarted, services killed with SIGKILL, the database
restarted and Redis restarted, each while frames and sensor packets flow, on a RabbitMQ node, a
PostgreSQL cluster and a Redis server of these tests' own (tests/fault/platform.py).

What every round asserts, from its counts (printed in the "fault rounds" section of the summary):

* frames: every push is *sent*; a 202 is *acknowledged* (the broker confirmed it), anything else
  is refused and the camera moves on (frames are perishable: nobody resends one). Every frame is
  the same picture, on which vision's detector makes exactly ``N`` detections, so a frame is
  *stored* once when it has exactly ``N`` detection rows with distinct ids; more rows are
  *duplicates*. No stored frame may be one that was not acknowledged.
* packets: every packet a phone made is *sent* (resent until acknowledged); a packet the gateway
  acknowledged must be exactly one telemetry row (device, seq): none missing, none twice.
* no message was dead-lettered (a message in a ``<queue>.dlq`` is lost to its consumer);
* every service is still running at the end, and none was restarted except by the test.

The rounds share one platform and each streams in a new organization, so counts are per round.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from tests.fault.platform import ROUND_COUNTS, FaultPlatform, RoundResult, run_round


def report(platform: FaultPlatform, result: RoundResult) -> None:
    line = result.summary(platform.detections_per_frame)
    ROUND_COUNTS.append(line)
    print(line)


def assert_frames_stored_once(platform: FaultPlatform, result: RoundResult, *, may_lose: set[uuid.UUID]) -> None:
    """Every stored frame was acknowledged and has exactly N detections; every acknowledged frame
    is stored, except those in ``may_lose``."""
    n = platform.detections_per_frame
    acked = set(result.frames.acked)
    assert result.frames.sent == len(acked) + sum(result.frames.refused.values())
    assert acked, f"no frame was acknowledged: {result.frames.refused}\n{platform.tails('ingest-frames')}"
    unacknowledged = set(result.detections) - acked
    assert not unacknowledged, f"{len(unacknowledged)} stored frames were never acknowledged"
    wrong = {f: counts for f, counts in result.detections.items() if counts != (n, n)}
    assert not wrong, f"frames not stored exactly once ((rows, distinct ids) != ({n}, {n})): {list(wrong.items())[:5]}"
    missing = acked - set(result.detections) - may_lose
    assert not missing, (f"{len(missing)} of {len(acked)} acknowledged frames have no detections\n"
                         f"{platform.tails('vision', 'recorder')}")


def assert_packets_stored_once(platform: FaultPlatform, result: RoundResult) -> None:
    dead = platform.dead_letters()
    assert not dead, f"messages dead-lettered (lost to their consumers): {dead}"
    stats = result.phone_stats
    assert stats["unacked"] == 0 and stats["dropped"] == 0 and stats["rejected"] == 0, stats
    acked = sum(len(s) for s in result.packets_acked.values())
    assert acked == stats["acked_packets"] == result.packets_made, stats
    twice = {d: len(s) - len(set(s)) for d, s in result.telemetry.items() if len(s) != len(set(s))}
    assert not twice, f"telemetry rows stored twice: {twice}"
    stored = {d: set(s) for d, s in result.telemetry.items()}
    missing = sum(len(result.packets_acked[d] - stored[d]) for d in stored)
    unacknowledged = sum(len(stored[d] - result.packets_acked[d]) for d in stored)
    assert missing == 0 and unacknowledged == 0, (
        f"{missing} acknowledged packets not stored, {unacknowledged} stored but never acknowledged\n"
        f"{platform.tails('ingest-sensors', 'fusion')}")


async def restart_service(platform: FaultPlatform, service: str) -> None:
    await asyncio.to_thread(platform.kill, service)
    platform.start(service)
    await asyncio.to_thread(platform.wait_ready, service)


async def test_broker_restart_mid_stream_loses_no_acknowledged_packet_and_stores_each_frame_once(
        platform: FaultPlatform) -> None:
    """The broker node is stopped cleanly and started again while both streams flow.

    Frames live in transient messages of classic queues (perishable by design, ARCHITECTURE): the
    ones sitting in the broker or unacked in vision when it stops are gone with it, so frames
    acknowledged *before* the stop may be lost -- counted, never stored twice. Every frame
    acknowledged after the node is back must be stored, once; every acknowledged packet too."""

    async def fault(marks: dict[str, float]) -> None:
        marks["stopping"] = time.monotonic()
        await asyncio.to_thread(platform.rabbit.restart)
        marks["back"] = time.monotonic()

    result = await run_round(platform, "broker-restart", fault, load_s=24, fault_at_s=5)
    report(platform, result)
    before_stop = {f for f, at in result.frames.acked.items() if at < result.marks["back"]}
    lost = before_stop - set(result.detections)
    print(f"frames acknowledged before the restart and lost with the broker's transient queues: {len(lost)}")
    assert_frames_stored_once(platform, result, may_lose=before_stop)
    assert_packets_stored_once(platform, result)
    assert any(at > result.marks["back"] for at in result.frames.acked.values()), "no frame after the restart"
    platform.assert_alive()


async def test_kill_9_of_vision_recorder_and_correlator_loses_nothing_and_duplicates_nothing(
        platform: FaultPlatform) -> None:
    """vision, then the recorder, then the correlator are killed with SIGKILL (one at a time,
    each started again) while both streams flow: every acknowledged frame has its detections
    stored once, every acknowledged packet is stored once, and every person detection is a source
    of exactly one incident (a replayed signal never raises a second event)."""

    async def fault(marks: dict[str, float]) -> None:
        for service in ("vision", "recorder", "correlator"):
            marks[f"kill {service}"] = time.monotonic()
            await restart_service(platform, service)
            await asyncio.sleep(3)

    result = await run_round(platform, "kill-9", fault, load_s=34, fault_at_s=4)
    report(platform, result)
    assert_frames_stored_once(platform, result, may_lose=set())
    assert_packets_stored_once(platform, result)

    persons = {str(r[0]) for r in platform.sql(
        "SELECT id FROM detections WHERE org_id = %s AND label = 'person' AND confidence >= 0.5", result.org)}

    def incidents() -> list[tuple[str, list[str], object]]:
        rows = platform.sql("SELECT id, sources, ended_at FROM events WHERE org_id = %s", result.org)
        return [(str(event), [s["ref"] for s in sources], ended) for event, sources, ended in rows]

    # Incidents close once their site is quiet; the closing update lists every source.
    deadline = time.monotonic() + 30
    while True:
        events = incidents()
        if all(ended is not None for *_, ended in events) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    refs = [ref for _, sources, _ in events for ref in sources]
    twice = {ref for ref in refs if refs.count(ref) > 1}
    line = (f"[fault round: kill-9] incidents={len(events)} (closed {sum(e is not None for *_, e in events)}) "
            f"person detections={len(persons)} listed as sources={len(persons & set(refs))} "
            f"sources listed twice={len(twice)}")
    ROUND_COUNTS.append(line)
    print(line)
    assert events and persons & set(refs), "the person detections raised no incident"
    assert not twice, f"signals counted in two incidents (or twice in one): {sorted(twice)[:5]}"
    platform.assert_alive()


async def test_database_restart_while_recorder_and_fusion_write_loses_nothing(platform: FaultPlatform) -> None:
    """PostgreSQL is stopped (every connection cut), left down for a few seconds and started again
    while the recorder stores detections and fusion writes telemetry: they retry until it is back,
    nothing acknowledged is lost, nothing is stored twice, no service exits."""

    async def fault(marks: dict[str, float]) -> None:
        marks["stopping"] = time.monotonic()
        await asyncio.to_thread(platform.postgres.stop)
        await asyncio.sleep(5)
        await asyncio.to_thread(platform.postgres.start)
        marks["back"] = time.monotonic()

    result = await run_round(platform, "database-restart", fault, load_s=22, fault_at_s=5)
    report(platform, result)
    assert_frames_stored_once(platform, result, may_lose=set())
    assert_packets_stored_once(platform, result)
    platform.assert_alive()


async def test_redis_restart_recovers_leases_rate_limits_and_last_seen(platform: FaultPlatform) -> None:
    """Redis is stopped for a few seconds and started again, empty (it holds nothing that cannot
    be rebuilt): no service exits, vision and fusion take their shard leases again, the frame rate
    limiter and the phones' last_seen keys are written again, and nothing acknowledged is lost
    or stored twice."""
    seen: dict[str, Any] = {}

    async def fault(marks: dict[str, float]) -> None:
        await asyncio.to_thread(platform.redis_server.stop)
        await asyncio.sleep(3)
        await asyncio.to_thread(platform.redis_server.start)
        marks["back"] = time.monotonic()
        back_ns = time.time_ns()
        client = platform.redis()
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                seen["leases"] = sorted(k.decode() for k in client.scan_iter("shards:*") if not k.endswith(b"replicas"))
                seen["rate"] = sorted(k.decode() for k in client.scan_iter("frames:*:rate"))
                stamps = [int(v) for k in client.scan_iter("device:*:last_seen") if (v := client.get(k))]
                seen["last_seen_after_restart"] = sum(1 for ns in stamps if ns > back_ns)
                if len(seen["leases"]) == 8 and seen["rate"] and seen["last_seen_after_restart"]:
                    break
                await asyncio.sleep(0.5)
        finally:
            client.close()

    result = await run_round(platform, "redis-restart", fault, load_s=20, fault_at_s=5)
    report(platform, result)
    ROUND_COUNTS.append(f"[fault round: redis-restart] after the restart: shard leases={len(seen['leases'])} "
                        f"rate-limit windows={len(seen['rate'])} last_seen keys={seen['last_seen_after_restart']}")
    # 4 frame shards (vision) + 4 sensor shards (fusion), all leased again
    assert len(seen["leases"]) == 8, seen
    assert seen["rate"] and seen["last_seen_after_restart"] > 0, seen
    assert_frames_stored_once(platform, result, may_lose=set())
    assert_packets_stored_once(platform, result)
    platform.assert_alive()
