"""Register camsim's cameras with the control API, idempotently (by camera name).

Signs in with the demo admin's e-mail and password, then for each camera either creates it or,
when one of that name exists, updates its RTSP URL (the port may have changed). Waits for the API
to come up, because ``make run`` starts camsim beside the control plane.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

DEFAULT_API = "http://127.0.0.1:8000"
DEFAULT_EMAIL = "admin@demo.vigia.local"


class RegistrationError(RuntimeError):
    """The control API refused the sign-in or a camera (message says which and why)."""


@dataclass(frozen=True)
class CameraRegistration:
    name: str
    id: str
    created: bool


def _login(client: httpx.Client, email: str, password: str, wait: float) -> str:
    deadline = time.monotonic() + wait
    while True:
        try:
            r = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RegistrationError(f"control API at {client.base_url} did not answer within {wait:g} s") from None
            time.sleep(1.0)
            continue
        if r.status_code >= 500 and time.monotonic() < deadline:  # starting up, database not ready yet
            time.sleep(1.0)
            continue
        if r.status_code != 200:
            raise RegistrationError(f"sign-in as {email} refused ({r.status_code}): {_error(r)}")
        return str(r.json()["access"])


def _error(r: httpx.Response) -> str:
    try:
        body = r.json()
        return str(body.get("error", body))
    except ValueError:
        return r.text[:200]


def register_cameras(cameras: dict[str, str], *, api: str = DEFAULT_API, email: str = DEFAULT_EMAIL,
                     password: str, site: str = "demo-site", fps: float = 1.0,
                     wait: float = 120.0) -> list[CameraRegistration]:
    """Create or update each ``name -> rtsp_url`` camera in the signed-in user's organization.

    Raises :class:`RegistrationError` when the sign-in or a camera is refused, or the API does not
    answer within ``wait`` seconds.
    """
    done = []
    with httpx.Client(base_url=api, timeout=15.0) as client:
        token = _login(client, email, password, wait)
        client.headers["Authorization"] = f"Bearer {token}"
        for name, url in cameras.items():
            r = client.get("/api/v1/cameras", params={"search": name, "limit": 500})
            if r.status_code != 200:
                raise RegistrationError(f"listing cameras failed ({r.status_code}): {_error(r)}")
            existing = [c for c in r.json()["results"] if c["name"] == name]
            body = {"name": name, "rtsp_url": url, "site": site, "fps": fps, "enabled": True}
            if existing:
                r = client.patch(f"/api/v1/cameras/{existing[0]['id']}", json=body)
            else:
                r = client.post("/api/v1/cameras", json=body)
            if r.status_code not in (200, 201):
                raise RegistrationError(f"camera {name} refused ({r.status_code}): {_error(r)}")
            done.append(CameraRegistration(name, str(r.json()["id"]), created=not existing))
    return done
