"""phonesim for other services' tests: ``async with run_phonesim(identities, url) as fleet: …``.

Example (against a running ingest-sensors, with devices and tokens created by the test)::

    async with run_phonesim([PhoneIdentity(device_id, token)], url, rate=20) as fleet:
        ...                      # fleet.phones[0].link.stats.acked_packets, fleet.stats()
    # leaving the block stops sampling and drains what is unacked (up to drain_timeout)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from vigia.simulators.phonesim.fleet import Fleet, PhoneIdentity
from vigia.simulators.phonesim.signals import SignalConfig
from vigia.simulators.phonesim.truth import TruthLog

__all__ = ["PhoneIdentity", "SignalConfig", "run_phonesim"]


@asynccontextmanager
async def run_phonesim(identities: list[PhoneIdentity], url: str, *, config: SignalConfig | None = None,
                       seed: int = 1, truth: Path | None = None, drain_timeout: float = 10.0,
                       **link: Any) -> AsyncIterator[Fleet]:
    """Stream ``identities`` to ``url`` for the duration of the block (ground truth to ``truth``)."""
    log = TruthLog(truth) if truth is not None else None
    fleet = Fleet(identities, url=url, config=config, seed=seed, truth=log,
                  link={"drain_timeout": drain_timeout, **link})
    task = asyncio.create_task(fleet.run())
    try:
        yield fleet
    finally:
        fleet.stop()
        await task
        if log is not None:
            log.close()
