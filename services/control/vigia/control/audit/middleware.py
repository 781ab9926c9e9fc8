"""Audit trail of every mutating API request (POST, PUT, PATCH, DELETE under /api/), and of the
reads a view notes as personal-data access (plate searches, passage exports), with their query.

Written *after* the view returned: with ``ATOMIC_REQUESTS`` the view's transaction is already
committed or rolled back by then (Django wraps only the view, not the middleware), so a refused or
failed request (4xx, 5xx) is still recorded. Bodies are never recorded: they carry passwords,
tokens and RTSP credentials. A failure to write the audit row is logged, never turned into an
error for the caller. A request a view noted security events on (:mod:`vigia.control.audit.events`:
sign-ins, failures, lock-outs, unlocks) is one row per event, with the account it concerns. The
address is the client's (:mod:`vigia.control.audit.client`), never a forgeable header's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from vigia.common.ids import uuid7
from vigia.common.observability import trace_context, trace_id
from vigia.control.audit.client import request_client_address
from vigia.control.audit.events import AuditNote, notes

log = logging.getLogger(__name__)

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OBJECT_ID_KWARGS = ("pk", "id", "device_id", "camera_id", "pipeline_id")


def _object_type(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    queryset = getattr(view_class, "queryset", None)
    model = getattr(queryset, "model", None)
    if model is not None:
        return str(model._meta.model_name)[:64]
    name = match.url_name or ""
    return name.rsplit("-", 1)[0][:64] if name else ""


def _object_id(request: HttpRequest, response: HttpResponse) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        for key in OBJECT_ID_KWARGS:
            if key in match.kwargs:
                return str(match.kwargs[key])[:64]
    data = getattr(response, "data", None)  # DRF response of a create: the new object's id
    if isinstance(data, dict) and response.status_code < 300:
        value = data.get("id")
        if isinstance(value, str | int) or (value is not None and hasattr(value, "hex")):
            return str(value)[:64]
    return ""


class AuditMiddleware:
    """Record one :class:`~vigia.control.audit.models.AuditEntry` per mutating /api/ request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A read is audited when its view noted it (plate searches, exports: LGPD).
        if (request.method in AUDITED_METHODS or notes(request)) and request.path.startswith("/api/"):
            try:
                self.record(request, response)
            except Exception:
                log.exception("could not write the audit entry",
                              extra={"method": request.method, "path": request.path[:512]})
        return response

    def record(self, request: HttpRequest, response: HttpResponse) -> None:
        # DRF sets the authenticated user on the underlying HttpRequest.
        user = getattr(request, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            user = None
        match = getattr(request, "resolver_match", None)
        traceparent = trace_context.get() or request.headers.get("traceparent")
        common = {
            "method": str(request.method)[:8],
            "path": request.path[:512],
            "route": (match.route if match is not None and match.route else "")[:256],
            "status_code": response.status_code,
            "ip": request_client_address(request),
            "user_agent": request.headers.get("user-agent", "")[:256],
            "trace_id": (trace_id(traceparent) or "")[:32],
            # Mutating requests carry their input in the body, never recorded; an audited read's
            # query is what it looked for.
            "query": "" if request.method in AUDITED_METHODS else request.META.get("QUERY_STRING", "")[:1024],
        }
        object_type, object_id = _object_type(request), _object_id(request, response)
        events: list[AuditNote | None] = [*notes(request)] or [None]  # None: the request itself
        _insert([{**common, **_who_and_what(event, user, object_type, object_id)} for event in events])


def _insert(rows: list[dict[str, Any]]) -> None:
    """Write audit rows (by attribute name; ``id`` and ``time`` are made here) in one INSERT. Not
    through ``bulk_create``: its model instances and an insert compiled per request cost a sixth of
    an audited plate search's CPU. Values are prepared by the model's fields, as the ORM would."""
    from vigia.control.audit.models import AuditEntry

    now = timezone.now()
    params: list[Any] = []
    for row in rows:
        values = {"id": uuid7(), "time": now, **row}
        params += [field.get_db_prep_save(values[field.attname], connection)
                   for field in AuditEntry._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(len(rows)), params)


@lru_cache(maxsize=8)
def _insert_sql(rows: int) -> str:
    from vigia.control.audit.models import AuditEntry

    quote, fields = connection.ops.quote_name, AuditEntry._meta.concrete_fields
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Table and column names come from the model, never from the request.
    return (f"INSERT INTO {quote(AuditEntry._meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "  # noqa: S608
            f"VALUES {', '.join([row] * rows)}")


def _who_and_what(event: AuditNote | None, user: object, object_type: str, object_id: str) -> dict[str, object]:
    """Organization, user, object and action of one row: the request's, or those an event names."""
    actor = event.actor if event is not None and event.actor is not None else user
    subject = event.subject if event is not None else None
    org_source = actor if actor is not None else subject
    if event is not None and event.target is not None:
        object_type, object_id = event.target
    elif subject is not None:
        object_type, object_id = "user", str(subject.pk)
    return {
        "org_id": getattr(org_source, "org_id", None),
        "user_id": getattr(actor, "pk", None),
        "object_type": object_type[:64],
        "object_id": object_id[:64],
        "action": event.action.value if event is not None else "",
    }
