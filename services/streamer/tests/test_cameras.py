"""Cameras loaded from the database with their RTSP URL decrypted (MultiFernet), and the key setting."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy import Engine, insert

from vigia.common.db import cameras
from vigia.common.secrets_at_rest import encrypt
from vigia.streamer.cameras import load_cameras
from vigia.streamer.settings import DEV_FERNET_KEY, StreamerSettings


def test_enabled_cameras_load_with_their_url_decrypted_and_disabled_ones_do_not(
        make_camera: Callable[..., uuid.UUID], engine: Engine) -> None:
    on = make_camera("rtsp://u:pw@10.0.0.1/a", fps=2.0, version=3)
    make_camera("rtsp://u:pw@10.0.0.2/b", enabled=False)
    found = load_cameras(engine, DEV_FERNET_KEY)
    assert list(found) == [on]
    assert found[on].rtsp_url == "rtsp://u:pw@10.0.0.1/a"
    assert (found[on].fps, found[on].version) == (2.0, 3)
    assert "pw" not in repr(found[on])


def test_rotated_keys_still_decrypt_and_a_camera_no_key_opens_is_skipped(
        make_camera: Callable[..., uuid.UUID], engine: Engine, org: uuid.UUID) -> None:
    new_key = Fernet.generate_key().decode()
    old = make_camera("rtsp://10.0.0.3/old")  # encrypted with the development key
    stranger = uuid.uuid4()
    now = datetime.now(UTC)
    foreign = encrypt("rtsp://x/y", Fernet.generate_key().decode())
    with engine.begin() as conn:
        conn.execute(insert(cameras).values(
            id=stranger, org_id=org, name="foreign", rtsp_url_encrypted=foreign,
            fps=1.0, zones=[], location="", site="", enabled=True, status="online", version=1,
            created_at=now, updated_at=now))
    found = load_cameras(engine, f"{new_key},{DEV_FERNET_KEY}")
    assert set(found) == {old}
    assert found[old].rtsp_url == "rtsp://10.0.0.3/old"


def test_the_development_key_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="development key"):
        StreamerSettings(env="production", fernet_keys=DEV_FERNET_KEY,
                         object_url_secret="a-real-object-url-secret-123456")
    assert StreamerSettings(env="production", fernet_keys=Fernet.generate_key().decode(),
                            object_url_secret="a-real-object-url-secret-123456").env == "production"
