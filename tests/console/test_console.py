"""The operator console (services/console) in `make test`: its Vitest suite, the TypeScript check,
the generated API types against control's OpenAPI document, and one Playwright smoke test in
Debian's Chromium against a real control + live with a migrated database and the demo
organization. Node tooling runs as subprocesses; without Node the tests skip saying so."""

from __future__ import annotations

import filecmp
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.console.node import BIN, CONSOLE, playwright, run
from tests.console.stack import PASSWORD, console_stack
from tests.support.databases import throwaway_database
from vigia.common.broker.errors import PublishError
from vigia.common.broker.sync import SyncPublisher
from vigia.common.messages import DeviceStatusChanged, make

pytestmark = pytest.mark.slow

DEMO_EMAIL = "admin@demo.vigia.local"
# The organization's zone for the smoke test: not the browser's (UTC) and not the default.
ORG_TIME_ZONE = "America/Manaus"
# The live message's envelope time: 15:04:05 UTC is 11:04:05 in Manaus (UTC-4).
FEED_TIME = datetime(2026, 1, 2, 15, 4, 5, tzinfo=UTC)


def test_vitest_suite_passes(node_modules: None) -> None:
    run([str(BIN / "vitest"), "run", "--reporter=dot"], timeout=180, what="vitest (services/console)")


def test_typescript_is_strict_clean(node_modules: None) -> None:
    run([str(BIN / "tsc"), "--noEmit"], timeout=180, what="tsc --noEmit (services/console)")


def test_generated_api_types_match_controls_openapi(node_modules: None, tmp_path: Path) -> None:
    fresh = tmp_path / "schema.d.ts"
    run(["scripts/generate-api.sh", str(fresh)], timeout=180, what="scripts/generate-api.sh",
        env={"PYTHON": sys.executable})
    checked_in = CONSOLE / "src" / "api" / "schema.d.ts"
    assert filecmp.cmp(fresh, checked_in, shallow=False), (
        "services/console/src/api/schema.d.ts is stale: control's OpenAPI changed. Run `make console-api` "
        "and commit the result (then fix what tsc reports).")


@pytest.fixture
def demo(tmp_path: Path, amqp_url: str, console_dist: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A built console served by a running control + live; yields the base URL and what the page
    should show (device count and id, the org's zone), while a status change is published to the
    feed every half second."""
    with throwaway_database("vigia_console") as database_url, \
            console_stack(tmp_path, database_url, amqp_url, console_dist) as stack:
        with httpx.Client(base_url=stack.base, timeout=30) as http:
            login = http.post("/api/v1/auth/login", json={"email": DEMO_EMAIL, "password": PASSWORD})
            assert login.status_code == 200, login.text
            org = login.json()["user"]["org"]["id"]
            auth = {"Authorization": f"Bearer {login.json()['access']}"}
            zone = http.patch("/api/v1/organization/settings", json={"time_zone": ORG_TIME_ZONE}, headers=auth)
            assert zone.status_code == 200, zone.text
            device = http.post("/api/v1/devices/", json={"name": "portao-1", "kind": "phone"}, headers=auth)
            assert device.status_code == 201, device.text
            device_id = device.json()["id"]
        stop = threading.Event()
        publisher = threading.Thread(target=_publish_status_changes, args=(amqp_url, org, device_id, stop),
                                     daemon=True)
        publisher.start()
        try:
            yield stack.base, {"VIGIA_CONSOLE_DEVICE": device_id, "VIGIA_CONSOLE_DEVICES": "1",
                               "VIGIA_CONSOLE_TIME_ZONE": ORG_TIME_ZONE, "VIGIA_CONSOLE_FEED_TIME": "11:04:05"}
        except BaseException:
            print(stack.tails())
            raise
        finally:
            stop.set()
            publisher.join(timeout=10)


def _publish_status_changes(amqp_url: str, org: str, device: str, stop: threading.Event) -> None:
    """What the fusion service would publish when the device comes online, until told to stop."""
    with SyncPublisher(amqp_url, connection_name="console-smoke") as publisher:
        while not stop.wait(0.5):
            data = DeviceStatusChanged(device=uuid.UUID(device), status="ON", previous="OFF", reason="test")
            envelope = make("device.status", org, "console-smoke", data, time_ns=int(FEED_TIME.timestamp()) * 10**9)
            try:
                publisher.publish(envelope)
            except PublishError:
                time.sleep(0.5)  # no live queue bound yet


def test_an_operator_signs_in_and_sees_the_dashboard_and_live_feed(demo: tuple[str, dict[str, str]],
                                                                   tmp_path: Path) -> None:
    base, expected = demo
    playwright("smoke.spec.ts", base, tmp_path, {"VIGIA_CONSOLE_EMAIL": DEMO_EMAIL,
                                                 "VIGIA_CONSOLE_PASSWORD": PASSWORD, **expected})
