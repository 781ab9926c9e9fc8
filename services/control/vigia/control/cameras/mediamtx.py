"""MediaMTX paths kept in sync with the cameras, so operators can play ``/stream/<camera>/index.m3u8``.

Every enabled camera is one MediaMTX path named by the camera's id, pulling the camera's RTSP URL
on demand (``sourceOnDemand``: MediaMTX connects to the camera only while someone watches). The
control plane is the truth: :func:`reconcile` makes MediaMTX's path list match the enabled cameras
(adding, patching, deleting through the HTTP API v3), and :func:`sync_camera` does the same for one
camera whenever a ``camera.*`` change message arrives (``mediamtx_sync`` command). Both re-read the
camera from PostgreSQL rather than trusting the message, so late or reordered messages converge.

Only paths whose name is a UUID are managed: hand-written paths in mediamtx.yml are left alone.
The RTSP URL goes to MediaMTX over its API and is never logged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import httpx
from prometheus_client import Counter
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:  # the settings model is imported without Django (README settings table)
    from vigia.control.cameras.models import Camera

log = logging.getLogger(__name__)

SYNC_OPERATIONS = Counter("control_mediamtx_operations", "Path changes sent to MediaMTX's API", ["operation"])
MANAGED_KEYS = ("source", "sourceOnDemand", "sourceOnDemandStartTimeout", "sourceOnDemandCloseAfter",
                "rtspTransport")


class MediaMTXSettings(BaseSettings):
    """How the control plane reaches MediaMTX's control API (environment prefix ``VIGIA_``)."""

    model_config = SettingsConfigDict(env_prefix="VIGIA_", extra="forbid")

    mediamtx_api_url: str = Field("http://127.0.0.1:9997", description="Base URL of MediaMTX's control "
                                  "API (v3), where mediamtx_sync adds, patches and deletes camera paths.")
    mediamtx_api_user: str = Field("vigia", description="User mediamtx_sync presents to MediaMTX's API; "
                                   "control's /internal/mediamtx/auth accepts it with VIGIA_MEDIAMTX_API_PASSWORD.")
    mediamtx_api_password: SecretStr = Field(SecretStr(""), description="Password of mediamtx_api_user, "
                                             "set alike for control and mediamtx_sync (empty: the API is "
                                             "refused to everyone).")
    mediamtx_rtsp_transport: Literal["automatic", "tcp", "udp", "multicast"] = Field(
        "tcp", description="Transport MediaMTX uses to pull camera RTSP streams (rtspTransport).")
    mediamtx_on_demand_close_s: int = Field(10, ge=1, le=3600, description="MediaMTX closes a camera's "
                                            "RTSP pull this long after its last viewer left (s).")


class MediaMTXError(RuntimeError):
    """MediaMTX answered something other than success (or a 404 where that means done)."""


class MediaMTXPaths:
    """The path configuration part of MediaMTX's HTTP API v3."""

    def __init__(self, base_url: str, user: str = "", password: str = "", timeout: float = 10.0) -> None:
        auth = (user, password) if password else None
        self.http = httpx.Client(base_url=base_url.rstrip("/"), auth=auth, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.is_success:
            return
        try:
            detail = response.json().get("error", "")
        except ValueError:
            detail = response.text[:200]
        raise MediaMTXError(f"MediaMTX {what}: HTTP {response.status_code} {detail}".strip())

    def list(self) -> dict[str, dict[str, Any]]:
        """Every configured path, by name (all pages)."""
        paths: dict[str, dict[str, Any]] = {}
        page = 0
        while True:
            response = self.http.get("/v3/config/paths/list", params={"page": page, "itemsPerPage": 500})
            self._check(response, "list paths")
            body = response.json()
            for item in body.get("items") or []:
                paths[item["name"]] = item
            page += 1
            if page >= int(body.get("pageCount") or 0):
                return paths

    def add(self, name: str, conf: dict[str, Any]) -> None:
        self._check(self.http.post(f"/v3/config/paths/add/{quote(name, safe='')}", json=conf), f"add {name}")
        SYNC_OPERATIONS.labels("add").inc()

    def patch(self, name: str, conf: dict[str, Any]) -> bool:
        """Change ``name``'s configuration; False when MediaMTX has no such path."""
        response = self.http.patch(f"/v3/config/paths/patch/{quote(name, safe='')}", json=conf)
        if response.status_code == 404:
            return False
        self._check(response, f"patch {name}")
        SYNC_OPERATIONS.labels("patch").inc()
        return True

    def delete(self, name: str) -> bool:
        """Remove ``name``; False when it was not there (already done)."""
        response = self.http.delete(f"/v3/config/paths/delete/{quote(name, safe='')}")
        if response.status_code == 404:
            return False
        self._check(response, f"delete {name}")
        SYNC_OPERATIONS.labels("delete").inc()
        return True

    def put(self, name: str, conf: dict[str, Any]) -> None:
        """Make ``name`` exist with ``conf`` (patch, or add when missing)."""
        if not self.patch(name, conf):
            self.add(name, conf)


def path_name(camera_id: uuid.UUID | str) -> str:
    return str(camera_id)


def is_managed(name: str) -> bool:
    try:
        return str(uuid.UUID(name)) == name
    except ValueError:
        return False


def path_conf(camera: Camera, settings: MediaMTXSettings) -> dict[str, Any]:
    """The MediaMTX path configuration of an enabled camera."""
    return {
        "source": camera.rtsp_url,
        "sourceOnDemand": True,
        "sourceOnDemandStartTimeout": "10s",
        "sourceOnDemandCloseAfter": f"{settings.mediamtx_on_demand_close_s}s",
        "rtspTransport": settings.mediamtx_rtsp_transport,
    }


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return any(current.get(key) != value for key, value in wanted.items())


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def reconcile(paths: MediaMTXPaths, settings: MediaMTXSettings,
              cameras: Iterable[Camera] | None = None) -> SyncReport:
    """Make MediaMTX's managed paths exactly the enabled cameras (every organization)."""
    from vigia.control.cameras.models import Camera

    enabled = cameras if cameras is not None else Camera.objects.filter(enabled=True)
    wanted = {path_name(c.id): path_conf(c, settings) for c in enabled}
    current = {name: conf for name, conf in paths.list().items() if is_managed(name)}
    report = SyncReport()
    for name in sorted(set(current) - set(wanted)):
        paths.delete(name)
        report.deleted.append(name)
    for name, conf in wanted.items():
        if name not in current:
            paths.add(name, conf)
            report.added.append(name)
        elif _differs(current[name], conf):
            paths.patch(name, conf)
            report.patched.append(name)
    log.info("mediamtx paths reconciled", extra={"added": len(report.added), "patched": len(report.patched),
                                                 "deleted": len(report.deleted), "cameras": len(wanted)})
    return report


def sync_camera(paths: MediaMTXPaths, settings: MediaMTXSettings, camera_id: uuid.UUID) -> str:
    """Bring one camera's path in line with its row; returns what was done (put / deleted / absent)."""
    from vigia.control.cameras.models import Camera

    camera = Camera.objects.filter(id=camera_id).first()
    name = path_name(camera_id)
    if camera is None or not camera.enabled:
        return "deleted" if paths.delete(name) else "absent"
    paths.put(name, path_conf(camera, settings))
    return "put"
