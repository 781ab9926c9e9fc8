"""vigia.common.privacy: an organization's retention read from its settings, and the snapshot key
layout its janitor lists."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from vigia.common.privacy import snapshot_day, snapshot_day_prefix


def test_a_snapshot_is_filed_under_its_capture_day_but_never_later_than_today() -> None:
    now = datetime(2026, 3, 10, 0, 0, 3, tzinfo=UTC)
    assert snapshot_day(now - timedelta(seconds=5), now) == date(2026, 3, 9)  # captured before midnight
    assert snapshot_day(now + timedelta(days=2), now) == date(2026, 3, 10)    # a camera's clock ahead
    org, camera = uuid.uuid4(), uuid.uuid4()
    assert snapshot_day_prefix(org, camera, date(2026, 3, 9)) == f"{org}/{camera}/2026/03/09/"

