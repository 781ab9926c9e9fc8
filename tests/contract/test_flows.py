"""The sequences schemathesis' links cannot drive, written out: an invitation accepted, and a device
from registration to its token pushing a frame and a sensor packet through the gateways, then a
revoked token refused. Each step's answer is checked against the OpenAPI document of the service
that gave it (the same checks as the fuzzing), and the steps taken are printed."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import schemathesis
from PIL import Image
from schemathesis.config import SchemathesisConfig

from tests.contract.conftest import ContractStack
from tests.contract.test_openapi_fuzz import CHECKS, DOCUMENTS

INVITEE_PASSWORD = "an-accepted-invitation-42"


class Steps:
    """Sends requests as operations of a service's document and validates each answer."""

    def __init__(self, stack: ContractStack) -> None:
        self.stack = stack
        self.schemas = {service: schemathesis.openapi.from_dict(document, config=SchemathesisConfig())
                        for service, document in DOCUMENTS.items()}
        self.taken: list[str] = []

    def call(self, service: str, method: str, path: str, token: str, status: int, **kwargs: Any) -> Any:
        operation = self.schemas[service][path][method]
        case = operation.Case(**kwargs)
        response = case.call(base_url=self.stack.urls[service], headers={"Authorization": f"Bearer {token}"},
                             timeout=30)
        case.validate_response(response, checks=CHECKS)
        self.taken.append(f"{method} {path} -> {response.status_code}")
        assert response.status_code == status, response.text
        return response.json() if response.content else None


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def test_an_invited_user_accepts_and_is_signed_in(contract_stack: ContractStack) -> None:
    steps = Steps(contract_stack)
    admin = contract_stack.flow_token
    invited = steps.call("control", "POST", "/api/v1/users/", admin, 201,
                         body={"email": f"invitee@{contract_stack.org}.test", "role": "operator"})
    assert invited["invitation_pending"] is True and invited["invitation_token"]
    body = {"token": invited["invitation_token"], "password": INVITEE_PASSWORD}
    signed_in = steps.call("control", "POST", "/api/v1/auth/accept-invite", "", 200, body=body)
    me = steps.call("control", "GET", "/api/v1/auth/me", signed_in["access"], 200)
    assert me["email"] == invited["email"] and me["invitation_pending"] is False
    again = steps.call("control", "POST", "/api/v1/auth/accept-invite", "", 400, body=body)
    assert "token" in again["error"]["fields"]
    print("\n" + "\n".join(steps.taken))


def test_a_device_token_pushes_frames_and_packets_until_revoked(contract_stack: ContractStack) -> None:
    steps = Steps(contract_stack)
    admin = contract_stack.flow_token
    device = steps.call("control", "POST", "/api/v1/devices/", admin, 201,
                        body={"name": "flow phone", "kind": "phone"})
    camera = steps.call("control", "POST", "/api/v1/cameras/", admin, 201,
                        body={"name": "flow camera", "rtsp_url": "rtsp://127.0.0.1:9/flow"})
    token = device["token"]
    frame = steps.call("ingest-frames", "POST", "/api/v1/frames", token, 202, body=jpeg(),
                       media_type="image/jpeg", query={"camera": camera["id"]})
    assert frame["camera"] == camera["id"]
    packet = {"timestamp": time.time_ns(), "seq": 1, "accelerometer": {"x": 0.1, "y": 0.2, "z": 9.8}}
    batch = steps.call("ingest-sensors", "POST", "/api/v1/sensors:batch", token, 200, body=[packet])
    assert batch == {"accepted": [1], "rejected": []}
    credentials = steps.call("control", "GET", "/api/v1/devices/{id}/credentials/", admin, 200,
                             path_parameters={"id": device["id"]})
    assert [c["id"] for c in credentials] == [device["credential"]]
    revoked = steps.call("control", "DELETE", "/api/v1/devices/{id}/credentials/{credential_id}/", admin, 200,
                         path_parameters={"id": device["id"], "credential_id": device["credential"]})
    assert revoked["revoked_at"] is not None
    # The gateways trust a verified token for VIGIA_DEVICE_CACHE_S (0 in this stack): refused at once.
    steps.call("ingest-frames", "POST", "/api/v1/frames", token, 401, body=jpeg(), media_type="image/jpeg",
               query={"camera": camera["id"]})
    steps.call("ingest-sensors", "POST", "/api/v1/sensors:batch", token, 401,
               body=[{**packet, "seq": 2}])
    print("\n" + "\n".join(steps.taken))
    assert httpx.get(contract_stack.urls["control"] + "/readyz", timeout=10).status_code == 200
