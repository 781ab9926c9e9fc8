"""Loopback stand-ins for the far sides the notifier talks to.

* :class:`HttpStandIn`: one HTTP server (uvicorn + Starlette) speaking the three HTTP APIs used —
  a webhook receiver that checks the HMAC signature, the Telegram Bot API (``/bot<token>/sendMessage``,
  ``/bot<token>/sendPhoto``) and the WhatsApp Cloud API (``/<version>/<phone id>/messages`` with a
  Bearer token). It records every request and answers from a script (e.g. 500, 500, 500, then 200);
  a request can be held until the test lets it go (to kill the notifier mid-delivery).
* :class:`SmtpStandIn`: aiosmtpd, optionally requiring STARTTLS with a self-signed certificate.
* :class:`ModbusStandIn`: pymodbus' server with coils and holding registers, recording every
  write request it receives.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.processes import free_port

TELEGRAM_TOKEN = "123456789:TESTtokenTESTtokenTESTtoken_abc"
WHATSAPP_TOKEN = "EAAG-test-access-token-0123456789"
WHATSAPP_PHONE_ID = "1098765432"
WHATSAPP_VERSION = "v21.0"
WEBHOOK_SECRET = "webhook-secret-0123456789"


@dataclass
class Received:
    """One request as the stand-in saw it."""

    api: str                 # webhook | telegram | whatsapp
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0          # what the stand-in answered (0: the client went away first)
    form: dict[str, Any] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def json(self) -> Any:
        return orjson.loads(self.body)


class HttpStandIn:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[int] = []          # statuses answered in turn; 200 once it is empty
        self.hold: asyncio.Event | None = None  # set: requests wait for it before answering
        self.dropped: set[int] = set()  # id() of held requests whose client is gone: answered nothing
        self.arrived = asyncio.Event()
        self.port = 0
        self.app = Starlette(routes=[
            Route("/hook/{name}", self._webhook, methods=["POST"]),
            Route("/bot{token}/{method}", self._telegram, methods=["POST"]),
            Route("/{version}/{phone}/messages", self._whatsapp, methods=["POST"]),
        ])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def accepted(self, api: str) -> list[Received]:
        return [r for r in self.received if r.api == api and 200 <= r.status < 300]

    async def _answer(self, record: Received) -> int:
        self.received.append(record)
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        if id(record) in self.dropped:
            return 499
        status = self.script.pop(0) if self.script else 200
        record.status = status
        return status

    async def _webhook(self, request: Request) -> Response:
        body = await request.body()
        record = Received("webhook", request.url.path, dict(request.headers), body)
        expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-vigia-signature", ""), expected):
            self.received.append(record)
            record.status = 401
            return JSONResponse({"error": "bad signature"}, status_code=401)
        status = await self._answer(record)
        return JSONResponse({"ok": status < 300}, status_code=status)

    async def _telegram(self, request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        record = Received("telegram", request.url.path, dict(request.headers), b"")
        if method == "sendPhoto":
            form = await request.form()
            for name, value in form.multi_items():
                if hasattr(value, "read"):
                    record.files[name] = await value.read()
                else:
                    record.form[name] = value
        else:
            record.body = await request.body()
            record.form = orjson.loads(record.body)
        if token != TELEGRAM_TOKEN or method not in ("sendMessage", "sendPhoto"):
            self.received.append(record)
            record.status = 401
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        status = await self._answer(record)
        if status >= 300:
            return JSONResponse({"ok": False, "error_code": status, "description": "stand-in"}, status_code=status)
        return JSONResponse({"ok": True, "result": {"message_id": len(self.received)}})

    async def _whatsapp(self, request: Request) -> Response:
        body = await request.body()
        record = Received("whatsapp", request.url.path, dict(request.headers), body)
        if (request.headers.get("authorization") != f"Bearer {WHATSAPP_TOKEN}"
                or request.path_params["version"] != WHATSAPP_VERSION
                or request.path_params["phone"] != WHATSAPP_PHONE_ID):
            self.received.append(record)
            record.status = 401
            return JSONResponse({"error": {"message": "Invalid OAuth access token", "code": 190}}, status_code=401)
        status = await self._answer(record)
        if status >= 300:
            return JSONResponse({"error": {"message": "stand-in", "code": status}}, status_code=status)
        return JSONResponse({"messaging_product": "whatsapp", "messages": [{"id": f"wamid.{len(self.received)}"}]})


@asynccontextmanager
async def http_standin() -> AsyncIterator[HttpStandIn]:
    standin = HttpStandIn()
    server = uvicorn.Server(uvicorn.Config(standin.app, host="127.0.0.1", port=0, log_config=None,
                                           lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    standin.port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield standin
    finally:
        if standin.hold is not None:
            standin.hold.set()
        server.should_exit = True
        await task


# --- SMTP -----------------------------------------------------------------------------------------

def self_signed(host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """A self-signed certificate (PEM) for ``host`` and its key (PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


class SmtpStandIn:
    """aiosmtpd on loopback collecting every message; ``starttls`` requires an upgrade first."""

    def __init__(self, starttls: bool, tmp_dir: Any) -> None:
        self.messages: list[tuple[str, list[str], Message, bool]] = []  # sender, rcpts, message, over TLS
        self.port = free_port()
        self.cert_pem: bytes | None = None
        self.starttls = starttls
        self.tmp_dir = tmp_dir

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), mail, session.ssl is not None))
        return "250 OK"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        kwargs: dict[str, Any] = {}
        if self.starttls:
            cert, key = self_signed()
            self.cert_pem = cert
            (self.tmp_dir / "cert.pem").write_bytes(cert)
            (self.tmp_dir / "key.pem").write_bytes(key)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.tmp_dir / "cert.pem", self.tmp_dir / "key.pem")
            kwargs = {"tls_context": context, "require_starttls": True}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


