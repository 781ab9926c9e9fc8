"""The runtime's repository on the real database: tasks that share one take turns on its connection."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg

from services.automation.tests.support import new_org, new_pipeline, rows
from vigia.automation.repository import BatchWrite, Repository


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


async def test_counters_keep_each_nodes_latest_error_across_batches(database_url: str,
                                                                   db: psycopg.Connection[Any]) -> None:
    org = new_org(db)
    pipeline = new_pipeline(db, org, {"nodes": [], "edges": []})
    early, late = datetime(2026, 12, 6, 2, 0, tzinfo=UTC), datetime(2026, 12, 6, 2, 1, tzinfo=UTC)
    repository = Repository(database_url)
    try:
        for failed in (("KeyError: 'x1'", late), ("KeyError: 'y1'", early), None):
            write = BatchWrite()  # a batch whose input is older than the last error does not replace it
            write.count(org, pipeline, "zone", 1, 0, 1 if failed else 0, None, failed)
            await repository.commit(write)
    finally:
        await repository.close()
    assert rows(db, "SELECT inputs, errors, last_error, last_error_at FROM pipeline_node_counters "
                    "WHERE pipeline_id = %s", pipeline) == [(3, 2, "KeyError: 'x1'", late)]
