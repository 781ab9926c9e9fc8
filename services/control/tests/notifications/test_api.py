"""Channels API: the shared CRUD/role/tenancy matrix (admins write, operators read), secrets that
go in and never come out, configs validated by the kind's model with the field named, the test
endpoint publishing an action through the outbox, and the deliveries of a channel and of an event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from services.control.tests.api_matrix import APIMatrix, unique_name
from vigia.common.channels.webhook import WebhookConfig
from vigia.common.messages import Envelope
from vigia.control.core import crypto
from vigia.control.core.choices import Role
from vigia.control.notifications.models import NotificationAttempt, NotificationChannel, NotificationDelivery
from vigia.control.observations.models import Event
from vigia.control.outbox.models import OutboxMessage

SECRET = "s3cret-signing-key-0123456789"
WEBHOOK = {"url": "https://hooks.example.com/vigia", "secret": SECRET, "headers": {"X-Team": "ops"}}


def make_channel(org: Any, name: str | None = None, **config: Any) -> NotificationChannel:
    channel = NotificationChannel(org=org, kind="webhook", name=name or unique_name("hook"))
    channel.config = WebhookConfig.model_validate({**WEBHOOK, **config})
    channel.save()
    return channel


@pytest.fixture
def viewer(make_user: Callable[..., Any]) -> Any:
    """The matrix's reading tests read as this user: channels are read from operator up."""
    return make_user(role=Role.OPERATOR)


class TestChannelAPI(APIMatrix):
    url = "/api/v1/channels/"
    model = NotificationChannel
    create_data = {"name": "hook", "kind": "webhook", "config": WEBHOOK}
    update_data = {"name": "hook renamed"}
    roles = {"create": Role.ADMIN, "update": Role.ADMIN, "destroy": Role.ADMIN}

    def make_object(self, org: Any) -> NotificationChannel:
        return make_channel(org)


def test_a_viewer_cannot_read_channels(api: Callable[..., Any], make_user: Callable[..., Any], org: Any) -> None:
    channel = make_channel(org)
    client = api(make_user(role=Role.VIEWER))
    assert client.get("/api/v1/channels/").status_code == 403
    assert client.get(f"/api/v1/channels/{channel.id}/").status_code == 403
    assert client.get(f"/api/v1/channels/{channel.id}/deliveries/").status_code == 403


