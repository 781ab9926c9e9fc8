"""MediaMTX's external authentication (``authMethod: http``): who may do what on which path.

MediaMTX POSTs every authentication it needs to ``POST /internal/mediamtx/auth`` as JSON —
``{"user", "password", "token", "ip", "action", "path", "protocol", "id", "query"}`` — and allows the
request on a 2xx answer, refuses it otherwise. Decisions:

* ``read`` / ``playback`` (an operator playing ``/stream/<camera-id>/index.m3u8``): the credential
  is the operator's access JWT, as the Basic password (``Authorization: Basic base64("jwt:<JWT>")``,
  which hls.js sends on every request through ``xhrSetup``), as a Bearer token (``token``) or as
  ``?jwt=<JWT>`` in the URL. Allowed when the token verifies, its user is active and still in the
  token's organization, and the path is an enabled camera of that organization: any role may watch.
  No credential at all → 401 (RTSP clients send theirs only after one); anything else → 403.
  Another organization's camera and an unknown one answer alike, so ids cannot be probed.
* ``api`` (mediamtx-sync adding, patching and deleting paths): the MediaMTX API user and password
  of the control plane's own settings (``VIGIA_MEDIAMTX_API_USER`` / ``_PASSWORD``).
* ``metrics`` (Prometheus, without credentials): from loopback and private addresses only.
* ``publish``, ``pprof`` and anything else: refused; cameras are pulled, never pushed.

The route is for MediaMTX on the internal network only: a request that came through a proxy
(HAProxy, Kong and ingress controllers all add ``X-Forwarded-For``) answers 404 like an unknown
route, and it lives outside ``/api``, which is all Kong routes to the control plane.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import uuid
from typing import Any
from urllib.parse import parse_qs

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from prometheus_client import Counter

from vigia.control.cameras.mediamtx import MediaMTXSettings
from vigia.control.cameras.models import Camera
from vigia.control.core.errors import error_response
from vigia.control.tenancy.models import User
from vigia.control.tenancy.tokens import TokenError, decode_access_token

log = logging.getLogger(__name__)

DECISIONS = Counter("control_stream_auth_decisions", "MediaMTX authentication requests answered, by "
                    "action and outcome (allowed, unauthenticated, forbidden)", ["action", "outcome"])
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")
MAX_BODY = 64 * 1024
READ_ACTIONS = ("read", "playback")


def _decide(action: str, outcome: str, status: int) -> HttpResponse:
    DECISIONS.labels(action, outcome).inc()
    return HttpResponse(status=status)


def _token(body: dict[str, Any]) -> str:
    """The JWT a reader presented: Basic password, Bearer token, or ``jwt`` in the query."""
    for field in ("password", "token"):
        value = body.get(field)
        if isinstance(value, str) and value:
            return value
    query = body.get("query")
    if isinstance(query, str) and query:
        values = parse_qs(query).get("jwt")
        if values:
            return values[0]
    return ""


def _camera_of(path: str) -> uuid.UUID | None:
    """The camera a MediaMTX path names (paths are camera ids, see ``mediamtx.path_name``)."""
    try:
        camera = uuid.UUID(path.strip("/"))
    except ValueError:
        return None
    return camera if str(camera) == path.strip("/") else None


def _may_read(token: str, path: str) -> bool:
    try:
        claims = decode_access_token(token)
    except TokenError:
        return False
    try:
        user_id = uuid.UUID(str(claims.get("sub")))
    except ValueError:
        return False
    # A disabled organization's (and a platform operator's, of none) tokens open no stream.
    user = User.objects.filter(id=user_id, is_active=True, org__is_active=True).only("org_id").first()
    if user is None or str(user.org_id) != str(claims.get("org")):
        return False
    camera = _camera_of(path)
    return camera is not None and Camera.objects.filter(id=camera, org_id=user.org_id, enabled=True).exists()


def _is_private(ip: Any) -> bool:
    try:
        address = ipaddress.ip_address(str(ip))
    except ValueError:
        return False
    return address.is_loopback or address.is_private


@require_POST
def mediamtx_auth(request: HttpRequest) -> HttpResponse:
    if any(header in request.META for header in FORWARDED_HEADERS):
        return error_response(404, "not_found", f"no route for {request.path}")
    if len(request.body) > MAX_BODY:
        return error_response(413, "too_large", f"the body exceeds {MAX_BODY} bytes")
    try:
        body = json.loads(request.body)
    except ValueError:
        return error_response(400, "invalid", "the body is not JSON", {"body": ["expected a JSON object"]})
    if not isinstance(body, dict) or not isinstance(body.get("action"), str):
        return error_response(400, "invalid", "MediaMTX's authentication request names no action",
                              {"action": ["required, a string"]})
    action = body["action"]
    path = body["path"] if isinstance(body.get("path"), str) else ""
    if action in READ_ACTIONS:
        token = _token(body)
        if not token:
            return _decide(action, "unauthenticated", 401)
        if _may_read(token, path):
            return _decide(action, "allowed", 204)
        log.info("stream access refused", extra={"path": path[:64], "ip": str(body.get("ip"))[:64],
                                                 "protocol": str(body.get("protocol"))[:16]})
        return _decide(action, "forbidden", 403)
    if action == "api":
        settings = MediaMTXSettings()
        expected = settings.mediamtx_api_password.get_secret_value()
        user, password = body.get("user"), body.get("password")
        if not isinstance(user, str) or not isinstance(password, str) or not password:
            return _decide(action, "unauthenticated", 401)
        if expected and hmac.compare_digest(user.encode(), settings.mediamtx_api_user.encode()) and \
                hmac.compare_digest(password.encode(), expected.encode()):
            return _decide(action, "allowed", 204)
        return _decide(action, "forbidden", 403)
    if action == "metrics" and _is_private(body.get("ip")):
        return _decide(action, "allowed", 204)
    return _decide(action if action in ("metrics", "publish", "pprof") else "other", "forbidden", 403)

