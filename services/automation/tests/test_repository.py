"""The runtime's repository on the real database: tasks that share one take turns on its connection."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg

from vigia.automation.repository import Repository


async def test_probes_and_pings_at_once_on_one_repository_all_answer(database_url: str,
                                                                     db: psycopg.Connection[Any]) -> None:
    # What the runtime does when it takes several shards in the same instant while its database
    # watch pings: every call opens a transaction on the one connection.
    org = uuid.uuid4()
    db.execute("INSERT INTO organizations (id, name, slug, time_zone, settings, created_at) "
               "VALUES (%s, 'turns', %s, 'America/Sao_Paulo', '{}', now())", (org, f"turns-{org.hex[:8]}"))
    repository = Repository(database_url)
    try:
        assert await repository.ping()  # the one connection, opened
        answers = await asyncio.gather(*(repository.organizations_running() for _ in range(6)),
                                       *(repository.ping() for _ in range(6)),
                                       *(repository.organization(org) for _ in range(4)))
    finally:
        await repository.close()
        db.execute("DELETE FROM organizations WHERE id = %s", (org,))
    running, pings, orgs = answers[:6], answers[6:12], answers[12:]
    assert all(r == running[0] for r in running) and pings == [True] * 6
    assert [o.time_zone for o in orgs] == ["America/Sao_Paulo"] * 4