def test_secrets_are_stored_encrypted_and_never_returned(api: Callable[..., Any], admin: Any) -> None:
    response = api(admin).post("/api/v1/channels/", {"name": "tg", "kind": "telegram", "config": {
        "bot_token": "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "recipients": ["-100123"]}}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert "bot_token" not in body["config"] and body["secrets_set"] == ["bot_token"]
    assert body["config"]["recipients"] == ["-100123"]
    row = NotificationChannel.objects.get(pk=body["id"])
    assert "AAAAAAAAAAAA" not in row.config_encrypted
    assert orjson.loads(crypto.decrypt(row.config_encrypted))["bot_token"].startswith("123456:")
    listed = api(admin).get("/api/v1/channels/").content.decode()
    assert "AAAAAAAAAAAA" not in listed


def test_an_update_without_the_secret_keeps_it(api: Callable[..., Any], admin: Any, org: Any) -> None:
    channel = make_channel(org)
    response = api(admin).patch(f"/api/v1/channels/{channel.id}/", {"config": {
        "url": "https://hooks.example.com/other"}}, format="json")
    assert response.status_code == 200, response.content
    stored = NotificationChannel.objects.get(pk=channel.id).config
    assert isinstance(stored, WebhookConfig)
    assert str(stored.url) == "https://hooks.example.com/other"
    assert stored.secret.get_secret_value() == SECRET
    assert stored.headers == {}  # the config is replaced whole, secrets excepted


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "webhook", "config": {"url": "ftp://x", "secret": SECRET}}, "config.url"),
    ({"kind": "webhook", "config": {"url": "https://x.example.com", "secret": "short"}}, "config.secret"),
    ({"kind": "webhook", "config": {**WEBHOOK, "nope": 1}}, "config.nope"),
    ({"kind": "pigeon", "config": {}}, "kind"),
    ({"kind": "email", "config": {"host": "smtp.example.com", "sender": "x@example.com", "tls": True}},
     "config"),
    ({"kind": "modbus", "config": {"host": "plc", "unit_id": 300}}, "config.unit_id"),
    ({"kind": "webhook", "config": [1]}, "config"),
])
def test_a_bad_config_is_refused_naming_the_field(api: Callable[..., Any], admin: Any, body: dict[str, Any],
                                                  field: str) -> None:
    count = NotificationChannel.objects.count()
    response = api(admin).post("/api/v1/channels/", {"name": unique_name("bad"), **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert NotificationChannel.objects.count() == count


def test_the_kind_cannot_change(api: Callable[..., Any], admin: Any, org: Any) -> None:
    channel = make_channel(org)
    response = api(admin).patch(f"/api/v1/channels/{channel.id}/", {"kind": "email"}, format="json")
    assert response.status_code == 400
    assert "kind" in response.json()["error"]["fields"]


def test_the_test_endpoint_publishes_an_action_through_the_outbox(api: Callable[..., Any], operator: Any,
                                                                  org: Any) -> None:
    channel = make_channel(org)
    response = api(operator).post(f"/api/v1/channels/{channel.id}/test/", {"locale": "en"}, format="json")
    assert response.status_code == 202, response.content
    action = response.json()["action"]
    row = OutboxMessage.objects.get(pk=action)
    assert (row.exchange, row.routing_key, row.type) == ("vigia.actions", "action.webhook", "action.webhook")
    envelope = Envelope.from_json(bytes(row.body))
    assert envelope.org == org.pk and str(envelope.id) == action
    assert envelope.data.channel == channel.id
    assert envelope.data.payload["test"] is True and envelope.data.locale == "en"
    assert SECRET not in bytes(row.body).decode()  # actions carry the channel's id, never its credentials


def test_testing_a_disabled_channel_answers_409_and_publishes_nothing(api: Callable[..., Any], admin: Any,
                                                                       org: Any) -> None:
    channel = make_channel(org)
    channel.enabled = False
    channel.save()
    count = OutboxMessage.objects.count()
    response = api(admin).post(f"/api/v1/channels/{channel.id}/test/", {}, format="json")
    assert response.status_code == 409
    assert OutboxMessage.objects.count() == count


def test_testing_another_orgs_channel_answers_404(api: Callable[..., Any], outsider: Any, org: Any) -> None:
    channel = make_channel(org)
    assert api(outsider).post(f"/api/v1/channels/{channel.id}/test/", {}, format="json").status_code == 404


def _delivery(org: Any, channel: NotificationChannel, event: uuid.UUID | None, attempts: int) -> NotificationDelivery:
    delivery = NotificationDelivery.objects.create(
        org=org, action_id=uuid.uuid4(), channel=channel, kind="webhook", event_id=event,
        recipient="", idempotency_key=uuid.uuid4().hex, status="delivered", attempts=attempts)
    for n in range(1, attempts + 1):
        NotificationAttempt.objects.create(org=org, delivery=delivery, attempt=n,
                                           status="delivered" if n == attempts else "failed",
                                           response="200" if n == attempts else "500", latency_ms=3.5)
    return delivery


def test_deliveries_are_listed_per_channel_and_per_event_with_their_attempts(
        api: Callable[..., Any], operator: Any, outsider: Any, org: Any, other_org: Any) -> None:
    channel = make_channel(org)
    event = Event.objects.create(org=org, time=datetime.now(UTC), event_type="intrusion", severity="high",
                                 score=0.9, site="hq", description="", sources=[])
    mine = _delivery(org, channel, event.id, attempts=3)
    _delivery(org, channel, None, attempts=1)
    body = api(operator).get(f"/api/v1/events/{event.id}/deliveries/").json()
    assert [d["id"] for d in body["results"]] == [str(mine.id)]
    assert [(a["attempt"], a["status"]) for a in body["results"][0]["attempts_list"]] == [
        (1, "failed"), (2, "failed"), (3, "delivered")]
    per_channel = api(operator).get(f"/api/v1/channels/{channel.id}/deliveries/").json()
    assert len(per_channel["results"]) == 2
    # Another organization sees neither the event's nor the channel's deliveries.
    assert api(outsider).get(f"/api/v1/events/{event.id}/deliveries/").status_code == 404
    assert api(outsider).get(f"/api/v1/channels/{channel.id}/deliveries/").status_code == 404


def test_channels_and_deliveries_filter(api: Callable[..., Any], operator: Any, org: Any) -> None:
    hook = make_channel(org)
    disabled = make_channel(org)
    disabled.enabled = False
    disabled.save()
    ok, failed = _delivery(org, hook, None, attempts=1), _delivery(org, hook, None, attempts=2)
    NotificationDelivery.objects.filter(pk=failed.pk).update(status="failed")
    client = api(operator)
    assert {c["id"] for c in client.get("/api/v1/channels/?enabled=false").json()["results"]} == {str(disabled.id)}
    assert client.get("/api/v1/channels/?kind=email").json()["results"] == []
    assert client.get("/api/v1/channels/?kind=pigeon").status_code == 400
    listed = client.get(f"/api/v1/channels/{hook.id}/deliveries/?status=failed").json()["results"]
    assert [d["id"] for d in listed] == [str(failed.id)]
    assert ok.status == "delivered"
    assert client.get(f"/api/v1/channels/{hook.id}/deliveries/?status=lost").status_code == 400


def test_kinds_lists_every_registered_kind_with_its_config_schema(api: Callable[..., Any], operator: Any,
                                                                   make_user: Callable[..., Any]) -> None:
    response = api(operator).get("/api/v1/channels/kinds/")
    assert response.status_code == 200, response.content
    kinds = {row["kind"]: row for row in response.json()}
    assert set(kinds) == {"email", "modbus", "telegram", "webhook", "whatsapp"}
    webhook = kinds["webhook"]
    assert webhook["label"] == "Webhook" and webhook["needs_recipient"] is False
    properties = webhook["config_schema"]["properties"]
    assert properties["secret"]["writeOnly"] is True and properties["secret"]["format"] == "password"
    assert set(webhook["config_schema"]["required"]) == {"url", "secret"}
    assert api(make_user(role=Role.VIEWER)).get("/api/v1/channels/kinds/").status_code == 403
