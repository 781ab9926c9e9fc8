"""How long an organization keeps what identifies people and vehicles (LGPD): its passages, its
snapshots (frames and crops) and its events' evidence bundles (video, audio, sensor readings),
and the record of the notifications sent for it (deliveries and their attempts: recipients' phone
numbers and addresses). Each organization may set them under ``retention`` in its ``settings``
JSON (``PATCH /api/v1/organization/settings``); absent, the installation's defaults apply:
``VIGIA_RETENTION_PASSAGES_DAYS`` for passages, ``VIGIA_RETENTION_NOTIFICATIONS_DAYS`` for
notifications, ``VIGIA_RETENTION_EVIDENCE_DAYS`` for evidence, the snapshots bucket's lifecycle
(:data:`vigia.common.storage.BUCKETS`, 30 days) for snapshots, which is also their longest: the
bucket's rule deletes older ones whatever an organization says.

The watchdog's janitor (``vigia.watchdog.janitor.OrganizationRetention``) applies them; control's
settings API validates and shows them. Snapshot keys are laid out by day,
``<org>/<camera>/<YYYY>/<MM>/<DD>/...`` (:func:`snapshot_day_prefix`), so the janitor finds an
organization's expired snapshots by listing the days past its retention, not the whole bucket.
Evidence bundles are laid out by event, ``<org>/<event>/...`` (:func:`evidence_prefix`): the janitor
lists the organization's and deletes each bundle written before its retention, whole, manifest
first (a bundle without its manifest reads as not ready, never as complete).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeGuard

from vigia.common.storage import BUCKETS

SNAPSHOTS = "snapshots"
EVIDENCE = "evidence"
PASSAGES_DAYS_MAX = 3650
NOTIFICATIONS_DAYS_MAX = 3650
NOTIFICATIONS_DAYS_DEFAULT = 90
EVIDENCE_DAYS_MAX = 3650
EVIDENCE_DAYS_DEFAULT = 365
#: Face sightings (vigia.common.faces) are kept this many days unless the organization says.
SIGHTINGS_DAYS_DEFAULT, SIGHTINGS_DAYS_MAX = 30, 365
ENROLMENT_DAYS_MAX = 3650
SNAPSHOTS_DAYS_MAX: int = BUCKETS[SNAPSHOTS] or 30


@dataclass(frozen=True)
class OrganizationRetention:
    """Days an organization keeps its passages, its snapshots, its notification deliveries and its
    events' evidence bundles."""

    passages_days: int
    snapshots_days: int
    notifications_days: int = NOTIFICATIONS_DAYS_DEFAULT
    evidence_days: int = EVIDENCE_DAYS_DEFAULT


def _days(value: Any, default: int, most: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= most:
        return value
    return default


def organization_retention(settings: Any, default_passages_days: int,
                           default_notifications_days: int = NOTIFICATIONS_DAYS_DEFAULT,
                           default_evidence_days: int = EVIDENCE_DAYS_DEFAULT) -> OrganizationRetention:
    """The retention of an organization whose ``settings`` JSON is given (bad or absent values:
    the defaults)."""
    retention = settings.get("retention") if isinstance(settings, dict) else None
    retention = retention if isinstance(retention, dict) else {}
    return OrganizationRetention(
        passages_days=_days(retention.get("passages_days"), default_passages_days, PASSAGES_DAYS_MAX),
        snapshots_days=_days(retention.get("snapshots_days"), SNAPSHOTS_DAYS_MAX, SNAPSHOTS_DAYS_MAX),
        notifications_days=_days(retention.get("notifications_days"), default_notifications_days,
                                 NOTIFICATIONS_DAYS_MAX),
        evidence_days=_days(retention.get("evidence_days"), default_evidence_days, EVIDENCE_DAYS_MAX))


def snapshot_day_prefix(org: uuid.UUID | str, camera: uuid.UUID | str, day: date) -> str:
    """The key prefix of one camera's snapshots of one (UTC) day, as vision stores them."""
    return f"{org}/{camera}/{day:%Y/%m/%d}/"


def snapshot_day(captured_at: datetime, now: datetime | None = None) -> date:
    """The (UTC) day a snapshot is filed under: its frame's capture day, never later than the day
    it is stored, so a camera whose clock runs ahead cannot file it where the janitor looks only
    later (a frame older than vision's TTL is never stored, so it is never much earlier either)."""
    return min(captured_at, now or datetime.now(UTC)).astimezone(UTC).date()


def evidence_prefix(org: uuid.UUID | str, event: uuid.UUID | str | None = None) -> str:
    """The key prefix of one event's evidence bundle in the ``evidence`` bucket (of all the
    organization's bundles without ``event``)."""
    return f"{org}/" if event is None else f"{org}/{event}/"


@dataclass(frozen=True)
class FacesPolicy:
    """``store_unknown``: faces matching nobody enrolled are published (and so kept) too; off by
    default, when only enrolled people's sightings exist. ``sightings_days``: how long sightings
    are kept. ``enrolment_days``: an enrolled person not renewed (consent note or photo) for this
    long is erased with their photos and sightings; None: kept until deleted."""

    store_unknown: bool = False
    sightings_days: int = SIGHTINGS_DAYS_DEFAULT
    enrolment_days: int | None = None


def faces_policy(org_settings: Any) -> FacesPolicy:
    """The policy of an organization's ``settings`` JSON (defaults for what is missing or odd)."""
    raw = org_settings.get("faces") if isinstance(org_settings, dict) else None
    raw = raw if isinstance(raw, dict) else {}
    days, enrolment = raw.get("sightings_days"), raw.get("enrolment_days")
    return FacesPolicy(store_unknown=raw.get("store_unknown") is True,
                       sightings_days=days if _whole(days, SIGHTINGS_DAYS_MAX) else SIGHTINGS_DAYS_DEFAULT,
                       enrolment_days=enrolment if _whole(enrolment, ENROLMENT_DAYS_MAX) else None)


def _whole(value: Any, most: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= most
