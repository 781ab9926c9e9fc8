"""Camera → MediaMTX path sync against an HTTP server speaking MediaMTX's control API v3.

MediaMTX itself cannot run here (an external service), so ``FakeMediaMTX`` is a real HTTP server
(uvicorn on a free port) with MediaMTX's semantics for the endpoints the sync uses: basic auth,
``add`` answers 400 for an existing path, ``patch``/``delete`` 404 for a missing one, ``list`` pages.
The end-to-end test runs the ``mediamtx_sync`` command as a process against the real broker.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from django.db import connection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vigia.common.broker import AsyncPublisher
from vigia.common.messages import CameraChanged, CameraDeleted, make
from vigia.control.cameras.mediamtx import (
    MediaMTXError,
    MediaMTXPaths,
    MediaMTXSettings,
    is_managed,
    reconcile,
    sync_camera,
)
from vigia.control.cameras.models import Camera
from vigia.control.tenancy.models import Organization

USER, PASSWORD = "vigia", "s3cret-api-pass"


class FakeMediaMTX:
    """The path-configuration part of MediaMTX's API v3, in memory."""

    def __init__(self) -> None:
        self.paths: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.app = Starlette(routes=[
            Route("/v3/config/paths/list", self.list, methods=["GET"]),
            Route("/v3/config/paths/get/{name:path}", self.get, methods=["GET"]),
            Route("/v3/config/paths/add/{name:path}", self.add, methods=["POST"]),
            Route("/v3/config/paths/patch/{name:path}", self.patch, methods=["PATCH"]),
            Route("/v3/config/paths/delete/{name:path}", self.delete, methods=["DELETE"]),
        ])

    @staticmethod
    def _authorized(request: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return request.headers.get("authorization") == expected

    async def _guard(self, request: Request) -> Response | None:
        self.requests.append((request.method, request.url.path))
        if not self._authorized(request):
            return JSONResponse({"status": "error", "error": "authentication error"}, 401)
        return None

    async def list(self, request: Request) -> Response:
        if (denied := await self._guard(request)) is not None:
            return denied
        per_page = int(request.query_params.get("itemsPerPage", 100))
        page = int(request.query_params.get("page", 0))
        items = [{"name": n, **c} for n, c in sorted(self.paths.items())]
        pages = (len(items) + per_page - 1) // per_page
        return JSONResponse({"pageCount": pages, "itemCount": len(items),
                             "items": items[page * per_page:(page + 1) * per_page]})

    async def get(self, request: Request) -> Response:
        if (denied := await self._guard(request)) is not None:
            return denied
        name = request.path_params["name"]
        if name not in self.paths:
            return JSONResponse({"status": "error", "error": "path configuration not found"}, 404)
        return JSONResponse({"name": name, **self.paths[name]})

    async def add(self, request: Request) -> Response:
        if (denied := await self._guard(request)) is not None:
            return denied
        name = request.path_params["name"]
        if name in self.paths:
            return JSONResponse({"status": "error", "error": "path already exists"}, 400)
        conf = {"source": "publisher", "sourceOnDemand": False, "rtspTransport": "automatic", **await request.json()}
        if (invalid := self._invalid(conf)) is not None:
            return invalid
        self.paths[name] = conf
        return Response(status_code=200)

    @staticmethod
    def _invalid(conf: dict[str, Any]) -> Response | None:
        """MediaMTX's own path validation, for the parts the sync touches."""
        if conf.get("sourceOnDemand") and conf.get("source") == "publisher":
            return JSONResponse({"status": "error", "error": "'sourceOnDemand' is useless when source is "
                                 "'publisher'"}, 400)
        if conf.get("rtspTransport") not in ("automatic", "udp", "multicast", "tcp"):
            return JSONResponse({"status": "error", "error": "invalid rtspTransport"}, 400)
        return None

    async def patch(self, request: Request) -> Response:
        if (denied := await self._guard(request)) is not None:
            return denied
        name = request.path_params["name"]
        if name not in self.paths:
            return JSONResponse({"status": "error", "error": "path configuration not found"}, 404)
        conf = {**self.paths[name], **await request.json()}
        if (invalid := self._invalid(conf)) is not None:
            return invalid
        self.paths[name] = conf
        return Response(status_code=200)

    async def delete(self, request: Request) -> Response:
        if (denied := await self._guard(request)) is not None:
            return denied
        name = request.path_params["name"]
        if self.paths.pop(name, None) is None:
            return JSONResponse({"status": "error", "error": "path configuration not found"}, 404)
        return Response(status_code=200)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mediamtx() -> Iterator[tuple[FakeMediaMTX, str]]:
    fake = FakeMediaMTX()
    port = _free_port()
    # log_config=None: uvicorn's default logging config stops its loggers propagating, which would
    # hide them from later tests' caplog in this process.
    server = uvicorn.Server(uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield fake, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def settings_() -> MediaMTXSettings:
    return MediaMTXSettings(mediamtx_api_user=USER, mediamtx_api_password=PASSWORD,  # type: ignore[arg-type]
                            mediamtx_rtsp_transport="tcp", mediamtx_on_demand_close_s=15)


@pytest.fixture
def paths(mediamtx: tuple[FakeMediaMTX, str]) -> Iterator[MediaMTXPaths]:
    client = MediaMTXPaths(mediamtx[1], USER, PASSWORD)
    yield client
    client.close()


def _camera(org: Organization, name: str, url: str, enabled: bool = True) -> Camera:
    camera = Camera(org=org, name=name, enabled=enabled)
    camera.rtsp_url = url
    camera.save()
    return camera


def test_reconcile_adds_patches_and_deletes_only_managed_paths(
        mediamtx: tuple[FakeMediaMTX, str], paths: MediaMTXPaths, settings_: MediaMTXSettings,
        org: Organization, other_org: Organization) -> None:
    fake, _ = mediamtx
    moved = _camera(org, "gate", "rtsp://user:pw@10.0.0.5/new")
    fresh = _camera(other_org, "dock", "rtsp://10.0.0.6/stream")
    _camera(org, "off", "rtsp://10.0.0.7/s", enabled=False)
    stale = str(uuid.uuid4())
    fake.paths = {str(moved.id): {"source": "rtsp://user:pw@10.0.0.5/old", "sourceOnDemand": True,
                                  "rtspTransport": "automatic"},
                  stale: {"source": "rtsp://gone/"},
                  "welcome": {"source": "publisher"}}  # hand-written in mediamtx.yml: not ours

    report = reconcile(paths, settings_)

    assert report.added == [str(fresh.id)] and report.patched == [str(moved.id)] and report.deleted == [stale]
    assert set(fake.paths) == {str(moved.id), str(fresh.id), "welcome"}
    assert fake.paths[str(moved.id)]["source"] == "rtsp://user:pw@10.0.0.5/new"
    assert fake.paths[str(fresh.id)] == {"source": "rtsp://10.0.0.6/stream", "sourceOnDemand": True,
                                         "sourceOnDemandStartTimeout": "10s", "sourceOnDemandCloseAfter": "15s",
                                         "rtspTransport": "tcp"}
    fake.requests.clear()
    again = reconcile(paths, settings_)
    assert (again.added, again.patched, again.deleted) == ([], [], [])
    assert [m for m, _ in fake.requests] == ["GET"]  # nothing to change: only the list


def test_reconcile_reads_every_page(mediamtx: tuple[FakeMediaMTX, str], paths: MediaMTXPaths,
                                    settings_: MediaMTXSettings, db: Any) -> None:
    fake, _ = mediamtx
    fake.paths = {str(uuid.uuid4()): {"source": "rtsp://x/"} for _ in range(1203)}
    report = reconcile(paths, settings_, cameras=[])
    assert len(report.deleted) == 1203 and fake.paths == {}


def test_sync_camera_follows_the_row(mediamtx: tuple[FakeMediaMTX, str], paths: MediaMTXPaths,
                                     settings_: MediaMTXSettings, org: Organization) -> None:
    fake, _ = mediamtx
    camera = _camera(org, "lobby", "rtsp://10.1.1.1/a")
    assert sync_camera(paths, settings_, camera.id) == "put"
    assert fake.paths[str(camera.id)]["source"] == "rtsp://10.1.1.1/a"
    camera.rtsp_url = "rtsp://10.1.1.1/b"
    camera.save()
    assert sync_camera(paths, settings_, camera.id) == "put"  # patched in place
    assert fake.paths[str(camera.id)]["source"] == "rtsp://10.1.1.1/b"
    camera.enabled = False
    camera.save()
    assert sync_camera(paths, settings_, camera.id) == "deleted"
    assert sync_camera(paths, settings_, camera.id) == "absent"  # redelivered: nothing left to do
    camera.delete()
    assert sync_camera(paths, settings_, camera.id) == "absent"


def test_wrong_credentials_raise_and_change_nothing(mediamtx: tuple[FakeMediaMTX, str],
                                                    settings_: MediaMTXSettings, org: Organization) -> None:
    fake, url = mediamtx
    camera = _camera(org, "yard", "rtsp://10.2.2.2/a")
    wrong = MediaMTXPaths(url, USER, "wrong")
    with pytest.raises(MediaMTXError, match="401"):
        sync_camera(wrong, settings_, camera.id)
    with pytest.raises(MediaMTXError, match="authentication"):
        reconcile(wrong, settings_)
    wrong.close()
    assert fake.paths == {}


def test_only_uuid_names_are_managed() -> None:
    assert is_managed(str(uuid.uuid4()))
    assert not is_managed("welcome") and not is_managed("all_others") and not is_managed("~^cam")
    assert not is_managed(uuid.uuid4().hex)  # not the canonical form the sync writes


@pytest.mark.django_db(transaction=True)
def test_mediamtx_sync_process_reconciles_then_follows_camera_messages(
        mediamtx: tuple[FakeMediaMTX, str], org: Organization, amqp_url: str) -> None:
    fake, url = mediamtx
    first = _camera(org, "north", "rtsp://10.3.3.1/a")
    second = _camera(org, "south", "rtsp://10.3.3.2/a")
    env = {**os.environ, "VIGIA_DATABASE_URL": _database_url(), "VIGIA_AMQP_URL": amqp_url,
           "VIGIA_MEDIAMTX_API_URL": url, "VIGIA_MEDIAMTX_API_USER": USER,
           "VIGIA_MEDIAMTX_API_PASSWORD": PASSWORD, "VIGIA_LOG_JSON": "true"}
    process = subprocess.Popen([sys.executable, "-m", "vigia.control", "mediamtx_sync", "--metrics-port", "0"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(lambda: set(fake.paths) == {str(first.id), str(second.id)}, process)
        _wait(lambda: _queue_bound(amqp_url), process)
        Camera.objects.filter(id=first.id).update(enabled=False)
        third = _camera(org, "east", "rtsp://10.3.3.3/a")
        asyncio.run(_publish(amqp_url, [
            make("camera.updated", org.id, "control", CameraChanged(
                camera=first.id, name="north", fps=1, enabled=False, version=2)),
            make("camera.created", org.id, "control", CameraChanged(
                camera=third.id, name="east", fps=1, enabled=True, version=1)),
            make("camera.deleted", org.id, "control", CameraDeleted(camera=uuid.uuid4())),
        ]))
        _wait(lambda: set(fake.paths) == {str(second.id), str(third.id)}, process)
        assert fake.paths[str(third.id)]["source"] == "rtsp://10.3.3.3/a"
        process.terminate()
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 0, stderr.decode()[-2000:]
        assert b"10.3.3." not in stderr  # RTSP URLs never logged
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _database_url() -> str:
    params = connection.settings_dict
    return f"postgresql://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{params['NAME']}"


def _queue_bound(amqp_url: str) -> bool:
    vhost = amqp_url.rsplit("/", 1)[1]
    response = httpx.get(f"http://127.0.0.1:15672/api/queues/{vhost}/mediamtx.control/bindings",
                         auth=("guest", "guest"))
    return response.status_code == 200 and any(b["routing_key"] == "camera.#" for b in response.json())


async def _publish(amqp_url: str, envelopes: list[Any]) -> None:
    publisher = AsyncPublisher(amqp_url, declare=False, connection_name="test-mediamtx")
    await publisher.connect()
    try:
        await publisher.publish_many(envelopes)
    finally:
        await publisher.close()


def _wait(condition: Any, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            raise AssertionError(f"mediamtx_sync exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.05)
    raise AssertionError("condition not reached")
