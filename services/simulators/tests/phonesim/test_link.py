"""Phones against a real WebSocket server speaking the #4 protocol: delivery, acks, resend after a
forced disconnect, error frames, bad tokens, frame-size limits and the bounded buffer."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.simulators.tests.phonesim.protocol_server import ProtocolServer
from vigia.simulators.phonesim.fleet import Fleet, PhoneIdentity
from vigia.simulators.phonesim.signals import SignalConfig

FAST = SignalConfig(rate=50.0, audio_rate=8_000, chunk_seconds=0.2, mean_gap_s=20, min_gap_s=12)


def phones(n: int) -> list[PhoneIdentity]:
    return [PhoneIdentity(str(uuid.uuid4()), f"token-{i}-{uuid.uuid4().hex}", f"p{i}") for i in range(n)]


@contextlib.asynccontextmanager
async def running(fleet: Fleet) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(fleet.run())
    try:
        yield task
    finally:
        fleet.stop()
        await asyncio.wait_for(task, 30)


def unique(seqs: list[int]) -> set[int]:
    return set(seqs)


async def test_every_item_is_delivered_once_valid_and_acked(tmp_path: Any) -> None:
    ids = phones(3)
    async with ProtocolServer({p.token: p.device for p in ids}) as server:
        fleet = Fleet(ids, url=server.url, config=FAST, link={"drain_timeout": 10})
        async with running(fleet):
            await server.wait_for(lambda: all(len(server.received[p.device].packets) >= 40 for p in ids)
                                  and all(server.received[p.device].audio for p in ids))
        stats = fleet.stats()
    assert not any(server.received[p.device].errors for p in ids)
    for phone in fleet.phones:
        got = server.received[phone.identity.device]
        assert len(got.seqs) == len(set(got.seqs))  # nothing sent twice on a healthy link
        assert len(got.packets) == phone.packets and len(got.audio) == phone.chunks
        assert sorted(got.seqs) == list(range(phone.next_seq - len(got.seqs), phone.next_seq))  # no gaps
        header, pcm = got.audio[0]
        assert header["sample_rate"] == 8_000 and len(pcm) == FAST.chunk_samples * 2
        assert phone.link.unacked == 0
        assert phone.link.stats.acked_packets == phone.packets
        assert phone.link.stats.last_ack == phone.next_seq - 1
    assert stats["totals"]["acked_packets"] == sum(p.packets for p in fleet.phones)
    assert stats["totals"]["dropped"] == 0 and "ack_p99_ms" in stats["totals"]


@pytest.mark.parametrize("auth", ["query", "message"])
async def test_both_ways_of_presenting_the_token_work(auth: str) -> None:
    ids = phones(1)
    async with ProtocolServer({ids[0].token: ids[0].device}) as server:
        fleet = Fleet(ids, url=server.url, config=FAST, link={"auth": auth})
        async with running(fleet):
            await server.wait_for(lambda: len(server.received[ids[0].device].acks) >= 5)
    assert fleet.phones[0].link.hello == {"type": "hello", "device_id": ids[0].device, "max_frame_bytes": 1 << 20,
                                          "rate_limit": 1000}


async def test_after_a_forced_disconnect_everything_after_the_last_ack_is_resent() -> None:
    ids = phones(2)
    async with ProtocolServer({p.token: p.device for p in ids}) as server:
        fleet = Fleet(ids, url=server.url, config=FAST, link={"backoff_initial": 0.05, "drain_timeout": 10})
        async with running(fleet):
            await server.wait_for(lambda: all(len(server.received[p.device].acks) >= 10 for p in ids))
            server.hold_acks = True  # the broker stops confirming: the gateway receives but cannot ack
            acked = {p.device: server.received[p.device].acks[-1] for p in ids}
            seen = {p.device: len(server.received[p.device].seqs) for p in ids}
            await server.wait_for(lambda: all(len(server.received[p.device].seqs) >= seen[p.device] + 20
                                              for p in ids))
            unacked = {p.device: {s for s in server.received[p.device].seqs if s > acked[p.device]} for p in ids}
            server.hold_acks = False
            await server.disconnect()  # the gateway restarts
            await server.wait_for(lambda: all(server.received[p.device].connections >= 2
                                              and server.received[p.device].acks
                                              and server.received[p.device].acks[-1] > max(unacked[p.device])
                                              for p in ids))
    for phone in fleet.phones:
        got = server.received[phone.identity.device]
        counts: dict[int, int] = {}
        for seq in got.seqs:
            counts[seq] = counts.get(seq, 0) + 1
        twice = {s for s, c in counts.items() if c > 1}
        # Exactly what was sent but not acked came again (the last ack itself never does) ...
        assert twice and twice <= unacked[phone.identity.device]
        assert min(twice) > acked[phone.identity.device]
        # ... and after the drain every generated item arrived and was acked.
        assert set(counts) == set(range(phone.next_seq - len(counts), phone.next_seq))
        assert phone.link.unacked == 0 and phone.link.stats.resent >= len(twice)
        assert phone.link.stats.connects >= 2 and phone.link.stats.close_codes.get("1012", 0) >= 1


async def test_error_frames_count_as_rejected_not_delivered() -> None:
    ids = phones(1)
    server = ProtocolServer({ids[0].token: ids[0].device})
    async with server:
        fleet = Fleet(ids, url=server.url, config=SignalConfig(rate=50.0, audio_rate=0), link={"drain_timeout": 10})
        server.reject = {fleet.phones[0].next_seq + 3, fleet.phones[0].next_seq + 7}
        async with running(fleet):
            await server.wait_for(lambda: len(server.received[ids[0].device].packets) >= 20)
    link = fleet.phones[0].link
    assert link.stats.errors == 2 and link.stats.rejected == 2
    assert [e["field"] for e in link.errors] == ["magnetometer.x", "magnetometer.x"]
    assert link.stats.acked_packets == fleet.phones[0].packets - 2 == len(server.received[ids[0].device].packets)


async def test_an_unknown_token_is_refused_with_4401_and_retried_without_sending_data() -> None:
    ids = phones(1)
    async with ProtocolServer({}) as server:
        fleet = Fleet(ids, url=server.url, config=FAST, link={"backoff_max": 0.2, "drain_timeout": 0.5})
        async with running(fleet):
            await asyncio.sleep(0.8)
    stats = fleet.phones[0].link.stats
    assert stats.close_codes.get("4401", 0) >= 2 and stats.connects == 0 and stats.items_sent == 0
    assert fleet.phones[0].link.unacked > 0  # kept for when the token works again


async def test_frames_respect_max_frame_bytes_while_catching_up() -> None:
    ids = phones(1)
    async with ProtocolServer({ids[0].token: ids[0].device}, max_frame_bytes=2_000) as server:
        fleet = Fleet(ids, url=server.url, config=SignalConfig(rate=100.0, audio_rate=8_000),
                      link={"batch": 1, "resend_batch": 50, "backoff_initial": 0.05, "drain_timeout": 10})
        async with running(fleet):
            await server.wait_for(lambda: len(server.received[ids[0].device].acks) >= 5)
            server.hold_acks = True
            await server.wait_for(lambda: len(server.received[ids[0].device].packets) >= 60)
            server.hold_acks = False
            await server.disconnect()
            await server.wait_for(lambda: server.received[ids[0].device].connections >= 2)
    link = fleet.phones[0].link
    assert max(server.frame_sizes) <= 2_000
    assert any(size > 1_000 for size in server.frame_sizes)  # backlog went out in arrays, not one by one
    assert "1009" not in link.stats.close_codes
    assert link.stats.dropped == fleet.phones[0].chunks  # 8 kB audio chunks can never fit: dropped, counted
    assert link.stats.acked_packets == fleet.phones[0].packets


async def test_a_phone_without_a_server_keeps_a_bounded_buffer_dropping_the_oldest() -> None:
    ids = phones(1)
    fleet = Fleet(ids, url="ws://127.0.0.1:9/api/v1/sensors/ws", config=SignalConfig(rate=200.0, audio_rate=0),
                  link={"max_buffer_items": 50, "backoff_max": 0.1, "drain_timeout": 0.1})
    async with running(fleet):
        while fleet.phones[0].packets < 120:  # noqa: ASYNC110 (the phone's own counter, no event to wait on)
            await asyncio.sleep(0.05)
    link = fleet.phones[0].link
    assert link.unacked == 50
    assert link.stats.dropped == fleet.phones[0].packets - 50
    assert link.stats.connects == 0 and link.stats.close_codes


async def test_a_normal_close_by_the_server_is_followed_by_a_reconnect() -> None:
    ids = phones(1)
    async with ProtocolServer({ids[0].token: ids[0].device}) as server:
        fleet = Fleet(ids, url=server.url, config=FAST, link={"backoff_initial": 0.05, "drain_timeout": 10})
        async with running(fleet):
            await server.wait_for(lambda: len(server.received[ids[0].device].acks) >= 3)
            await server.disconnect(code=1000)
            await server.wait_for(lambda: server.received[ids[0].device].connections >= 2
                                  and len(server.received[ids[0].device].acks) >= 10)
    assert fleet.phones[0].link.stats.close_codes.get("1000") == 1
    assert fleet.phones[0].link.unacked == 0
