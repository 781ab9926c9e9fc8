"""Registration with the real control API (Django live server, real PostgreSQL), then the tokens
it returns verified the way ingest-sensors verifies them."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from vigia.common.auth import hash_device_token
from vigia.control.core.choices import Role
from vigia.control.devices.models import Device, DeviceCredential
from vigia.control.tenancy.keys import create_signing_key
from vigia.control.tenancy.models import Organization, User
from vigia.simulators.phonesim.register import RegistrationError, register_phones

PASSWORD = "phonesim-demo-password-42"


@pytest.fixture
def demo_admin(transactional_db):
    create_signing_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    org = Organization.objects.create(name="Demo", slug="demo")
    return User.objects.create_user("admin@demo.vigia.local", org=org, password=PASSWORD, role=Role.ADMIN)


def test_registers_phones_once_on_the_site_and_issues_a_working_token_each_time(live_server, demo_admin):
    first = register_phones(["phonesim-1", "phonesim-2"], api=live_server.url, password=PASSWORD, wait=5)
    assert [(r.name, r.created) for r in first] == [("phonesim-1", True), ("phonesim-2", True)]
    again = register_phones(["phonesim-1", "phonesim-2"], api=live_server.url, password=PASSWORD, wait=5,
                            site="north-gate", reporting_interval=2.0)
    assert [(r.name, r.created) for r in again] == [("phonesim-1", False), ("phonesim-2", False)]
    assert [r.device for r in again] == [r.device for r in first]
    phones = {d.name: d for d in Device.objects.filter(org=demo_admin.org)}
    assert set(phones) == {"phonesim-1", "phonesim-2"}
    assert {(d.kind, d.site, d.reporting_interval) for d in phones.values()} == {("phone", "north-gate", 2.0)}
    for reg in first + again:  # every token issued is live and belongs to its device
        credential = DeviceCredential.objects.get(token_hash=hash_device_token(reg.token))
        assert str(credential.device_id) == reg.device and credential.revoked_at is None


def test_default_site_is_the_one_camsim_uses(live_server, demo_admin):
    from vigia.simulators.camsim.__main__ import parse_args as camsim_args

    register_phones(["phonesim-1"], api=live_server.url, password=PASSWORD, wait=5)
    assert Device.objects.get(name="phonesim-1").site == camsim_args([]).site == "demo-site"


def test_wrong_password_is_reported_not_retried(live_server, demo_admin):
    with pytest.raises(RegistrationError, match="refused"):
        register_phones(["phonesim-1"], api=live_server.url, password="nope", wait=5)
    assert not Device.objects.exists()
