"""Structured logs carry the trace id and never secrets; workers serve metrics and health over HTTP."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry, Counter

from vigia.common.observability import HealthRegistry, JsonFormatter, serve_metrics, trace_id, traced

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


@pytest.fixture
def log_lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test.observability.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.handlers.clear()


def _records(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_log_line_is_one_json_object_with_time_level_logger_and_message(log_lines) -> None:
    logger, stream = log_lines
    logger.info("camera %s started", "cam-1", extra={"camera": "cam-1", "fps": 5})
    [record] = _records(stream)
    assert record["message"] == "camera cam-1 started"
    assert record["level"] == "INFO"
    assert record["logger"] == logger.name
    assert (record["camera"], record["fps"]) == ("cam-1", 5)
    assert str(record["time"]).endswith("+00:00")


def test_log_lines_carry_the_trace_id_only_inside_traced(log_lines) -> None:
    logger, stream = log_lines
    logger.info("before")
    with traced(TRACEPARENT):
        logger.info("inside")
        with traced("00-" + "1" * 32 + "-" + "2" * 16 + "-01"):
            logger.info("nested")
        logger.info("back")
    logger.info("after")

    by_message = {r["message"]: r.get("trace_id") for r in _records(stream)}
    assert by_message == {"before": None, "inside": TRACE, "nested": "1" * 32, "back": TRACE, "after": None}


async def test_trace_context_does_not_leak_between_concurrent_tasks(log_lines) -> None:
    import asyncio

    logger, stream = log_lines

    async def handle(traceparent: str, message: str) -> None:
        with traced(traceparent):
            await asyncio.sleep(0.01)
            logger.info(message)

    other = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    await asyncio.gather(handle(TRACEPARENT, "first"), handle(other, "second"))
    by_message = {r["message"]: r.get("trace_id") for r in _records(stream)}
    assert by_message == {"first": TRACE, "second": "a" * 32}


def test_trace_id_extracts_the_trace_of_a_traceparent() -> None:
    assert trace_id(TRACEPARENT) == TRACE
    assert trace_id(None) is None
    assert trace_id("garbage") is None


def test_secret_looking_extra_fields_are_masked(log_lines) -> None:
    logger, stream = log_lines
    logger.warning("login", extra={"password": "hunter2", "api_token": "t0k", "rtsp_url": "rtsp://a:b@cam",
                                   "Authorization": "Bearer x", "client_secret": "s", "user": "ana"})
    [record] = _records(stream)
    for name in ("password", "api_token", "rtsp_url", "Authorization", "client_secret"):
        assert record[name] == "***", name
    assert record["user"] == "ana"
    assert "hunter2" not in stream.getvalue()


def test_secrets_nested_in_extra_fields_are_masked(log_lines) -> None:
    logger, stream = log_lines
    logger.info("camera changed", extra={"camera": {"name": "gate", "rtsp_url": "rtsp://admin:pw@10.0.0.5/s"},
                                         "headers": [{"authorization": "Bearer abc.def"}]})
    [record] = _records(stream)
    assert record["camera"] == {"name": "gate", "rtsp_url": "***"}
    assert record["headers"] == [{"authorization": "***"}]
    assert "admin:pw" not in stream.getvalue()
    assert "abc.def" not in stream.getvalue()


def test_credentials_inside_urls_are_masked_in_messages_and_values(log_lines) -> None:
    logger, stream = log_lines
    logger.error("cannot open rtsp://admin:s3cret@10.1.2.3:554/live", extra={"source": "amqp://guest:guest@mq/"})
    [record] = _records(stream)
    assert record["message"] == "cannot open rtsp://***@10.1.2.3:554/live"
    assert record["source"] == "amqp://***@mq/"
    assert "s3cret" not in stream.getvalue()


def test_url_passwords_holding_an_at_sign_are_masked_whole(log_lines) -> None:
    logger, stream = log_lines
    logger.info("probe", extra={"camera": "rtsp://admin:p@ss@cam.local/stream?u=a@b"})
    [record] = _records(stream)
    assert record["camera"] == "rtsp://***@cam.local/stream?u=a@b"


def test_exceptions_are_logged_with_their_traceback(log_lines) -> None:
    logger, stream = log_lines
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("handler failed")
    [record] = _records(stream)
    assert "RuntimeError: boom" in str(record["exc"])


# -- metrics and health over HTTP ------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[str, HealthRegistry, CollectorRegistry]]:
    registry = CollectorRegistry()
    checks = HealthRegistry()
    server = serve_metrics(0, host="127.0.0.1", registry=registry, checks=checks)
    yield f"http://127.0.0.1:{server.server_address[1]}", checks, registry
    server.shutdown()
    server.server_close()


def test_metrics_endpoint_serves_prometheus_text(served) -> None:
    base, _, registry = served
    Counter("vigia_test_widgets_total", "widgets made", ["kind"], registry=registry).labels("a").inc(3)
    response = httpx.get(f"{base}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'vigia_test_widgets_total{kind="a"} 3.0' in response.text


def test_healthz_answers_while_the_process_is_alive_even_if_not_ready(served) -> None:
    base, checks, _ = served
    checks.add("broker", lambda: False)
    response = httpx.get(f"{base}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_readyz_is_200_when_every_check_passes(served) -> None:
    base, checks, _ = served
    checks.add("broker", lambda: True)
    checks.add("database", lambda: True)
    response = httpx.get(f"{base}/readyz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"broker": True, "database": True}}


def test_readyz_is_503_naming_the_failing_check(served) -> None:
    base, checks, _ = served
    checks.add("broker", lambda: True)
    checks.add("database", lambda: False)
    response = httpx.get(f"{base}/readyz", timeout=5)
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "checks": {"broker": True, "database": False}}


def test_readyz_shows_the_details_a_service_described(served) -> None:
    base, checks, _ = served
    checks.add("broker", lambda: True)
    checks.describe("detector", {"name": "opencv", "why": "no YOLO weights"})
    response = httpx.get(f"{base}/readyz", timeout=5)
    assert response.json() == {"status": "ready", "checks": {"broker": True},
                               "details": {"detector": {"name": "opencv", "why": "no YOLO weights"}}}


def test_readyz_counts_a_check_that_raises_as_failing(served) -> None:
    base, checks, _ = served

    def redis_down() -> bool:
        raise ConnectionError("redis down")

    checks.add("redis", redis_down)
    response = httpx.get(f"{base}/readyz", timeout=5)
    assert response.status_code == 503
    assert response.json()["checks"] == {"redis": False}


def test_readyz_recovers_when_the_dependency_returns(served) -> None:
    base, checks, _ = served
    state = {"up": False}
    checks.add("broker", lambda: state["up"])
    assert httpx.get(f"{base}/readyz", timeout=5).status_code == 503
    state["up"] = True
    assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200


def test_unknown_paths_answer_404_json(served) -> None:
    base, _, _ = served
    response = httpx.get(f"{base}/nope", timeout=5)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
