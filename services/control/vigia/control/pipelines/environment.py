"""What a pipeline's plan needs from its organization to compile — time zone, escalation delay,
the cameras' zones and lines, the watch-lists its plate_match nodes name — read from the database
(control's dry runs and execute; the automation runtime reads the same tables)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db.models import Q

from vigia.common.pipelines import Plan
from vigia.control.cameras.models import Camera
from vigia.control.tenancy.models import Organization
from vigia.control.watchlists.models import PlateWatchlist, PlateWatchlistEntry

DEFAULT_ESCALATION_DELAY_S = 300.0


def _watchlist_names(graph: Mapping[str, Any]) -> set[str]:
    return {str(name) for node in graph.get("nodes") or [] if node.get("type") == "plate_match"
            for name in (node.get("config") or {}).get("watchlists") or []}


def watchlists_of(org_id: uuid.UUID, names: set[str]) -> dict[str, dict[str, Any]]:
    """The organization's watch-lists called (or with the id) ``names``, by id, with their entries."""
    if not names:
        return {}
    ids = set()
    for name in names:
        try:
            ids.add(uuid.UUID(name))
        except ValueError:
            continue
    lists: dict[uuid.UUID, dict[str, Any]] = {w.id: {"id": str(w.id), "name": w.name, "kind": w.kind, "entries": {}}
             for w in PlateWatchlist.objects.filter(Q(name__in=names) | Q(id__in=ids), org_id=org_id)}
    for watchlist, plate, label, expires_at in PlateWatchlistEntry.objects.filter(
            watchlist_id__in=list(lists)).values_list("watchlist_id", "plate", "label", "expires_at"):
        entries: dict[str, Any] = lists[watchlist]["entries"]
        entries[plate] = {"label": label,
                                              "expires_at": expires_at.isoformat() if expires_at else None}
    return {str(key): value for key, value in lists.items()}


def zones_of(org_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """Zones and lines of the organization's cameras that have any, by camera id."""
    rows = Camera.objects.filter(org_id=org_id).exclude(zones=[], lines=[]).values_list("id", "zones", "lines")
    return {str(camera): {"zones": zones, "lines": lines} for camera, zones, lines in rows}


def compile_plan(pipeline: uuid.UUID, org: Organization, version: int, graph: Mapping[str, Any]) -> Plan:
    """The plan of ``graph`` in ``org``'s environment; raises GraphError naming the node/field."""
    settings = org.settings if isinstance(org.settings, dict) else {}
    return Plan.compile(pipeline, org.id, version, graph, time_zone=org.time_zone,
                        watchlists=watchlists_of(org.id, _watchlist_names(graph)), zones=zones_of(org.id),
                        escalation_delay_s=float(settings.get("escalation_delay_s") or DEFAULT_ESCALATION_DELAY_S))
