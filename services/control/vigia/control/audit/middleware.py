"""Audit trail of every mutating API request (POST, PUT, PATCH, DELETE under /api/).

Written *after* the view returned: with ``ATOMIC_REQUESTS`` the view's transaction is already
committed or rolled back by then (Django wraps only the view, not the middleware), so a refused or
failed request (4xx, 5xx) is still recorded. Bodies are never recorded: they carry passwords,
tokens and RTSP credentials. A failure to write the audit row is logged, never turned into an
error for the caller.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from vigia.common.observability import trace_context, trace_id

log = logging.getLogger(__name__)

AUDITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OBJECT_ID_KWARGS = ("pk", "id", "device_id", "camera_id", "pipeline_id")


# Where HAProxy/Kong run (compose, k8s, localhost). Override with settings.AUDIT_TRUSTED_PROXIES.
DEFAULT_TRUSTED_PROXIES = ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128",
                           "fc00::/7")


def _trusted_proxies() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks = getattr(settings, "AUDIT_TRUSTED_PROXIES", DEFAULT_TRUSTED_PROXIES)
    return [ipaddress.ip_network(net) for net in networks]


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or the first X-Forwarded-For hop when the direct peer
    is a trusted proxy (private/loopback networks by default); a public peer cannot spoof it."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR"))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and remote is not None:
        peer = ipaddress.ip_address(remote)
        if any(peer in network for network in _trusted_proxies()):
            first = _valid_ip(forwarded.split(",")[0].strip())
            if first is not None:
                return first
    return remote


def _valid_ip(value: Any) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return None


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
        if request.method in AUDITED_METHODS and request.path.startswith("/api/"):
            try:
                self.record(request, response)
            except Exception:
                log.exception("could not write the audit entry",
                              extra={"method": request.method, "path": request.path[:512]})
        return response

    def record(self, request: HttpRequest, response: HttpResponse) -> None:
        from vigia.control.audit.models import AuditEntry

        # DRF sets the authenticated user on the underlying HttpRequest.
        user = getattr(request, "user", None)
        authenticated = bool(user is not None and getattr(user, "is_authenticated", False))
        match = getattr(request, "resolver_match", None)
        traceparent = trace_context.get() or request.headers.get("traceparent")
        AuditEntry.objects.create(
            org_id=getattr(user, "org_id", None) if authenticated else None,
            user_id=getattr(user, "pk", None) if authenticated else None,
            method=str(request.method)[:8],
            path=request.path[:512],
            route=(match.route if match is not None and match.route else "")[:256],
            object_type=_object_type(request),
            object_id=_object_id(request, response),
            status_code=response.status_code,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", "")[:256],
            trace_id=(trace_id(traceparent) or "")[:32],
        )
