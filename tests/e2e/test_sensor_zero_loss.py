"""Zero loss (issue #4 acceptance): 200 simulated phones stream for a minute while the fusion
worker is killed with SIGKILL and started again and the gateway is restarted (SIGTERM, then
started again on the same port: the phones reconnect and resend what was not acknowledged).
Afterwards every packet the gateway acknowledged is a telemetry row, stored once, and no row
exists that was not acknowledged.

ingest-sensors and fusion run as real processes (``python -m``) on a database, a broker vhost and a
Redis database of their own; the phones are phonesim's, in this process. The acknowledged sequence
numbers are recorded on the client side, ack by ack, from each phone's link.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

from tests.e2e.sensor_stack import Phone, SensorStack, add_phones, sensor_stack, wait_for
from tests.support.phones import record_acks
from vigia.simulators.phonesim.testing import PhoneIdentity, SignalConfig, run_phonesim

PHONES = int(os.environ.get("VIGIA_E2E_ZERO_LOSS_PHONES", "200"))
RATE_HZ = float(os.environ.get("VIGIA_E2E_ZERO_LOSS_RATE", "5"))
LOAD_S = float(os.environ.get("VIGIA_E2E_ZERO_LOSS_SECONDS", "60"))


def stored(stack: SensorStack, org: uuid.UUID) -> tuple[int, int]:
    """(rows, distinct (device, seq)) of the organization's telemetry."""
    rows = stack.sql("SELECT count(*), count(DISTINCT (device_id, seq)) FROM telemetry WHERE org_id = %s", org)
    return int(rows[0][0]), int(rows[0][1])


async def restart(stack: SensorStack, service: str, *, kill: bool) -> None:
    """SIGKILL (``kill``) or SIGTERM ``service``, then start it again and wait until it is ready."""
    if kill:
        await asyncio.to_thread(stack.kill, service)
    else:
        code = await asyncio.to_thread(stack.stop, service)
        # uvicorn re-raises the SIGTERM it handled once its graceful shutdown is done
        assert code in (0, -signal.SIGTERM), f"{service} exited {code} on SIGTERM:\n{stack.tail(service)}"
    stack.start(service)
    await asyncio.to_thread(stack.wait_ready, service)


async def test_every_acknowledged_packet_is_stored_once_through_a_fusion_kill_and_a_gateway_restart(
        amqp_url: str, tmp_path: Path) -> None:
    started = time.monotonic()
    with sensor_stack(tmp_path, amqp_url, services=("ingest-sensors", "fusion"),
                      env={"fusion": {"VIGIA_FUSION_BATCH_LINGER_MS": "50"}}) as stack:
        phones: list[Phone] = add_phones(stack.database_url, PHONES)
        org = phones[0].org
        acked: dict[str, set[int]] = {str(p.device): set() for p in phones}
        config = SignalConfig(rate=RATE_HZ, audio_rate=0)  # telemetry is what must not be lost
        identities = [PhoneIdentity(str(p.device), p.token) for p in phones]
        async with run_phonesim(identities, stack.sensors_ws, config=config, drain_timeout=60.0,
                                backoff_max=2.0, auth="query") as fleet:
            for phone in fleet.phones:
                record_acks(phone.link, acked[phone.identity.device])
            load_started = time.monotonic()

            async def at(offset: float) -> None:
                await asyncio.sleep(max(0.0, load_started + offset - time.monotonic()))

            await at(LOAD_S * 0.25)
            rows_before_kill = stored(stack, org)[0]
            assert rows_before_kill > 0, stack.tails("ingest-sensors", "fusion")
            await restart(stack, "fusion", kill=True)
            await at(LOAD_S * 0.5)
            await restart(stack, "ingest-sensors", kill=False)
            await at(LOAD_S)
            stack.assert_alive()
        # Leaving the block stopped sampling and waited for the phones to drain their buffers.

        stats = fleet.stats()["totals"]
        packets_made = sum(p.packets for p in fleet.phones)
        assert stats["unacked"] == 0 and stats["dropped"] == 0, stats
        assert stats["rejected"] == 0 and stats["errors"] == 0, stats
        assert sum(len(s) for s in acked.values()) == stats["acked_packets"] == packets_made, stats
        # The disruptions reached the phones: every one was closed by the restart and reconnected.
        assert stats["disconnects"] >= PHONES and stats["connects"] >= 2 * PHONES, stats

        total = stats["acked_packets"]
        # fusion commits within a second; anything late (a duplicate) would show meanwhile
        with contextlib.suppress(AssertionError):  # the comparison below says what is missing
            wait_for(lambda: stored(stack, org)[0] >= total, 60, "the telemetry rows", interval=0.5)
        await asyncio.sleep(1.0)
        rows = stored(stack, org)
        assert rows == (total, total), f"rows, distinct (device, seq) = {rows}; acknowledged = {total}"
        by_device: dict[str, set[int]] = {d: set() for d in acked}
        for device, seq in stack.sql("SELECT device_id, seq FROM telemetry WHERE org_id = %s", org):
            by_device[str(device)].add(int(seq))
        assert by_device == acked
        stack.assert_alive()
    print(f"zero loss: {total} packets from {PHONES} phones in {time.monotonic() - started:.1f} s; {stats}")
