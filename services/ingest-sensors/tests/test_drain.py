"""On SIGTERM the drain's grace is one budget for the whole shutdown: the server drains, then the
app's lifespan drains again; a socket stuck in a send must not make each of them wait in full."""

from __future__ import annotations

import asyncio
from typing import Any

from vigia.ingest_sensors.gateway import SERVICE_RESTART


class StuckSocket:
    """A socket that is asked to close and never does (a send blocked on a phone that stopped reading)."""

    def __init__(self) -> None:
        self.interrupts: list[int] = []

    def interrupt(self, code: int) -> None:
        self.interrupts.append(code)


async def test_a_second_drain_waits_only_for_what_the_first_left(gw: Any) -> None:
    gateway = gw.gateway
    stuck = StuckSocket()
    gateway.opened(stuck)
    assert gateway.drain_left() == gw.settings.shutdown_grace_s  # nothing spent before a drain

    await gateway.drain(0.3)
    assert gateway.draining and stuck in gateway.sockets
    assert gateway.drain_left() == 0.0
    async with asyncio.timeout(10):  # the lifespan's call asks for a minute: the budget is spent
        await gateway.drain(60)
    assert stuck.interrupts == [SERVICE_RESTART]  # asked once, not once per call
    gateway.closed(stuck)


async def test_a_drain_that_empties_the_gateway_leaves_the_rest_of_its_budget(gw: Any) -> None:
    gateway = gw.gateway

    class ClosingSocket(StuckSocket):
        def interrupt(self, code: int) -> None:
            super().interrupt(code)
            asyncio.get_running_loop().call_soon(gateway.closed, self)

    sockets = [ClosingSocket(), ClosingSocket()]
    for socket in sockets:
        gateway.opened(socket)
    async with asyncio.timeout(10):
        await gateway.drain(60)
    assert not gateway.sockets and [s.interrupts for s in sockets] == [[SERVICE_RESTART]] * 2
    assert 0 < gateway.drain_left() <= 60
