"""Where each device and camera is: the site assignments of the control plane, kept current.

Loaded once from PostgreSQL at start (read-only) and then followed through the ``device.*`` and
``camera.*`` change messages on ``correlator.control``. A device or camera without a site forms a
site of its own (``device:<id>`` / ``camera:<id>``): a phone's own magnetic, audio and humanoid
signals still agree with each other, but never with a camera elsewhere.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from vigia.common import db
from vigia.common.messages import (
    CameraChanged,
    CameraDeleted,
    DeviceChanged,
    DeviceDeleted,
    Envelope,
)
from vigia.correlator.scoring import CorrelationConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placement:
    """The organization and site of one device or camera (``site`` None: not assigned)."""

    org: uuid.UUID
    site: str | None
    version: int = 0


def site_key(kind: str, ident: uuid.UUID | str, placement: Placement) -> str:
    """The name a signal is grouped by: the site, or the device/camera itself when it has none."""
    return placement.site if placement.site else f"{kind}:{ident}"


class SiteDirectory:
    """Device and camera placements by id, plus each organization's correlation config."""

    def __init__(self, engine: Engine, defaults: CorrelationConfig, org_config_ttl_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.defaults = defaults
        self.org_config_ttl_s = org_config_ttl_s
        self.clock = clock
        self.devices: dict[uuid.UUID, Placement] = {}
        self.cameras: dict[uuid.UUID, Placement] = {}
        self._org_configs: dict[uuid.UUID, tuple[float, CorrelationConfig]] = {}

    # --- loading ----------------------------------------------------------------------------

    def load(self) -> None:
        """Read every device's and camera's placement (blocking: call from a thread)."""
        with self.engine.connect() as conn:
            devices = conn.execute(select(db.devices.c.id, db.devices.c.org_id, db.devices.c.site,
                                          db.devices.c.version)).all()
            cameras = conn.execute(select(db.cameras.c.id, db.cameras.c.org_id, db.cameras.c.site,
                                          db.cameras.c.version)).all()
        self.devices = {row.id: Placement(row.org_id, row.site or None, row.version) for row in devices}
        self.cameras = {row.id: Placement(row.org_id, row.site or None, row.version) for row in cameras}
        log.info("site assignments loaded", extra={"devices": len(self.devices), "cameras": len(self.cameras)})

    def _lookup(self, table: Any, ident: uuid.UUID) -> Placement | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(table.c.org_id, table.c.site, table.c.version)
                               .where(table.c.id == ident)).first()
        return Placement(row.org_id, row.site or None, row.version) if row else None

    def device(self, ident: uuid.UUID) -> Placement | None:
        """A device's placement; one not seen yet is read from the database (blocking)."""
        found = self.devices.get(ident)
        if found is None and (found := self._lookup(db.devices, ident)) is not None:
            self.devices[ident] = found
        return found

    def camera(self, ident: uuid.UUID) -> Placement | None:
        found = self.cameras.get(ident)
        if found is None and (found := self._lookup(db.cameras, ident)) is not None:
            self.cameras[ident] = found
        return found

    def cameras_at(self, org: uuid.UUID, site: str) -> list[uuid.UUID]:
        if site.startswith("camera:"):
            return [uuid.UUID(site.split(":", 1)[1])]
        return sorted(c for c, p in self.cameras.items() if p.org == org and p.site == site)

    def devices_at(self, org: uuid.UUID, site: str) -> list[uuid.UUID]:
        if site.startswith("device:"):
            return [uuid.UUID(site.split(":", 1)[1])]
        return sorted(d for d, p in self.devices.items() if p.org == org and p.site == site)

    # --- following the control plane ---------------------------------------------------------

    def apply(self, envelope: Envelope) -> bool:
        """Apply a control change; True if it changed a placement. Older versions are ignored."""
        data = envelope.data
        if isinstance(data, DeviceChanged):
            return self._put(self.devices, data.device, Placement(envelope.org, data.site or None, data.version))
        if isinstance(data, CameraChanged):
            return self._put(self.cameras, data.camera, Placement(envelope.org, data.site or None, data.version))
        if isinstance(data, DeviceDeleted):
            return self._drop(self.devices, data.device, envelope.org)
        if isinstance(data, CameraDeleted):
            return self._drop(self.cameras, data.camera, envelope.org)
        return False  # pipelines: not used by the correlation rule (yet)

    @staticmethod
    def _put(table: dict[uuid.UUID, Placement], ident: uuid.UUID, placement: Placement) -> bool:
        current = table.get(ident)
        if current is not None and (current.org != placement.org or current.version > placement.version):
            return False  # another org's id, or a stale message overtaken by a newer one
        table[ident] = placement
        return current != placement

    @staticmethod
    def _drop(table: dict[uuid.UUID, Placement], ident: uuid.UUID, org: uuid.UUID) -> bool:
        current = table.get(ident)
        if current is None or current.org != org:
            return False
        del table[ident]
        return True

    # --- per-organization config --------------------------------------------------------------

    def org_config(self, org: uuid.UUID) -> CorrelationConfig:
        """The org's correlation config: the defaults with the ``correlation`` overrides of its
        settings JSON, cached for ``org_config_ttl_s`` (blocking on a miss)."""
        now = self.clock()
        cached = self._org_configs.get(org)
        if cached is not None and now - cached[0] < self.org_config_ttl_s:
            return cached[1]
        with self.engine.connect() as conn:
            settings = conn.execute(select(db.organizations.c.settings)
                                    .where(db.organizations.c.id == org)).scalar()
        overrides = settings.get("correlation") if isinstance(settings, dict) else None
        config = self.defaults.with_overrides(overrides)
        self._org_configs[org] = (now, config)
        return config
