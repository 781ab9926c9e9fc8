"""vigia.common.privacy: an organization's retention read from its settings, and the snapshot key
layout its janitor lists."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from vigia.common.privacy import organization_retention, snapshot_day, snapshot_day_prefix


def test_a_snapshot_is_filed_under_its_capture_day_but_never_later_than_today() -> None:
    now = datetime(2026, 3, 10, 0, 0, 3, tzinfo=UTC)
    assert snapshot_day(now - timedelta(seconds=5), now) == date(2026, 3, 9)  # captured before midnight
    assert snapshot_day(now + timedelta(days=2), now) == date(2026, 3, 10)    # a camera's clock ahead
    org, camera = uuid.uuid4(), uuid.uuid4()
    assert snapshot_day_prefix(org, camera, date(2026, 3, 9)) == f"{org}/{camera}/2026/03/09/"



def test_bad_or_absent_retention_values_fall_back_to_the_defaults() -> None:
    keep = organization_retention({"retention": {"passages_days": 7, "snapshots_days": 0, "evidence_days": True}},
                                  default_passages_days=90, default_notifications_days=60, default_evidence_days=365)
    assert (keep.passages_days, keep.snapshots_days, keep.notifications_days, keep.evidence_days) == (7, 30, 60, 365)
    keep = organization_retention(None, default_passages_days=90, default_evidence_days=30)
    assert (keep.passages_days, keep.evidence_days) == (90, 30)
    assert organization_retention({"retention": {"evidence_days": 400}}, 90).evidence_days == 400
