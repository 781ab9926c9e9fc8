"""Event evidence in the object store, and the route that serves the file store's signed URLs.

The correlator writes each event's bundle under ``evidence/<org>/<event id>/`` (video.mp4,
audio.wav, sensors.csv, metadata.json, manifest.json last; :func:`vigia.common.privacy.evidence_prefix`,
the layout the retention janitor lists too). :func:`evidence_files` lists it with
URLs an operator's browser can fetch directly: control's own ``/objects/<bucket>/<key>?expires=&sig=``
URLs signed with ``VIGIA_OBJECT_URL_SECRET`` (:func:`browser_url`), which :func:`signed_object`
serves from whichever store is configured after checking the signature and the expiry (403
otherwise). The signature is the authorization: those URLs carry no JWT, exactly like S3's
presigned ones. They are never S3's own: the S3 endpoint (``minio:9000`` in compose) is on the
services' network, not one a browser reaches, and the console's Content-Security-Policy allows
its own origin only.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

import orjson
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from vigia.common.privacy import evidence_prefix
from vigia.common.storage import (
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    SignedUrlError,
    StorageError,
    open_store,
    verify_signed_url,
)
from vigia.common.storage.base import check_bucket, check_expiry, check_key
from vigia.common.storage.filesystem import URL_MOUNT, sign_url
from vigia.control.config import get_settings
from vigia.control.core.errors import error_response

EVIDENCE_BUCKET = "evidence"
MANIFEST = "manifest.json"


@lru_cache(maxsize=4)
def _store(url: str, secret: str) -> ObjectStore:
    return open_store(url, get_settings())


def object_store() -> ObjectStore:
    """The configured object store (opened once per configuration)."""
    settings = get_settings()
    return _store(settings.object_store, settings.object_url_secret.get_secret_value())


def browser_url(bucket: str, key: str, expires: timedelta) -> str:
    """The path of control's signed URL of ``bucket``/``key``, valid for ``expires`` (whatever the store)."""
    check_expiry(expires, "GET")
    expires_at = int(time.time() + expires.total_seconds())
    return sign_url(get_settings().object_url_secret.get_secret_value(), bucket, key, expires_at)


def evidence_files(org: uuid.UUID, event: uuid.UUID, expires: timedelta,
                   absolute: Any = None) -> dict[str, Any]:
    """The bundle of ``event``: ``ready`` once its manifest exists, and every file with its size,
    content type, SHA-256 (from the manifest) and a URL valid for ``expires``. ``absolute`` turns
    a local URL into an absolute one (``request.build_absolute_uri``)."""
    store = object_store()
    prefix = evidence_prefix(org, event)
    objects = [info for info in store.list(EVIDENCE_BUCKET, prefix) if "/" not in info.key[len(prefix):]]
    checksums: dict[str, dict[str, Any]] = {}
    ready = any(info.key == prefix + MANIFEST for info in objects)
    if ready:
        try:
            manifest = orjson.loads(store.get(EVIDENCE_BUCKET, prefix + MANIFEST))
            checksums = {f["name"]: f for f in manifest.get("files", []) if isinstance(f, dict) and "name" in f}
        except (ObjectNotFound, orjson.JSONDecodeError, AttributeError):
            ready = False
    expires_at = math.floor(time.time() + expires.total_seconds())
    files = []
    for info in objects:
        name = info.key[len(prefix):]
        url = browser_url(EVIDENCE_BUCKET, info.key, expires)
        if absolute is not None:
            url = absolute(url)
        entry = checksums.get(name, {})
        files.append({"name": name, "size": info.size,
                      "content_type": entry.get("content_type") or info.content_type,
                      "sha256": entry.get("sha256"), "url": url, "expires_at": expires_at})
    return {"event": str(event), "ready": ready, "files": files}


def _bad_request(field: str, message: str) -> JsonResponse:
    return error_response(400, "invalid", f"{field}: {message}", {field: [message]})


@require_GET
def signed_object(request: HttpRequest) -> HttpResponseBase:
    """``GET /objects/<bucket>/<key>?expires=<unix s>&sig=<hmac>``: the object, streamed, when the
    signature matches and has not expired (403 otherwise), streamed from the file store or S3;
    400 when the URL is malformed; 404 when the object is gone; 503 when the store does not answer."""
    store = object_store()
    bucket, _, key = request.path[len(URL_MOUNT):].partition("/")
    query = parse_qs(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    for name in ("expires", "sig"):
        if len(query.get(name, [])) != 1:
            return _bad_request(name, "must appear exactly once")
    if not query["expires"][0].isdigit():
        return _bad_request("expires", "must be a Unix time in seconds")
    try:
        check_bucket(bucket)
        check_key(key)
    except InvalidKey as exc:
        return _bad_request(exc.field, str(exc))
    secret = get_settings().object_url_secret.get_secret_value()
    try:
        bucket, key = verify_signed_url(request.get_full_path(), secret)
    except SignedUrlError as exc:
        return error_response(403, "forbidden", f"signed URL refused: {exc}")
    try:
        info = store.stat(bucket, key)
        chunks = store.stream(bucket, key)
    except ObjectNotFound:
        return error_response(404, "not_found", "no such object")
    except StorageError:
        return error_response(503, "unavailable", "the object store is unavailable")
    response = StreamingHttpResponse(chunks, content_type=info.content_type or "application/octet-stream")
    response["Content-Length"] = str(info.size)
    if info.etag:
        response["ETag"] = f'"{info.etag}"'
    response["Content-Disposition"] = f'inline; filename="{key.rsplit("/", 1)[-1]}"'
    response["Cache-Control"] = "private, max-age=60"
    response["X-Content-Type-Options"] = "nosniff"
    return response
