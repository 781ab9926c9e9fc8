"""Register phonesim's phones with the control API, idempotently (by device name), and get tokens.

Signs in like camsim (demo admin e-mail and password, waiting for the API to come up), then for
each phone ``phonesim-1``, ``phonesim-2``…: creates the device (kind ``phone``, on ``site``, with
its reporting interval) and keeps the token the create response shows once; or, when a device of
that name exists, updates its site and interval and issues it a new token (the API never shows
an old one again; earlier tokens stay valid until revoked).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from vigia.simulators.camsim.register import DEFAULT_API, DEFAULT_EMAIL, RegistrationError, _error, _login

__all__ = ["DEFAULT_API", "DEFAULT_EMAIL", "DeviceRegistration", "RegistrationError", "read_tokens",
           "register_phones", "write_tokens"]


@dataclass(frozen=True)
class DeviceRegistration:
    name: str
    device: str
    token: str
    created: bool


def register_phones(names: list[str], *, api: str = DEFAULT_API, email: str = DEFAULT_EMAIL, password: str,
                    site: str = "demo-site", reporting_interval: float = 1.0,
                    wait: float = 120.0) -> list[DeviceRegistration]:
    """Create or update each named phone in the signed-in user's organization; one token each.

    Raises :class:`RegistrationError` when the sign-in or a device is refused, or the API does not
    answer within ``wait`` seconds.
    """
    done = []
    with httpx.Client(base_url=api, timeout=15.0) as client:
        client.headers["Authorization"] = f"Bearer {_login(client, email, password, wait)}"
        for name in names:
            r = client.get("/api/v1/devices", params={"search": name, "limit": 500})
            if r.status_code != 200:
                raise RegistrationError(f"listing devices failed ({r.status_code}): {_error(r)}")
            existing = [d for d in r.json()["results"] if d["name"] == name]
            body = {"name": name, "kind": "phone", "site": site, "reporting_interval": reporting_interval}
            if existing:
                device = str(existing[0]["id"])
                r = client.patch(f"/api/v1/devices/{device}", json=body)
                if r.status_code != 200:
                    raise RegistrationError(f"device {name} refused ({r.status_code}): {_error(r)}")
                r = client.post(f"/api/v1/devices/{device}/credentials")
                if r.status_code != 201:
                    raise RegistrationError(f"token for {name} refused ({r.status_code}): {_error(r)}")
                done.append(DeviceRegistration(name, device, str(r.json()["token"]), created=False))
            else:
                r = client.post("/api/v1/devices", json=body)
                if r.status_code != 201:
                    raise RegistrationError(f"device {name} refused ({r.status_code}): {_error(r)}")
                created = r.json()
                done.append(DeviceRegistration(name, str(created["id"]), str(created["token"]), created=True))
    return done


def write_tokens(path: Path, registrations: list[DeviceRegistration]) -> None:
    """Save ``{"name", "device", "token"}`` JSON lines, readable by the owner only (they are secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for reg in registrations:
            entry = asdict(reg)
            entry.pop("created")
            f.write(json.dumps(entry) + "\n")
    tmp.replace(path)


def read_tokens(path: Path) -> list[DeviceRegistration]:
    """The phones of a tokens file written by :func:`write_tokens` (or by hand: name, device, token)."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            out.append(DeviceRegistration(str(entry.get("name") or f"phone-{number}"), str(entry["device"]),
                                          str(entry["token"]), created=False))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: expected a JSON object with device and token ({exc})") from None
    return out
