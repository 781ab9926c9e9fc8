"""Webhook input: secrets generated when an api_webhook node is saved (shown once, encrypted at
rest, dropped with the node, rotatable), and POST /api/v1/hooks/{pipeline}/{node}: signature
(constant-time HMAC-SHA256 of the raw body), 400/401/404/409/413/429, accepted -> 202 and one
pipeline.hook outbox message on vigia.control with the body."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from vigia.control.core import crypto
from vigia.control.outbox.models import OutboxMessage
from vigia.control.pipelines import hook_limits, webhooks
from vigia.control.pipelines.models import PipelineWebhook

GRAPH = {
    "nodes": [
        {"id": "door", "type": "api_webhook", "config": {}},
        {"id": "alert", "type": "dashboard", "config": {}},
    ],
    "edges": [{"source": "door", "source_port": "data", "target": "alert", "target_port": "data"}],
}


@pytest.fixture
def running(api: Any, operator: Any) -> tuple[dict[str, Any], str]:
    """A running pipeline created through the API, and the secret its answer showed."""
    client = api(operator)
    created = client.post("/api/v1/pipelines/", {"name": "door sensor", "graph": GRAPH}, format="json")
    assert created.status_code == 201, created.content
    assert client.post(f"/api/v1/pipelines/{created.json()['id']}/execute").status_code == 200
    OutboxMessage.objects.all().delete()
    return created.json(), created.json()["webhook_secrets"]["door"]


def post(api: Any, pipeline: Any, node: str, body: bytes, signature: str | None = None, **headers: str) -> Any:
    if signature is not None:
        headers["HTTP_X_VIGIA_SIGNATURE"] = signature
    return api().generic("POST", f"/api/v1/hooks/{pipeline}/{node}", body, content_type="application/json",
                         **headers)


def test_a_signed_post_is_accepted_and_announced_once(api: Any, org: Any, running: Any) -> None:
    pipeline, secret = running
    body = orjson.dumps({"door": "open", "sensor": 7})
    response = post(api, pipeline["id"], "door", body, webhooks.sign(secret, body))
    assert response.status_code == 202, response.content
    row = OutboxMessage.objects.get()
    envelope = orjson.loads(bytes(row.body))
    assert (row.type, row.exchange, row.routing_key) == (
        "pipeline.hook", "vigia.control", f"pipeline.hook.{org.pk}.{pipeline['id']}")
    assert envelope["org"] == str(org.pk) and str(row.id) == response.json()["message_id"]
    assert envelope["data"] == {"pipeline": pipeline["id"], "node": "door", "body": {"door": "open", "sensor": 7}}


def test_the_secret_is_shown_once_stored_encrypted_and_kept_across_saves(
    api: Any, operator: Any, viewer: Any, running: Any
) -> None:
    pipeline, secret = running
    stored = PipelineWebhook.objects.get(pipeline_id=pipeline["id"], node="door")
    assert secret not in stored.secret_encrypted and crypto.decrypt(stored.secret_encrypted) == secret
    assert api(viewer).get(f"/api/v1/pipelines/{pipeline['id']}/").json()["webhook_secrets"] == {}
    client = api(operator)
    renamed = client.patch(f"/api/v1/pipelines/{pipeline['id']}/", {"description": "front door"}, format="json")
    assert renamed.json()["webhook_secrets"] == {}
    second = {"id": "gate", "type": "api_webhook", "config": {}}
    graph = {"nodes": [*GRAPH["nodes"], second], "edges": [
        *GRAPH["edges"], {"source": "gate", "source_port": "data", "target": "alert", "target_port": "data"}]}
    grown = client.patch(f"/api/v1/pipelines/{pipeline['id']}/", {"graph": graph}, format="json")
    assert list(grown.json()["webhook_secrets"]) == ["gate"]
    assert crypto.decrypt(PipelineWebhook.objects.get(node="door").secret_encrypted) == secret
    client.patch(f"/api/v1/pipelines/{pipeline['id']}/", {"graph": {"nodes": [second], "edges": []}}, format="json")
    assert list(PipelineWebhook.objects.values_list("node", flat=True)) == ["gate"]
    body = b"{}"
    assert post(api, pipeline["id"], "door", body, webhooks.sign(secret, body)).status_code == 404


def test_rotation_replaces_the_secret_at_once(api: Any, operator: Any, viewer: Any, outsider: Any,
                                              running: Any) -> None:
    pipeline, old = running
    url = f"/api/v1/pipelines/{pipeline['id']}/webhooks/door/rotate"
    assert api(viewer).post(url).status_code == 403
    assert api(outsider).post(url).status_code == 404
    assert api(operator).post(f"/api/v1/pipelines/{pipeline['id']}/webhooks/alert/rotate").status_code == 404
    rotated = api(operator).post(url)
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["secret"]
    assert new != old and rotated.json()["url"] == f"/api/v1/hooks/{pipeline['id']}/door"
    body = b'{"door": "closed"}'
    assert post(api, pipeline["id"], "door", body, webhooks.sign(old, body)).status_code == 401
    assert post(api, pipeline["id"], "door", body, webhooks.sign(new, body)).status_code == 202


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("no signature", 401),
        ("signature of another body", 401),
        ("signature with another secret", 401),
        ("signature without prefix", 401),
        ("not json", 400),
        ("json array", 400),
        ("unknown node", 404),
        ("node that is not a webhook", 404),
        ("unknown pipeline", 404),
        ("too large", 413),
    ],
)
def test_bad_posts_are_refused_and_announce_nothing(api: Any, running: Any, case: str, status: int) -> None:
    pipeline, secret = running
    target, node, body = pipeline["id"], "door", b'{"door": "open"}'
    signature: str | None = webhooks.sign(secret, body)
    if case == "no signature":
        signature = None
    elif case == "signature of another body":
        signature = webhooks.sign(secret, b'{"door": "closed"}')
    elif case == "signature with another secret":
        signature = webhooks.sign("not-the-secret", body)
    elif case == "signature without prefix":
        signature = (signature or "").removeprefix("sha256=")
    elif case in ("not json", "json array"):
        body = b"door=open" if case == "not json" else b"[1, 2]"
        signature = webhooks.sign(secret, body)
    elif case == "unknown node":
        node = "window"
    elif case == "node that is not a webhook":
        node = "alert"
    elif case == "unknown pipeline":
        target = "00000000-0000-7000-8000-000000000000"
    elif case == "too large":
        body = orjson.dumps({"blob": "x" * webhooks.MAX_BODY_BYTES})
        signature = webhooks.sign(secret, body)
    response = post(api, target, node, body, signature)
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"]
    if status == 400:
        assert "body" in response.json()["error"]["fields"]
    assert not OutboxMessage.objects.exists()


def test_a_pipeline_that_is_not_running_answers_409(api: Any, operator: Any, running: Any) -> None:
    pipeline, secret = running
    assert api(operator).post(f"/api/v1/pipelines/{pipeline['id']}/stop").status_code == 200
    OutboxMessage.objects.all().delete()
    body = b'{"door": "open"}'
    response = post(api, pipeline["id"], "door", body, webhooks.sign(secret, body))
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_running"
    assert not OutboxMessage.objects.exists()


def test_signed_posts_over_the_limit_get_429_with_retry_after(
    api: Any, running: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, secret = running
    monkeypatch.setenv("VIGIA_HOOK_MAX_POSTS", "3")
    monkeypatch.setenv("VIGIA_HOOK_WINDOW_S", "3600")
    hook_limits.hook_settings.cache_clear()
    try:
        body = b'{"n": 1}'
        for _ in range(2):  # forged posts do not use up the sender's allowance
            assert post(api, pipeline["id"], "door", body, webhooks.sign("forged", body)).status_code == 401
        answers = [post(api, pipeline["id"], "door", body, webhooks.sign(secret, body)) for _ in range(4)]
    finally:
        hook_limits.hook_settings.cache_clear()
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert 1 <= int(answers[-1]["Retry-After"]) <= 3600
    assert answers[-1].json()["error"]["code"] == "throttled"
    assert OutboxMessage.objects.count() == 3
