"""Cameras as the streamer sees them: loaded from the database, RTSP URL decrypted."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from vigia.common.db import cameras
from vigia.common.secrets_at_rest import InvalidToken, decrypt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraConfig:
    """What a capture worker needs. ``rtsp_url`` holds credentials: kept out of ``repr``."""

    camera: uuid.UUID
    org: uuid.UUID
    name: str
    rtsp_url: str = field(repr=False)
    fps: float
    version: int

    def same_stream(self, other: CameraConfig) -> bool:
        return self.rtsp_url == other.rtsp_url and self.fps == other.fps


def load_cameras(engine: Engine, fernet_keys: str, *, default_fps: float = 1.0,
                 camera: uuid.UUID | None = None) -> dict[uuid.UUID, CameraConfig]:
    """Enabled cameras (or just ``camera`` if enabled) by id. A camera whose URL no configured key
    decrypts is skipped with an error log naming the camera only."""
    query = select(cameras.c.id, cameras.c.org_id, cameras.c.name, cameras.c.rtsp_url_encrypted,
                   cameras.c.fps, cameras.c.version).where(cameras.c.enabled.is_(True))
    if camera is not None:
        query = query.where(cameras.c.id == camera)
    found: dict[uuid.UUID, CameraConfig] = {}
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for row in rows:
        try:
            url = decrypt(row.rtsp_url_encrypted, fernet_keys)
        except (InvalidToken, ValueError):
            log.error("camera RTSP URL does not decrypt with the configured keys; camera skipped",
                      extra={"camera": str(row.id)})
            continue
        fps = row.fps if row.fps and row.fps > 0 else default_fps
        found[row.id] = CameraConfig(row.id, row.org_id, row.name, url, float(fps), int(row.version))
    return found


def camera_version(engine: Engine, camera: uuid.UUID) -> int | None:
    """The stored version of ``camera`` (enabled or not), None when it does not exist."""
    with engine.connect() as conn:
        return conn.execute(select(cameras.c.version).where(cameras.c.id == camera)).scalar()
