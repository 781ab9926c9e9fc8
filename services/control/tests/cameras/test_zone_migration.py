"""Migration ``cameras.0003_normalised_zones_and_lines`` on the real PostgreSQL: pixel zones become
normalised (÷ 1280x720, clamped), zones already within 0-1 are kept, cameras gain empty lines."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from vigia.common.ids import uuid7
from vigia.control.cameras.models import Camera

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("cameras", "0002_camera_health")]
AFTER = [("cameras", "0003_normalised_zones_and_lines")]


def test_pixel_zones_are_normalised_and_normalised_ones_kept(org: Any) -> None:
    pixel = {"name": "door", "points": [[0, 0], [640, 0], [1400, 360], [0, 720]]}
    normalised = {"name": "yard", "points": [[0.1, 0.1], [0.9, 0.1], [0.5, 0.8]]}
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        historical = executor.loader.project_state(BEFORE).apps.get_model("cameras", "Camera")
        camera = historical.objects.create(id=uuid7(), org_id=org.pk, name="gate", rtsp_url_encrypted="x",
                                           zones=[pixel, normalised])
        bare = historical.objects.create(id=uuid7(), org_id=org.pk, name="bare", rtsp_url_encrypted="x")
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    migrated = Camera.objects.get(pk=camera.pk)
    assert migrated.zones == [{"name": "door", "points": [[0, 0], [0.5, 0], [1.0, 0.5], [0, 1.0]]}, normalised]
    assert migrated.lines == [] and Camera.objects.get(pk=bare.pk).lines == []
