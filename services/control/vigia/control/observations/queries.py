"""The read queries that are more than a filtered list: tolerant plate search and the dashboard
analytics. Each is a handful of single aggregate statements scoped to one organization."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncHour

from vigia.control.core.rows import fetch_dicts, select_list
from vigia.control.devices.models import Device, DeviceStatus
from vigia.control.observations.models import Detection, Event, Severity

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


# What a detection's representation reads, by column (attribute) name.
DETECTION_COLUMNS = ("id", "camera_id", "frame_id", "time", "label", "confidence", "box", "plate_text",
                     "plate_confidence", "track", "snapshot_key", "crop_key", "received_at")
_DETECTION_SELECT = select_list(Detection, DETECTION_COLUMNS)


def plate_filter(org_id: uuid.UUID, query: PlateQuery) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) selecting the org's detections whose plate is
    trigram-similar to ``query.plate``: ``%`` against ``pg_trgm.similarity_threshold``, which the
    GIN trigram index answers. Call :func:`set_similarity_threshold` in the same transaction."""
    where, params = ['"detections"."org_id" = %s', '"detections"."plate_text" %% %s'], [org_id, query.plate]
    for condition, value in (('"detections"."camera_id" = %s', query.camera),
                             ('"detections"."time" >= %s', query.since), ('"detections"."time" < %s', query.until)):
        if value is not None:
            where.append(condition)
            params.append(value)
    return " AND ".join(where), params


def plate_matches_sql(org_id: uuid.UUID, query: PlateQuery, limit: int) -> tuple[str, list[Any]]:
    """The matching detections (:data:`DETECTION_COLUMNS` and ``similarity``), best match first,
    then newest. Written out, not built with the ORM: see :mod:`vigia.control.core.rows`."""
    where, params = plate_filter(org_id, query)
    # Table and column names come from the model; every value is a parameter.
    return (f'SELECT {_DETECTION_SELECT}, SIMILARITY("detections"."plate_text", %s) AS "similarity" '  # noqa: S608
            f'FROM "detections" WHERE {where} ORDER BY "similarity" DESC, "detections"."time" DESC, '
            f'"detections"."id" DESC LIMIT %s', [query.plate, *params, limit])


def plate_matches(org_id: uuid.UUID, query: PlateQuery, limit: int) -> list[dict[str, Any]]:
    """Rows of :func:`plate_matches_sql`, as ``values()`` reads them (``box`` decoded)."""
    return fetch_dicts(*plate_matches_sql(org_id, query, limit), json_columns=("box",))


def plate_candidates(org_id: uuid.UUID, query: PlateQuery, limit: int) -> list[dict[str, Any]]:
    """Distinct matching plates: similarity, number of sightings and last sighting; most similar
    first, then latest seen."""
    where, params = plate_filter(org_id, query)
    return fetch_dicts(
        'SELECT "detections"."plate_text", SIMILARITY("detections"."plate_text", %s) AS "similarity", '  # noqa: S608
        'COUNT("detections"."id") AS "detections", MAX("detections"."time") AS "last_seen" '
        f'FROM "detections" WHERE {where} GROUP BY 1, 2 ORDER BY 2 DESC, 4 DESC LIMIT %s',
        [query.plate, *params, limit])


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