# --- Modbus ---------------------------------------------------------------------------------------

@dataclass
class ModbusWriteSeen:
    kind: str        # coil | register
    address: int
    value: int
    device: int


class ModbusStandIn:
    """pymodbus' TCP server (unit 1: 100 coils, 100 holding registers), recording the writes it
    receives in order."""

    def __init__(self) -> None:
        self.port = free_port()
        self.writes: list[ModbusWriteSeen] = []

    def _trace(self, sending: bool, pdu: Any) -> Any:
        if not sending:
            name = type(pdu).__name__
            if name == "WriteSingleCoilRequest":
                self.writes.append(ModbusWriteSeen("coil", pdu.address, int(pdu.bits[0]), pdu.dev_id))
            elif name == "WriteSingleRegisterRequest":
                self.writes.append(ModbusWriteSeen("register", pdu.address, int(pdu.registers[0]), pdu.dev_id))
        return pdu

    async def start(self) -> None:
        from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
        from pymodbus.server import ModbusTcpServer

        device = ModbusDeviceContext(co=ModbusSequentialDataBlock(1, [False] * 100),
                                     hr=ModbusSequentialDataBlock(1, [0] * 100))
        self.server = ModbusTcpServer(ModbusServerContext(devices={1: device}, single=False),
                                      address=("127.0.0.1", self.port), trace_pdu=self._trace)
        self.task = asyncio.create_task(self.server.serve_forever())
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.02)
        raise AssertionError("the Modbus stand-in never listened")

    async def read_coil(self, address: int) -> bool:
        from pymodbus.client import AsyncModbusTcpClient

        client = AsyncModbusTcpClient("127.0.0.1", port=self.port, retries=0)
        await client.connect()
        try:
            return bool((await client.read_coils(address, count=1, device_id=1)).bits[0])
        finally:
            client.close()

    async def stop(self) -> None:
        await self.server.shutdown()
        self.task.cancel()
