"""The client address behind the proxies, end to end against the real control plane (uWSGI on
loopback, its own database, Redis): who the audit log names, and whom sign-in lock-outs lock.

The server trusts only 127.0.0.1 as a proxy (``VIGIA_TRUSTED_PROXIES=127.0.0.1/32``). A request
sent from 127.0.0.1 with ``X-Forwarded-For`` is a request relayed by that proxy (which appended the
address it saw); a request sent from another loopback address (127.0.0.2, bound as the source) is
a client talking to control directly, whatever header it sends.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.support.databases import throwaway_database
from tests.support.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
PROXY, DIRECT = "127.0.0.1", "127.0.0.2"
PASSWORD = "a-long-test-passphrase-for-security-7"
ADMIN_EMAIL = "admin@demo.vigia.local"  # bootstrap_demo's admin
MAX_PER_ACCOUNT, MAX_PER_ADDRESS = 3, 6


@dataclass
class Control:
    base: str
    admin_token: str
    operator: dict[str, Any]
    operator_token: str

    def client(self, source: str = PROXY) -> httpx.Client:
        """An HTTP client whose connections leave from ``source`` (a loopback address)."""
        return httpx.Client(base_url=self.base, timeout=30,
                            transport=httpx.HTTPTransport(local_address=source))

    def login(self, email: str, password: str, *, source: str = PROXY,
              forwarded_for: str | None = None) -> httpx.Response:
        headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
        with self.client(source) as http:
            return http.post("/api/v1/auth/login", json={"email": email, "password": password}, headers=headers)

    def audit(self, **params: str) -> list[dict[str, Any]]:
        with self.client() as http:
            response = http.get("/api/v1/audit/", params=params,
                                headers={"Authorization": f"Bearer {self.admin_token}"})
        assert response.status_code == 200, response.text
        return list(response.json()["results"])


def client_ip() -> str:
    """A client address of its own for one test (IPv6 documentation range): no test shares a lock.

    Written in canonical form (``2001:db8::bbc:2e7b``, not ``…::0bbc:…``): the server normalises
    what it reads, so the test compares against the normalised spelling."""
    return str(ipaddress.IPv6Address(f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"))


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "vigia.control", *argv], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def control() -> Iterator[Control]:
    redis_url = os.environ.get("VIGIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    store = redis.Redis.from_url(redis_url)
    store.flushdb()
    port = free_port()
    with throwaway_database("security_addr") as database_url:
        env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_REDIS_URL": redis_url,
               "VIGIA_TRUSTED_PROXIES": f"{PROXY}/32", "VIGIA_DEMO_PASSWORD": PASSWORD,
               "VIGIA_SIGNIN_MAX_FAILURES_PER_ACCOUNT": str(MAX_PER_ACCOUNT),
               "VIGIA_SIGNIN_MAX_FAILURES_PER_ADDRESS": str(MAX_PER_ADDRESS)}
        _run(["bootstrap_demo"], env)
        server = subprocess.Popen([sys.executable, "-m", "vigia.control", "serve", "--bind", f"127.0.0.1:{port}",
                                   "--workers", "1"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, "control did not start"
                time.sleep(0.2)
            admin_token = httpx.post(f"{base}/api/v1/auth/login", json={
                "email": ADMIN_EMAIL, "password": PASSWORD}).json()["access"]
            operator = httpx.post(f"{base}/api/v1/users/", headers={"Authorization": f"Bearer {admin_token}"},
                                  json={"email": "operator@demo.vigia.local", "role": "operator",
                                        "password": PASSWORD}).json()
            operator_token = httpx.post(f"{base}/api/v1/auth/login", json={
                "email": operator["email"], "password": PASSWORD}).json()["access"]
            yield Control(base, admin_token, operator, operator_token)
        finally:
            server.terminate()
            server.wait(30)
            store.flushdb()
            store.close()


def signed_in_from(control: Control, **login: Any) -> str:
    """Sign the operator in as told; the address the audit log recorded for that sign-in."""
    before = {row["id"] for row in control.audit(action="sign_in", object_id=control.operator["id"])}
    response = control.login(control.operator["email"], PASSWORD, **login)
    assert response.status_code == 200, response.text
    (row,) = [r for r in control.audit(action="sign_in", object_id=control.operator["id"]) if r["id"] not in before]
    return str(row["ip"])


def test_a_direct_peer_is_the_client(control: Control) -> None:
    assert signed_in_from(control, source=DIRECT) == DIRECT


def test_one_trusted_hop_names_the_client(control: Control) -> None:
    assert signed_in_from(control, source=PROXY, forwarded_for="198.51.100.23") == "198.51.100.23"


def test_a_forged_header_passed_through_a_trusted_proxy_loses_to_what_the_proxy_appended(control: Control) -> None:
    real = client_ip()
    # The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it really saw.
    assert signed_in_from(control, source=PROXY, forwarded_for=f"1.2.3.4, {real}") == real


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored(control: Control) -> None:
    assert signed_in_from(control, source=DIRECT, forwarded_for="1.2.3.4") == DIRECT


def test_a_lock_out_from_one_address_leaves_the_account_usable_from_another(control: Control) -> None:
    attacker, owner = client_ip(), client_ip()
    email = control.operator["email"]
    for _ in range(MAX_PER_ACCOUNT):
        assert control.login(email, "wrong-password-wrong", forwarded_for=attacker).status_code == 401
    refused = control.login(email, PASSWORD, forwarded_for=attacker)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused.headers["Retry-After"]) >= 1
    # Both come through the same proxy: only the attacker's address is locked.
    assert control.login(email, PASSWORD, forwarded_for=owner).status_code == 200
    rows = control.audit(object_id=control.operator["id"])
    attacker_rows = sorted((row["action"], row["status_code"]) for row in rows if row["ip"] == attacker)
    assert attacker_rows == sorted([("sign_in_failed", 401)] * MAX_PER_ACCOUNT
                                   + [("account_locked_out", 401), ("sign_in_refused", 429)])
    for _ in range(50):  # the sign-in's audit row is committed after its answer is sent
        if any(r["ip"] == owner for r in rows):
            break
        time.sleep(0.1)
        rows = control.audit(object_id=control.operator["id"])
    assert [(r["action"], r["status_code"]) for r in rows if r["ip"] == owner] == [("sign_in", 200)]


def test_one_address_failing_across_accounts_is_locked_out_of_all(control: Control) -> None:
    sprayer = client_ip()
    for n in range(MAX_PER_ADDRESS):  # one guess per account: no account reaches its own limit
        email = f"guess-{n}@demo.vigia.local"
        assert control.login(email, "wrong-password-wrong", forwarded_for=sprayer).status_code == 401
    assert control.login(control.operator["email"], PASSWORD, forwarded_for=sprayer).status_code == 429
    assert control.login(control.operator["email"], PASSWORD, forwarded_for=client_ip()).status_code == 200


def test_an_admin_unlocks_an_account_and_an_operator_cannot(control: Control) -> None:
    attacker = client_ip()
    email = control.operator["email"]
    for _ in range(MAX_PER_ACCOUNT):
        control.login(email, "wrong-password-wrong", forwarded_for=attacker)
    assert control.login(email, PASSWORD, forwarded_for=attacker).status_code == 429
    unlock = f"/api/v1/users/{control.operator['id']}/unlock/"
    with control.client() as http:
        assert http.post(unlock, headers={"Authorization": f"Bearer {control.operator_token}"}).status_code == 403
        assert control.login(email, PASSWORD, forwarded_for=attacker).status_code == 429
        assert http.post(unlock, headers={"Authorization": f"Bearer {control.admin_token}"}).status_code == 204
    assert control.login(email, PASSWORD, forwarded_for=attacker).status_code == 200
    (row,) = control.audit(action="user_unlocked", object_id=control.operator["id"])
    assert row["user_email"] == ADMIN_EMAIL and row["status_code"] == 204
