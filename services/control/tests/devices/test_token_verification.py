"""Gateways verify device tokens with vigia.common.auth.DeviceTokenVerifier against the same rows
the control API writes: a token works from creation until it is revoked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from vigia.common.auth import DeviceTokenVerifier, InvalidToken, new_device_token
from vigia.common.db import make_engine


@pytest.fixture
def verifier() -> Iterator[DeviceTokenVerifier]:
    cfg = connection.settings_dict
    engine = make_engine(f"postgresql://{cfg['USER']}@{cfg['HOST']}:{cfg['PORT']}/{cfg['NAME']}")
    yield DeviceTokenVerifier(engine, touch_seconds=0)
    engine.dispose()


@pytest.mark.django_db(transaction=True)
def test_token_issued_at_creation_verifies_until_revoked(api: Any, operator: Any,
                                                         verifier: DeviceTokenVerifier) -> None:
    created = api(operator).post("/api/v1/devices/", {"name": "phone-1", "kind": "phone"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()

    identity = verifier.verify(body["token"])
    assert str(identity.device) == body["id"]
    assert identity.org == operator.org_id

    listed = api(operator).get(f"/api/v1/devices/{body['id']}/credentials")
    assert listed.status_code == 200, listed.content
    assert [c["last_used_at"] is not None for c in listed.json()] == [True]  # the use was recorded

    credential = identity.credential
    revoked = api(operator).delete(f"/api/v1/devices/{body['id']}/credentials/{credential}")
    assert revoked.status_code in (200, 204), revoked.content
    with pytest.raises(InvalidToken):
        verifier.verify(body["token"])


@pytest.mark.django_db(transaction=True)
def test_unknown_and_malformed_tokens_are_refused(verifier: DeviceTokenVerifier) -> None:
    for token in (new_device_token().token, "vdt_short", "", "Bearer x"):
        with pytest.raises(InvalidToken):
            verifier.verify(token)
