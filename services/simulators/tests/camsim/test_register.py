"""Registration with the real control API (Django live server, real PostgreSQL)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from vigia.control.cameras.models import Camera
from vigia.control.core.choices import Role
from vigia.control.tenancy.keys import create_signing_key
from vigia.control.tenancy.models import Organization, User
from vigia.simulators.camsim.register import RegistrationError, register_cameras

PASSWORD = "camsim-demo-password-42"


@pytest.fixture
def demo_admin(transactional_db):
    create_signing_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    org = Organization.objects.create(name="Demo", slug="demo")
    return User.objects.create_user("admin@demo.vigia.local", org=org, password=PASSWORD, role=Role.ADMIN)


def test_registers_cameras_once_and_updates_their_urls(live_server, demo_admin):
    first = register_cameras({"camsim-1": "rtsp://127.0.0.1:8554/cam1", "camsim-2": "rtsp://127.0.0.1:8554/cam2"},
                             api=live_server.url, password=PASSWORD, wait=5)
    assert [(c.name, c.created) for c in first] == [("camsim-1", True), ("camsim-2", True)]
    again = register_cameras({"camsim-1": "rtsp://127.0.0.1:9554/cam1", "camsim-2": "rtsp://127.0.0.1:9554/cam2"},
                             api=live_server.url, password=PASSWORD, wait=5)
    assert [(c.name, c.created) for c in again] == [("camsim-1", False), ("camsim-2", False)]
    assert [c.id for c in again] == [c.id for c in first]
    cameras = {c.name: c for c in Camera.objects.filter(org=demo_admin.org)}
    assert set(cameras) == {"camsim-1", "camsim-2"}
    assert cameras["camsim-1"].rtsp_url == "rtsp://127.0.0.1:9554/cam1"
    assert {c.site for c in cameras.values()} == {"demo-site"}
    assert {c.fps for c in cameras.values()} == {1.0}


def test_wrong_password_is_reported_not_retried(live_server, demo_admin):
    with pytest.raises(RegistrationError, match="refused"):
        register_cameras({"camsim-1": "rtsp://127.0.0.1:8554/cam1"}, api=live_server.url, password="nope", wait=5)
    assert not Camera.objects.exists()


def test_unreachable_api_gives_up_after_the_wait():
    with pytest.raises(RegistrationError, match="did not answer"):
        register_cameras({"camsim-1": "rtsp://x/cam1"}, api="http://127.0.0.1:9", password=PASSWORD, wait=1)
