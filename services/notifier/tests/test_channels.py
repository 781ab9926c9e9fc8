"""Each channel kind against a real server on loopback: what arrives (paths, payloads, auth,
signatures), how failures are classed, and the SSRF guard refusing before any connection."""

from __future__ import annotations

import hashlib
import hmac
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from services.notifier.tests.standins import (
    TELEGRAM_TOKEN,
    WEBHOOK_SECRET,
    WHATSAPP_PHONE_ID,
    WHATSAPP_TOKEN,
    WHATSAPP_VERSION,
    HttpStandIn,
    ModbusStandIn,
    SmtpStandIn,
    http_standin,
)
from vigia.common.channels import OutgoingMessage, PermanentError, SendContext, TransientError, channel_kind, netguard
from vigia.common.channels.email import EmailConfig
from vigia.common.channels.modbus import ModbusConfig
from vigia.common.channels.netguard import NetworkPolicy, TargetRefused
from vigia.common.channels.telegram import TelegramConfig
from vigia.common.channels.webhook import WebhookConfig
from vigia.common.channels.whatsapp import WhatsAppConfig

LOOPBACK = NetworkPolicy.from_string("127.0.0.1/32")
JPEG = b"\xff\xd8\xff\xe0fake-jpeg-bytes\xff\xd9"
MESSAGE = OutgoingMessage(text="Pessoa na zona A", subject="[Vigia] intrusão", image=JPEG,
                          image_url="https://vigia.example.com/objects/snapshots/a.jpg?sig=x",
                          document={"action": "a-1", "text": "Pessoa na zona A", "payload": {"zone": "A"}})


@pytest.fixture
async def standin() -> AsyncIterator[HttpStandIn]:
    async with http_standin() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The client as the notifier builds it: its transport is also handed to the sends as
    ``SendContext.transport`` (see :func:`context`)."""
    transport = httpx.AsyncHTTPTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        TRANSPORTS[id(client)] = transport
        yield client
        del TRANSPORTS[id(client)]


TRANSPORTS: dict[int, httpx.AsyncBaseTransport] = {}


def context(http: httpx.AsyncClient, standin: HttpStandIn | None = None, *, direct: bool = True,
            **extra: Any) -> SendContext:
    """``direct``: with the client's transport, as the notifier runs (False: the client only)."""
    base = standin.url if standin else "http://127.0.0.1:9"
    return SendContext(http=http, transport=TRANSPORTS[id(http)] if direct else None, policy=LOOPBACK, timeout_s=5,
                       idempotency_key="key-1", channel_id="ch-1", telegram_api_url=base, whatsapp_api_url=base,
                       whatsapp_api_version=WHATSAPP_VERSION, **extra)


# --- webhook -------------------------------------------------------------------------------------

def webhook(url: str, **extra: Any) -> WebhookConfig:
    return WebhookConfig.model_validate({"url": url, "secret": WEBHOOK_SECRET, **extra})


@pytest.mark.parametrize("direct", [True, False], ids=["transport", "client"])
async def test_webhook_posts_the_document_signed_with_the_channels_secret(
        standin: HttpStandIn, http: httpx.AsyncClient, direct: bool) -> None:
    config = webhook(f"{standin.url}/hook/a", headers={"X-Team": "ops"})
    result = await channel_kind("webhook").send(config, "", MESSAGE, context(http, standin, direct=direct))
    assert result.status == "200"
    [seen] = standin.accepted("webhook")  # the stand-in only accepts a valid signature
    assert seen.json() == dict(MESSAGE.document)
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), seen.body, hashlib.sha256).hexdigest()
    assert seen.headers["x-vigia-signature"] == expected
    assert seen.headers["idempotency-key"] == "key-1"
    assert seen.headers["x-team"] == "ops"
    assert seen.headers["user-agent"] == "Vigia-Notifier/1"


async def test_a_wrong_secret_is_refused_by_the_receiver_as_permanent(standin: HttpStandIn,
                                                                     http: httpx.AsyncClient) -> None:
    config = WebhookConfig.model_validate({"url": f"{standin.url}/hook/a", "secret": "another-secret-0123456"})
    with pytest.raises(PermanentError, match="401"):
        await channel_kind("webhook").send(config, "", MESSAGE, context(http, standin))
    assert standin.accepted("webhook") == []


