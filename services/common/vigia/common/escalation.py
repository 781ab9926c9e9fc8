"""Events left unacknowledged: each organization's escalation delay and the query that finds them.

Operators acknowledge (or resolve) events through control (``POST /api/v1/events/{id}/acknowledge/``,
``.../resolve/``, ``/api/v1/events/bulk/``); until then an event's ``status`` is ``open``. An
organization's escalation delay is ``escalation_delay_s`` in its ``settings`` JSON, which its admins
set through ``PATCH /api/v1/organization/settings`` (10 s to 7 days), and
:data:`ESCALATION_DELAY_DEFAULT_S` when absent. A pipeline's ``event`` input with
``unacknowledged_for`` (default: that delay) escalates the events :func:`unacknowledged_before`
finds; the query runs on the ``events_org_status_time`` index ``(org_id, status, time)``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from vigia.common.db import events

ESCALATION_DELAY_DEFAULT_S = 300


def escalation_delay_s(settings: Any) -> int:
    """The escalation delay (s) of an organization whose ``settings`` JSON is given."""
    value = settings.get("escalation_delay_s") if isinstance(settings, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else ESCALATION_DELAY_DEFAULT_S


def unacknowledged_before(org: uuid.UUID, started_before: datetime, *, limit: int = 500) -> Select[Any]:
    """The organization's events still open (nobody acknowledged or resolved them) that started at
    or before ``started_before`` (aware UTC: now minus the delay), oldest first."""
    return (select(events.c.id, events.c.time, events.c.event_type, events.c.severity, events.c.score,
                   events.c.site, events.c.description, events.c.occurrences)
            .where(events.c.org_id == org, events.c.status == "open", events.c.time <= started_before)
            .order_by(events.c.time, events.c.id).limit(limit))
