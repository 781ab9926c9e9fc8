"""The read queries that are more than a filtered list: tolerant plate search and the dashboard
analytics. Each is a handful of single aggregate statements scoped to one organization."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import Count, Max, QuerySet
from django.db.models.functions import TruncHour

from vigia.control.devices.models import Device, DeviceStatus
from vigia.control.observations.models import Detection, Event, Severity

PlateMatches = QuerySet[Detection]

# --- plate search -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlateQuery:
    plate: str
    threshold: float
    camera: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def set_similarity_threshold(threshold: float) -> None:
    """Set ``pg_trgm.similarity_threshold`` for the current transaction only.

    The ``%`` operator compares against this setting, and only ``%`` (not ``similarity() > x``)
    can be answered by the GIN trigram index, so the threshold must live here.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(threshold)])


def plate_matches(org_id: uuid.UUID, query: PlateQuery) -> PlateMatches:
    """Detections of the org whose plate is trigram-similar to ``query.plate`` (normalised),
    best match first, then newest. Call :func:`set_similarity_threshold` in the same transaction."""
    queryset = Detection.objects.filter(org_id=org_id, plate_text__trigram_similar=query.plate)
    if query.camera is not None:
        queryset = queryset.filter(camera_id=query.camera)
    if query.since is not None:
        queryset = queryset.filter(time__gte=query.since)
    if query.until is not None:
        queryset = queryset.filter(time__lt=query.until)
    return queryset.annotate(similarity=TrigramSimilarity("plate_text", query.plate))


def plate_candidates(matches: PlateMatches, limit: int) -> list[dict[str, Any]]:
    """Distinct matching plates: similarity, number of sightings and last sighting."""
    # django-stubs cannot see the `similarity` annotation added by plate_matches.
    rows = (matches.values("plate_text", "similarity")  # type: ignore[misc]
            .annotate(detections=Count("id"), last_seen=Max("time"))
            .order_by("-similarity", "-last_seen")[:limit])
    return list(rows)


# --- analytics -----------------------------------------------------------------------------------


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def dashboard_analytics(org_id: uuid.UUID, hours: int, now: datetime) -> dict[str, Any]:
    """Detections per hour (every hour of the window, zeros included) and per camera, events by
    severity over the last ``hours`` hours, and the devices' current status mix.

    The window is ``hours`` whole UTC hours ending with the current (partial) one.
    """
    start = _hour(now) - timedelta(hours=hours - 1)
    end = _hour(now) + timedelta(hours=1)
    detections = Detection.objects.filter(org_id=org_id, time__gte=start, time__lt=end)

    per_hour = {row["hour"]: row["count"] for row in
                detections.annotate(hour=TruncHour("time")).values("hour")
                .annotate(count=Count("id")).order_by()}
    hourly = [{"hour": (start + timedelta(hours=i)).isoformat().replace("+00:00", "Z"),
               "count": per_hour.get(start + timedelta(hours=i), 0)} for i in range(hours)]

    per_camera_rows = list(detections.values("camera_id").annotate(count=Count("id"))
                           .order_by("-count", "camera_id")[:100])
    names = _camera_names(org_id, [row["camera_id"] for row in per_camera_rows])
    per_camera = [{"camera": str(row["camera_id"]), "name": names.get(row["camera_id"]),
                   "count": row["count"]} for row in per_camera_rows]

    severities = {value: 0 for value in Severity.values}
    for row in (Event.objects.filter(org_id=org_id, time__gte=start, time__lt=end)
                .values("severity").annotate(count=Count("id")).order_by()):
        severities[row["severity"]] = row["count"]

    statuses = {value: 0 for value in DeviceStatus.values}
    for status_row in Device.objects.filter(org_id=org_id).values("status").annotate(count=Count("id")).order_by():
        statuses[status_row["status"]] = status_row["count"]

    return {
        "hours": hours,
        "since": start.isoformat().replace("+00:00", "Z"),
        "until": end.isoformat().replace("+00:00", "Z"),
        "detections_total": sum(per_hour.values()),
        "detections_per_hour": hourly,
        "detections_per_camera": per_camera,
        "events_total": sum(severities.values()),
        "events_by_severity": severities,
        "devices_total": sum(statuses.values()),
        "devices_by_status": statuses,
    }


def _camera_names(org_id: uuid.UUID, camera_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not camera_ids:
        return {}
    from vigia.control.cameras.models import Camera

    return dict(Camera.objects.filter(org_id=org_id, id__in=camera_ids).values_list("id", "name"))