@pytest.mark.parametrize(("status", "error"), [(500, TransientError), (503, TransientError),
                                               (429, TransientError), (400, PermanentError),
                                               (404, PermanentError), (302, PermanentError)])
async def test_webhook_answers_are_classed_for_retry(standin: HttpStandIn, http: httpx.AsyncClient, status: int,
                                                     error: type[Exception]) -> None:
    standin.script = [status]
    with pytest.raises(error, match=str(status)):
        await channel_kind("webhook").send(webhook(f"{standin.url}/hook/a"), "", MESSAGE, context(http, standin))


async def test_webhook_connects_to_the_address_it_checked_keeping_the_host_name(
        standin: HttpStandIn, http: httpx.AsyncClient) -> None:
    # "localhost" resolves to loopback; allowing loopback lets it through, and the request reaches
    # the checked address with the name in the Host header.
    policy = NetworkPolicy.from_string("127.0.0.0/8,::1/128")
    await channel_kind("webhook").send(webhook(f"http://localhost:{standin.port}/hook/a"), "", MESSAGE,
                                       SendContext(http=http, transport=TRANSPORTS[id(http)], policy=policy,
                                                   idempotency_key="k"))
    [seen] = standin.accepted("webhook")
    assert seen.headers["host"] == f"localhost:{standin.port}"


