"""Device health against real PostgreSQL, Redis and RabbitMQ: transitions published once each,
statuses and last_seen written to the device rows, state carried across restarts, leader only."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import Engine, select, update

from services.watchdog.tests.conftest import AddDevice, MakeHealth, Taps
from vigia.common.db import devices
from vigia.common.messages import format_time_ns
from vigia.watchdog.checks import Watchdog
from vigia.watchdog.devices import last_seen_key
from vigia.watchdog.lease import LeaderLease

NS = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = time.time_ns()

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> int:
        self.now += int(seconds * NS)
        return self.now


def row(engine: Engine, device: uuid.UUID) -> tuple[str, datetime | None]:
    with engine.connect() as conn:
        found = conn.execute(select(devices.c.status, devices.c.last_seen).where(devices.c.id == device)).one()
    return found.status, found.last_seen


def transitions(previous: str, status: str) -> float:
    return REGISTRY.get_sample_value("watchdog_device_transitions_total",
                                     {"previous": previous, "status": status}) or 0.0


async def test_silent_device_goes_warning_then_off_and_its_next_packet_brings_it_on_each_told_once(
        add_device: AddDevice, engine: Engine, redis: Redis, taps: Taps, device_health: MakeHealth,
        org: uuid.UUID) -> None:
    device = add_device(status="OFF", interval=1.0)
    clock = Clock()
    check = device_health(clock=clock)
    first = clock.now
    await redis.set(last_seen_key(device), str(first))
    before = transitions("WARNING", "OFF")
    seen: list[tuple[str, str | None]] = []
    for step, expected in [(0, "ON"), (1.5, "ON"), (1.0, "WARNING"), (1.0, "WARNING"), (2.0, "OFF"), (60, "OFF")]:
        clock.advance(step)
        await check.run()
        await check.run()  # twice: a status is told once, however often it is checked
        assert row(engine, device)[0] == expected
        seen += [(m["data"]["status"], m["data"]["previous"]) for m in await taps.take("device_status")]
    assert seen == [("ON", "OFF"), ("WARNING", "ON"), ("OFF", "WARNING")]
    back = clock.advance(0.5)
    await redis.set(last_seen_key(device), str(back))  # the phone reports again
    await check.run()
    await check.run()
    messages = await taps.take("device_status")
    assert [(m["data"]["status"], m["data"]["previous"]) for m in messages] == [("ON", "OFF")]
    assert messages[0]["routing_key"] == f"device.status.{org}.{device}"
    assert messages[0]["type"] == "device.status" and messages[0]["org"] == str(org)
    assert messages[0]["data"]["last_seen"] == format_time_ns(back)
    assert messages[0]["data"]["reason"] == "reporting again"
    assert row(engine, device)[0] == "ON"
    assert transitions("WARNING", "OFF") == before + 1


async def test_the_warning_message_says_how_long_the_device_was_silent(
        add_device: AddDevice, redis: Redis, taps: Taps, device_health: MakeHealth) -> None:
    device = add_device(status="ON", interval=2.0)
    clock = Clock()
    await redis.set(last_seen_key(device), str(clock.now - 6 * NS))
    await device_health(clock=clock).run()
    [message] = await taps.take("device_status")
    assert message["data"]["status"] == "WARNING" and message["data"]["previous"] == "ON"
    assert message["data"]["reason"] == "silent for 6.0 s (reporting interval 2 s)"


async def test_a_restarted_watchdog_carries_on_from_the_stored_status_without_repeating_it(
        add_device: AddDevice, engine: Engine, redis: Redis, taps: Taps, device_health: MakeHealth) -> None:
    device = add_device(status="ON", interval=1.0)
    clock = Clock()
    await redis.set(last_seen_key(device), str(clock.now))
    clock.advance(3)
    await device_health(clock=clock).run()
    assert [m["data"]["status"] for m in await taps.take("device_status")] == ["WARNING"]
    restarted = device_health(clock=clock)  # a new process: nothing in memory
    await restarted.run()
    assert await taps.take("device_status") == []
    clock.advance(3)
    await restarted.run()
    assert [m["data"]["status"] for m in await taps.take("device_status")] == ["OFF"]
    assert row(engine, device)[0] == "OFF"


async def test_last_seen_is_flushed_to_the_device_row_and_only_forward(
        add_device: AddDevice, engine: Engine, redis: Redis, device_health: MakeHealth) -> None:
    stored = datetime.now(UTC) - timedelta(seconds=30)
    device = add_device(status="ON", interval=3600, last_seen=stored)
    quiet = add_device(status="OFF", interval=3600)
    check = device_health(flush_seconds=3600)
    newer = time.time_ns() - 2 * NS
    await redis.set(last_seen_key(device), str(newer))
    await check.run()  # the first run flushes at once
    assert row(engine, device)[1] == datetime.fromtimestamp(newer // 1000 / 1e6, UTC)
    assert row(engine, quiet)[1] is None
    await redis.set(last_seen_key(device), str(newer + NS))
    await check.run()  # not due again for an hour
    assert row(engine, device)[1] == datetime.fromtimestamp(newer // 1000 / 1e6, UTC)
    older = device_health(flush_seconds=0)
    await redis.set(last_seen_key(device), str(newer - 10 * NS))  # a stale value never moves it back
    await older.run()
    assert row(engine, device)[1] == datetime.fromtimestamp(newer // 1000 / 1e6, UTC)


async def test_devices_that_never_reported_only_degrade(
        add_device: AddDevice, engine: Engine, taps: Taps, device_health: MakeHealth) -> None:
    never = add_device(status="OFF", interval=1.0, changed_ago_s=3)  # new, never reported: stays OFF
    manual = add_device(status="ON", interval=1.0, changed_ago_s=3)  # set ON by hand, never reported
    await device_health().run()
    messages = await taps.take("device_status")
    assert [(m["data"]["device"], m["data"]["status"]) for m in messages] == [(str(manual), "WARNING")]
    assert messages[0]["data"]["last_seen"] is None
    assert messages[0]["data"]["reason"].startswith("never reported")
    assert row(engine, never)[0] == "OFF"


async def test_a_floor_under_short_intervals_keeps_fast_phones_from_flapping(
        add_device: AddDevice, redis: Redis, taps: Taps, device_health: MakeHealth) -> None:
    device = add_device(status="ON", interval=0.1)  # 10 Hz, but last_seen is refreshed about once a second
    clock = Clock()
    await redis.set(last_seen_key(device), str(clock.now - int(0.9 * NS)))
    await device_health(clock=clock, min_interval_s=1.0).run()
    assert await taps.take("device_status") == []
    await device_health(clock=clock, min_interval_s=0.0).run()
    assert [m["data"]["status"] for m in await taps.take("device_status")] == ["OFF"]


async def test_reloads_pick_up_new_devices_and_interval_changes(
        add_device: AddDevice, engine: Engine, redis: Redis, taps: Taps, device_health: MakeHealth) -> None:
    clock = Clock()
    first = add_device(status="ON", interval=10.0)
    await redis.set(last_seen_key(first), str(clock.now - 5 * NS))
    check = device_health(clock=clock)
    await check.run()
    assert await taps.take("device_status") == []
    with engine.begin() as conn:
        conn.execute(update(devices).where(devices.c.id == first).values(reporting_interval=2.0))
    second = add_device(status="OFF", interval=1.0)
    await redis.set(last_seen_key(second), str(clock.now))
    await check.run()
    got = {(m["data"]["device"], m["data"]["status"]) for m in await taps.take("device_status")}
    assert got == {(str(first), "WARNING"), (str(second), "ON")}


async def test_only_the_leader_flags_devices_and_a_successor_does_not_repeat_it(
        add_device: AddDevice, redis: Redis, taps: Taps, device_health: MakeHealth) -> None:
    device = add_device(status="ON", interval=1.0)
    await redis.set(last_seen_key(device), str(time.time_ns() - 60 * NS))
    leader = Watchdog([device_health()], LeaderLease(redis, "replica-a", ttl=30), tick=0.1)
    standby = Watchdog([device_health()], LeaderLease(redis, "replica-b", ttl=30), tick=0.1)
    assert await leader.tick() is True
    assert await standby.tick() is False
    assert [m["data"]["status"] for m in await taps.take("device_status")] == ["OFF"]
    leader.stop()
    await leader.run()  # releases the lease
    assert await standby.tick() is True
    assert await taps.take("device_status") == []


async def test_devices_by_status_gauge(add_device: AddDevice, redis: Redis, device_health: MakeHealth) -> None:
    on = add_device(status="OFF", interval=60)
    add_device(status="OFF", interval=60)
    await redis.set(last_seen_key(on), str(time.time_ns()))
    await device_health().run()
    assert REGISTRY.get_sample_value("watchdog_devices", {"status": "ON"}) == 1
    assert REGISTRY.get_sample_value("watchdog_devices", {"status": "OFF"}) == 1
    assert REGISTRY.get_sample_value("watchdog_devices", {"status": "WARNING"}) == 0
