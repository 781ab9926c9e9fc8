"""Migration ``outbox.0003_redact_camera_urls`` on the real PostgreSQL: camera messages written
when they still carried the RTSP URL lose it, published or not; nothing else changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from vigia.common.ids import uuid7
from vigia.common.messages import make
from vigia.control.outbox.models import OutboxMessage
from vigia.control.tenancy.models import Organization

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("outbox", "0002_next_attempt_at")]
AFTER = [("outbox", "0003_redact_camera_urls")]
LEGACY_URL = "rtsp://user:s3cret@10.0.0.7:554/stream1"


def _legacy_body(message_type: str, org: Organization, data: dict[str, Any]) -> bytes:
    """An envelope as control wrote it before: the camera data with ``rtsp_url`` in clear."""
    envelope = orjson.loads(make(message_type, org.pk, "control", data).to_json())
    envelope["data"] = {**envelope["data"], **({"rtsp_url": LEGACY_URL} if "name" in data else {})}
    return orjson.dumps(envelope)


def test_the_migration_removes_urls_from_published_and_pending_camera_messages(org: Organization) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        historical = executor.loader.project_state(BEFORE).apps.get_model("outbox", "OutboxMessage")
        camera = {"camera": str(uuid7()), "name": "gate", "fps": 2.0, "enabled": True, "site": "hq", "version": 3}
        rows = {
            "published": ("camera.created", camera, datetime(2026, 1, 1, tzinfo=UTC)),
            "pending": ("camera.updated", camera, None),
            "deleted": ("camera.deleted", {"camera": camera["camera"]}, None),
            "restart": ("camera.restart", {"camera": camera["camera"], "reason": "frozen"}, None),
        }
        ids = {}
        for name, (message_type, data, published_at) in rows.items():
            ids[name] = historical.objects.create(
                id=uuid7(), org_id=org.pk, type=message_type, exchange="vigia.control",
                routing_key=message_type, body=_legacy_body(message_type, org, data), published_at=published_at).id
        untouched = {name: bytes(historical.objects.get(id=ids[name]).body) for name in ("deleted", "restart")}

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    for name in ("published", "pending"):
        row = OutboxMessage.objects.get(id=ids[name])
        body = bytes(row.body)
        assert b"s3cret" not in body and b"rtsp" not in body
        # make() fills the defaults
        assert orjson.loads(body)["data"] == {**camera, "zones": [], "lines": [], "faces": False}
    assert OutboxMessage.objects.get(id=ids["published"]).published_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert OutboxMessage.objects.get(id=ids["pending"]).published_at is None
    for name, body in untouched.items():
        assert bytes(OutboxMessage.objects.get(id=ids[name]).body) == body