class NoConnections(httpx.AsyncBaseTransport):
    """A transport that records any request it is asked to send (and sends none)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raise AssertionError(f"a request was attempted: {request.url}")


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/hook",                      # private
    "http://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
    "http://localhost:8080/hook",                # a name resolving to loopback
    "http://127.0.0.2/hook",                     # loopback outside the allow-list
    "http://[::1]/hook",                         # IPv6 loopback
    "http://[::ffff:10.0.0.1]/hook",             # IPv4-mapped private
    "http://0.0.0.0/hook",                       # unspecified
    "http://224.0.0.1/hook",                     # multicast
    "http://240.0.0.1/hook",                     # reserved
    "http://100.64.0.1/hook",                    # shared address space (carrier-grade NAT)
])
async def test_a_non_public_target_is_refused_before_any_connection(url: str, monkeypatch: pytest.MonkeyPatch
                                                                    ) -> None:
    attempted: list[Any] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:  # any socket connect in this test is a failure
        attempted.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    transport = NoConnections()
    async with httpx.AsyncClient(transport=transport) as client:
        ctx = SendContext(http=client, policy=LOOPBACK if "127.0.0.2" in url else NetworkPolicy())
        with pytest.raises(TargetRefused, match="non-public address"):
            await channel_kind("webhook").send(webhook(url), "", MESSAGE, ctx)
    assert transport.requests == [] and attempted == []


async def test_a_name_is_resolved_once_a_while_and_its_addresses_checked_on_every_use(
        monkeypatch: pytest.MonkeyPatch) -> None:
    name, port = "localhost", 20_000 + uuid.uuid4().int % 40_000  # answers are cached by name and port
    lookups: list[str] = []
    real_lookup = netguard._lookup

    async def lookup(host: str, port: int) -> list[Any]:
        lookups.append(host)
        return await real_lookup(host, port)

    monkeypatch.setattr(netguard, "_lookup", lookup)
    allowed = NetworkPolicy.from_string("127.0.0.0/8,::1/128")
    first = await netguard.resolve_checked(f"http://{name}:{port}/a", allowed)
    again = await netguard.resolve_checked(f"http://{name}:{port}/b", allowed)
    assert first.address == again.address and first.address.is_loopback
    assert lookups == [name]  # the second use took the cached answer
    with pytest.raises(TargetRefused, match="non-public address"):  # ... and still checked it
        await netguard.resolve_checked(f"http://{name}:{port}/c", NetworkPolicy())
    monkeypatch.setattr(netguard, "RESOLVED_TTL_S", 0.0)
    await netguard.resolve_checked(f"http://{name}:{port + 1}/d", allowed)
    await netguard.resolve_checked(f"http://{name}:{port + 1}/d", allowed)
    assert lookups == [name, name, name]  # expired at once: asked again


# --- e-mail --------------------------------------------------------------------------------------

@pytest.mark.parametrize("starttls", [False, True], ids=["plain", "starttls"])
async def test_email_is_sent_through_smtp_with_the_snapshot_attached(tmp_path: Path, starttls: bool,
                                                                     http: httpx.AsyncClient) -> None:
    server = SmtpStandIn(starttls=starttls, tmp_dir=tmp_path)
    server.start()
    try:
        config = EmailConfig(host="127.0.0.1", port=server.port, sender="vigia@example.com", starttls=starttls,
                             ca_certificate=server.cert_pem.decode() if server.cert_pem else None)
        result = await channel_kind("email").send(config, "guard@example.com", MESSAGE, context(http))
    finally:
        server.stop()
    assert result.status == "250"
    [(sender, rcpts, mail, over_tls)] = server.messages
    assert (sender, rcpts, over_tls) == ("vigia@example.com", ["guard@example.com"], starttls)
    assert mail["Subject"] == "[Vigia] intrusão"
    assert mail["X-Vigia-Idempotency-Key"] == "key-1"
    parts = list(mail.walk())
    assert any(p.get_content_type() == "text/plain" and "Pessoa na zona A" in p.get_payload(decode=True).decode()
               for p in parts)
    assert any(p.get_content_type() == "image/jpeg" and p.get_payload(decode=True) == JPEG for p in parts)


async def test_email_refuses_a_server_whose_certificate_it_cannot_verify(tmp_path: Path,
                                                                        http: httpx.AsyncClient) -> None:
    server = SmtpStandIn(starttls=True, tmp_dir=tmp_path)
    server.start()
    try:
        config = EmailConfig(host="127.0.0.1", port=server.port, sender="vigia@example.com", starttls=True)
        with pytest.raises(TransientError):
            await channel_kind("email").send(config, "guard@example.com", MESSAGE, context(http))
    finally:
        server.stop()
    assert server.messages == []


# --- Telegram ------------------------------------------------------------------------------------

def telegram(**extra: Any) -> TelegramConfig:
    return TelegramConfig.model_validate({"bot_token": TELEGRAM_TOKEN, **extra})


async def test_telegram_sends_the_snapshot_as_a_photo_with_the_text_as_caption(
        standin: HttpStandIn, http: httpx.AsyncClient) -> None:
    await channel_kind("telegram").send(telegram(), "-100123", MESSAGE, context(http, standin))
    [seen] = standin.accepted("telegram")
    assert seen.path == f"/bot{TELEGRAM_TOKEN}/sendPhoto"
    assert seen.form["chat_id"] == "-100123" and seen.form["caption"] == "Pessoa na zona A"
    assert seen.files["photo"] == JPEG


async def test_telegram_without_a_snapshot_sends_a_message(standin: HttpStandIn, http: httpx.AsyncClient) -> None:
    text_only = OutgoingMessage(text="Porta aberta")
    await channel_kind("telegram").send(telegram(), "@vigia_ops", text_only, context(http, standin))
    [seen] = standin.accepted("telegram")
    assert seen.path == f"/bot{TELEGRAM_TOKEN}/sendMessage"
    assert seen.form == {"chat_id": "@vigia_ops", "text": "Porta aberta", "disable_notification": False}


async def test_telegram_refusing_the_token_is_permanent(standin: HttpStandIn, http: httpx.AsyncClient) -> None:
    wrong = TelegramConfig.model_validate({"bot_token": "999999:WRONGtokenWRONGtokenWRONG"})
    with pytest.raises(PermanentError, match="401"):
        await channel_kind("telegram").send(wrong, "1", MESSAGE, context(http, standin))


# --- WhatsApp ------------------------------------------------------------------------------------

def whatsapp(**extra: Any) -> WhatsAppConfig:
    return WhatsAppConfig.model_validate({"phone_number_id": WHATSAPP_PHONE_ID, "access_token": WHATSAPP_TOKEN,
                                          "template_name": "vigia_alerta", **extra})


async def test_whatsapp_outside_the_window_sends_the_approved_template(standin: HttpStandIn,
                                                                      http: httpx.AsyncClient) -> None:
    await channel_kind("whatsapp").send(whatsapp(template_image_header=True), "+5511999990000", MESSAGE,
                                        context(http, standin))
    [seen] = standin.accepted("whatsapp")
    assert seen.path == f"/{WHATSAPP_VERSION}/{WHATSAPP_PHONE_ID}/messages"
    assert seen.headers["authorization"] == f"Bearer {WHATSAPP_TOKEN}"
    assert seen.json() == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "5511999990000", "type": "template",
        "template": {"name": "vigia_alerta", "language": {"code": "pt_BR"}, "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": MESSAGE.image_url}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "Pessoa na zona A"}]}]}}


class RecentlyWrote:
    def last_user_message(self, channel: str, recipient: str) -> datetime | None:
        return datetime.now(UTC) - timedelta(hours=2)


async def test_whatsapp_inside_the_window_sends_text_and_image(standin: HttpStandIn,
                                                              http: httpx.AsyncClient) -> None:
    await channel_kind("whatsapp").send(whatsapp(), "+5511999990000", MESSAGE,
                                        context(http, standin, conversations=RecentlyWrote()))
    text, image = (r.json() for r in standin.accepted("whatsapp"))
    assert text["type"] == "text" and text["text"]["body"] == "Pessoa na zona A"
    assert image["type"] == "image" and image["image"] == {"link": MESSAGE.image_url}


async def test_whatsapp_server_errors_are_retried_auth_errors_are_not(standin: HttpStandIn,
                                                                     http: httpx.AsyncClient) -> None:
    standin.script = [503]
    with pytest.raises(TransientError, match="503"):
        await channel_kind("whatsapp").send(whatsapp(), "+55119", MESSAGE, context(http, standin))
    wrong = whatsapp(access_token="EAAG-wrong-token-00000000000")
    with pytest.raises(PermanentError, match="401"):
        await channel_kind("whatsapp").send(wrong, "+55119", MESSAGE, context(http, standin))


# --- Modbus --------------------------------------------------------------------------------------

@pytest.fixture
async def plc() -> AsyncIterator[ModbusStandIn]:
    server = ModbusStandIn()
    await server.start()
    yield server
    await server.stop()


async def test_modbus_sets_a_coil(plc: ModbusStandIn, http: httpx.AsyncClient) -> None:
    config = ModbusConfig(host="127.0.0.1", port=plc.port, address=7)
    await channel_kind("modbus").send(config, "", OutgoingMessage(text=""), context(http))
    assert [(w.kind, w.address, w.value, w.device) for w in plc.writes] == [("coil", 7, 1, 1)]
    assert await plc.read_coil(7) is True


async def test_modbus_pulse_sets_then_resets_the_coil(plc: ModbusStandIn, http: httpx.AsyncClient) -> None:
    config = ModbusConfig(host="127.0.0.1", port=plc.port, address=3)
    message = OutgoingMessage(text="", params={"address": 4, "pulse_s": 0.05})  # the action's own address
    await channel_kind("modbus").send(config, "", message, context(http))
    assert [(w.kind, w.address, w.value) for w in plc.writes] == [("coil", 4, 1), ("coil", 4, 0)]
    assert await plc.read_coil(4) is False


async def test_modbus_writes_a_holding_register(plc: ModbusStandIn, http: httpx.AsyncClient) -> None:
    config = ModbusConfig(host="127.0.0.1", port=plc.port, register_type="holding", address=10, value=1234)
    await channel_kind("modbus").send(config, "", OutgoingMessage(text=""), context(http))
    assert [(w.kind, w.address, w.value) for w in plc.writes] == [("register", 10, 1234)]


async def test_modbus_failures_are_classed(plc: ModbusStandIn, http: httpx.AsyncClient) -> None:
    wrong_unit = ModbusConfig(host="127.0.0.1", port=plc.port, unit_id=9)
    with pytest.raises(PermanentError, match="exception reply"):
        await channel_kind("modbus").send(wrong_unit, "", OutgoingMessage(text=""), context(http))
    with pytest.raises(PermanentError, match=r"payload\.value"):
        await channel_kind("modbus").send(ModbusConfig(host="127.0.0.1", port=plc.port), "",
                                          OutgoingMessage(text="", params={"value": 7}), context(http))
    nobody = ModbusConfig(host="127.0.0.1", port=1, timeout_s=1)
    with pytest.raises(TransientError):
        await channel_kind("modbus").send(nobody, "", OutgoingMessage(text=""), context(http))
    assert orjson.dumps([w.value for w in plc.writes]) == b"[1]"  # only the wrong unit's write arrived
