"""The console's settings area and its frame (services/console/src/pages/settings, AppLayout) in a
real browser: e2e/settings.spec.ts against control + live + the outbox relay + the notifier, with a
migrated database of its own.

A channel's test goes the whole way: control's outbox, the relay, the broker, the notifier, and a
webhook stand-in of this test on the loopback (the notifier is allowed to reach 127.0.0.0/8 here),
which checks the signature; the page then shows the delivery the notifier recorded. A viewer is
seeded through the API to check what a non-admin sees.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.console.node import playwright
from tests.console.stack import PASSWORD, console_stack
from tests.support.databases import throwaway_database

pytestmark = pytest.mark.slow

DEMO_EMAIL = "admin@demo.vigia.local"
VIEWER_EMAIL = "viewer@demo.vigia.local"
WEBHOOK_SECRET = "console-settings-secret-0123"


@dataclass
class WebhookStandIn:
    """A loopback webhook receiver: records each POST whose X-Vigia-Signature is right; 401 otherwise."""

    received: list[bytes] = field(default_factory=list)
    refused: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def serve(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
                good = hmac.compare_digest(self.headers.get("X-Vigia-Signature", ""), expected)
                if good:
                    stand_in.received.append(body)
                else:
                    stand_in.refused += 1
                self.send_response(200 if good else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook() -> Iterator[WebhookStandIn]:
    stand_in = WebhookStandIn()
    stand_in.serve()
    yield stand_in
    assert stand_in.server is not None
    stand_in.server.shutdown()


@pytest.fixture
def settings_stack(tmp_path: Path, amqp_url: str, console_dist: Path, webhook: WebhookStandIn,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, dict[str, str]]]:
    """control serving the console, live, the relay and the notifier, with a viewer seeded."""
    monkeypatch.setenv("VIGIA_NOTIFIER_ALLOWED_NETWORKS", "127.0.0.0/8")
    with throwaway_database("vigia_console_settings") as database_url, \
            console_stack(tmp_path, database_url, amqp_url, console_dist, extra=("relay", "notifier")) as stack:
        with httpx.Client(base_url=stack.base, timeout=30) as http:
            login = http.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": PASSWORD})
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access']}"}
            viewer = http.post("/api/v1/users/", headers=auth, json={
                "email": VIEWER_EMAIL, "name": "Vera Viewer", "role": "viewer", "password": PASSWORD})
            assert viewer.status_code == 201, viewer.text
        try:
            yield stack.base, {"VIGIA_CONSOLE_EMAIL": DEMO_EMAIL, "VIGIA_CONSOLE_PASSWORD": PASSWORD,
                               "VIGIA_CONSOLE_VIEWER_EMAIL": VIEWER_EMAIL, "VIGIA_CONSOLE_WEBHOOK_URL": webhook.url,
                               "VIGIA_CONSOLE_WEBHOOK_SECRET": WEBHOOK_SECRET}
        except BaseException:
            print(stack.tails())
            raise


@pytest.mark.timeout(600)  # the session's console build may fall in it on a busy machine
def test_an_admin_runs_the_settings_and_a_viewer_sees_none_of_them(
        settings_stack: tuple[str, dict[str, str]], webhook: WebhookStandIn, tmp_path: Path) -> None:
    base, expected = settings_stack
    playwright("settings.spec.ts", base, tmp_path, expected, timeout=420)
    # One test message per browser project reached the stand-in, signed with the channel's secret.
    assert len(webhook.received) == 2, (webhook.received, webhook.refused)
    assert all(b'"test":true' in body.replace(b" ", b"") for body in webhook.received)
