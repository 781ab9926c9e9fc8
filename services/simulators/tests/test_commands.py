"""The simulators' command endpoint (vigia.simulators.commands) over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from vigia.simulators.commands import MAX_BODY, CommandError, CommandServer


@pytest.fixture
def server() -> Iterator[tuple[CommandServer, list[dict[str, Any]]]]:
    calls: list[dict[str, Any]] = []

    def echo(body: dict[str, Any]) -> dict[str, Any]:
        if "bad" in body:
            raise CommandError("bad", "bad must not be given")
        if "boom" in body:
            raise RuntimeError("boom")
        calls.append(body)
        return {"got": body}

    commands = CommandServer({"echo": echo}).start()
    try:
        yield commands, calls
    finally:
        commands.close()


def test_a_command_gets_the_json_object_and_answers_202(server: tuple[CommandServer, list[dict[str, Any]]]) -> None:
    commands, calls = server
    base = f"http://127.0.0.1:{commands.port}"
    answer = httpx.post(f"{base}/echo", json={"phone": 1})
    assert answer.status_code == 202 and answer.json() == {"got": {"phone": 1}}
    assert httpx.post(f"{base}/echo").json() == {"got": {}}  # no body: an empty object
    assert calls == [{"phone": 1}, {}]
    assert httpx.get(f"{base}/").json() == {"commands": ["echo"]}


def test_bad_requests_get_a_clear_error_and_reach_no_handler(
        server: tuple[CommandServer, list[dict[str, Any]]]) -> None:
    commands, calls = server
    base = f"http://127.0.0.1:{commands.port}"
    unknown = httpx.post(f"{base}/launch", json={})
    assert unknown.status_code == 404 and unknown.json()["commands"] == ["echo"]
    assert httpx.get(f"{base}/echo").status_code == 405
    assert httpx.put(f"{base}/echo", json={}).status_code == 405
    for body in (b"[1, 2]", b"{not json", b"3"):
        answer = httpx.post(f"{base}/echo", content=body)
        assert answer.status_code == 400 and "JSON object" in answer.json()["detail"]
    assert httpx.post(f"{base}/echo", content=b"x" * (MAX_BODY + 1)).status_code == 400
    refused = httpx.post(f"{base}/echo", json={"bad": 1})
    assert refused.status_code == 400 and refused.json() == {"detail": "bad must not be given", "field": "bad"}
    assert calls == []


def test_a_failing_handler_answers_500_and_the_server_keeps_serving(
        server: tuple[CommandServer, list[dict[str, Any]]]) -> None:
    commands, _ = server
    base = f"http://127.0.0.1:{commands.port}"
    assert httpx.post(f"{base}/echo", json={"boom": 1}).status_code == 500
    assert httpx.post(f"{base}/echo", json={"ok": 1}).status_code == 202


def test_it_listens_on_loopback_only() -> None:
    commands = CommandServer({})
    try:
        assert commands._server.server_address[0] == "127.0.0.1"
    finally:
        commands.close()
