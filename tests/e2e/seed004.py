"""Seed 004's intrusion scenario (§4, "Exemplo Prático: Detecção de Intrusão") on the real stack.

A person walks into a restricted zone while the schedule is active → WhatsApp, Telegram and
e-mail to security, the PLC's siren coil set, an event on the operators' dashboard. Built here
through the public API only, on tests/e2e/vision_stack.py's processes plus the automation runtime
and the notifier, with the far sides as loopback stand-ins
(services/notifier/tests/standins.py: HTTP for Telegram and WhatsApp, aiosmtpd, pymodbus):

* camsim runs with intruders (``--intruder-every``): a person crosses the foreground every
  :data:`INTRUDER_EVERY_S` seconds with the feet on a fixed line, and its truth log says when.
  The zone ``patio`` (:data:`ZONE`) is a band on that line in the middle of the frame: nothing
  else stands there (the sidewalk walkers' boxes end at the frame's bottom edge, the HOG detector's
  false positives on cars end higher up).
* The pipeline: camera_rtsp → object_detection(person) → zone_analysis(enter, patio) →
  timer(window, in the organization's time zone) → cooldown(:data:`COOLDOWN_S`, per zone) →
  whatsapp + telegram + email + plc_control + dashboard.

**Incident**: one intruder's walk through the zone, from camsim's ground truth: from the moment
its feet enter the zone to the moment they leave it. The detector sees the walker in several
frames and the tracker may lose and find it again (each new track "enters" again); the cooldown,
longer than a walk through the zone and shorter than the gap between two walks, makes one walk one
alert. Each message carries the triggering detection's frame, capture time and snapshot key (the
templates put them in a ``[seed004 …]`` mark) so a test binds it to its incident.

Not a test module: imported by tests/e2e/test_seed004_scenario.py and tests/bench/bench_seed004.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn

from services.notifier.tests.standins import (
    TELEGRAM_TOKEN,
    WHATSAPP_PHONE_ID,
    WHATSAPP_TOKEN,
    HttpStandIn,
    ModbusStandIn,
    Received,
    SmtpStandIn,
)
from tests.e2e.vision_stack import VisionStack, time_ns
from vigia.simulators.camsim.actors import Walker

INTRUDER_EVERY_S = 15.0
#: The restricted zone (normalised x0, x1, y0, y1): a band of the intruders' path, mid-frame.
ZONE = (0.35, 0.65, 0.86, 0.975)
ZONE_NAME = "patio"
#: Longer than a walk through the zone (about 2.5 s) plus detection lag; shorter than the gap to the next walk.
COOLDOWN_S = 8.0
TIME_ZONE = "America/Sao_Paulo"  # three hours from UTC: a schedule read in UTC would be wrong
PHONE = "+5511988887777"
CHAT = "-1001234567890"
MAILBOX = "seguranca@example.com"
SIREN_COIL = 5
CHANNELS = ("whatsapp", "telegram", "email", "modbus")
EVENT_TYPE = "intrusion"
MARK = re.compile(r"\[seed004 frame=(\S*) captured=(\S*) snapshot=(\S*)\]")
TEMPLATE = ("Intrusão na zona {{ zone }} ({{ label }}, {{ '%.2f' % confidence }}) "
            "[seed004 frame={{ frame }} captured={{ captured_at }} snapshot={{ snapshot_key or '' }}]")
#: Services the scenario runs beside control, relay and recorder.
SERVICES = ("streamer", "vision", "live", "automation", "notifier")
#: camsim at 960x540, 4 fps, a key frame every 2 (the streamer samples 2 fps from key frames alone):
#: the intruder is ~195 px tall, plenty for HOG, and the two cores keep some room for the rest.
CAMSIM: dict[str, Any] = {"camsim_fps": 4.0, "camsim_gop": 2, "size": (960, 540),
                          "camsim_intruder_every_s": INTRUDER_EVERY_S}
CAMERA_FPS = 2.0


# --- the far sides ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    """One message a stand-in accepted: which channel, when (ns), and the detection it names."""

    channel: str
    at_ns: int
    frame: str | None = None
    captured_ns: int | None = None
    snapshot: str | None = None
    text: str = ""
    detail: Any = None


def _marked(channel: str, at_ns: int, text: str, detail: Any = None) -> Receipt:
    match = MARK.search(text)
    if match is None:
        return Receipt(channel, at_ns, text=text, detail=detail)
    frame, captured, snapshot = match.groups()
    return Receipt(channel, at_ns, frame or None, time_ns(captured) if captured else None, snapshot or None,
                   text, detail)


class _TimedHttp(HttpStandIn):
    """The HTTP stand-in, noting when each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: dict[int, int] = {}

    async def _answer(self, record: Received) -> int:
        self.arrivals[id(record)] = time.time_ns()
        return await super()._answer(record)


class _TimedSmtp(SmtpStandIn):
    def __init__(self, tmp_dir: Path) -> None:
        super().__init__(starttls=False, tmp_dir=tmp_dir)
        self.arrivals: list[int] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        self.arrivals.append(time.time_ns())
        return await super().handle_DATA(server, session, envelope)


class _TimedModbus(ModbusStandIn):
    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[int] = []

    def _trace(self, sending: bool, pdu: Any) -> Any:
        before = len(self.writes)
        out = super()._trace(sending, pdu)
        self.arrivals.extend(time.time_ns() for _ in range(len(self.writes) - before))
        return out


class StandIns:
    """The three stand-ins on loopback, served by an event loop on a thread of this process."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="standins", daemon=True)
        self.http = _TimedHttp()
        self.smtp = _TimedSmtp(tmp)
        self.modbus = _TimedModbus()
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Future[Any] | None = None

    def _run(self, coroutine: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start_http(self) -> None:
        server = uvicorn.Server(uvicorn.Config(self.http.app, host="127.0.0.1", port=0, log_config=None,
                                               lifespan="off", access_log=False))
        self._serving = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
            if self._serving.done():
                self._serving.result()
        self.http.port = server.servers[0].sockets[0].getsockname()[1]
        self._server = server

    async def _stop_http(self) -> None:
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            await self._serving

    def __enter__(self) -> StandIns:
        self._thread.start()
        self._run(self._start_http())
        self._run(self.modbus.start())
        self.smtp.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.smtp.stop()
        with contextlib.suppress(Exception):
            self._run(self.modbus.stop())
        with contextlib.suppress(Exception):
            self._run(self._stop_http())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def notifier_env(self) -> dict[str, str]:
        """What the notifier needs to reach the stand-ins (loopback allowed past its network guard)."""
        return {"VIGIA_NOTIFIER_TELEGRAM_API_URL": self.http.url, "VIGIA_NOTIFIER_WHATSAPP_API_URL": self.http.url,
                "VIGIA_NOTIFIER_ALLOWED_NETWORKS": "127.0.0.1/32", "VIGIA_NOTIFIER_TIMEOUT_S": "5"}

    def read_coil(self, address: int) -> bool:
        return bool(self._run(self.modbus.read_coil(address)))

    def refused(self) -> list[Received]:
        """Requests a stand-in refused (wrong token, path or signature): none are expected."""
        return [r for r in list(self.http.received) if r.status and not 200 <= r.status < 300]

    def receipts(self) -> dict[str, list[Receipt]]:
        """Every accepted message so far, per channel kind, in arrival order."""
        out: dict[str, list[Receipt]] = {kind: [] for kind in CHANNELS}
        for record in list(self.http.received):
            if not 200 <= record.status < 300:
                continue
            at = self.http.arrivals.get(id(record), 0)
            if record.api == "whatsapp":
                body = record.json()
                text = (body["template"]["components"][-1]["parameters"][0]["text"] if body["type"] == "template"
                        else body.get("text", {}).get("body", ""))
                out["whatsapp"].append(_marked("whatsapp", at, text, body))
            elif record.api == "telegram":
                text = str(record.form.get("caption") or record.form.get("text") or "")
                out["telegram"].append(_marked("telegram", at, text, record))
        for at, (_, rcpts, mail, _) in zip(list(self.smtp.arrivals), list(self.smtp.messages), strict=False):
            out["email"].append(_marked("email", at, _plain(mail), {"to": rcpts, "subject": str(mail["subject"])}))
        # A Modbus write carries no text: it names the detection of the alert that arrived with it
        # (the actions of one firing are published together; two firings are a walk apart).
        marked = [r for kind in ("whatsapp", "telegram", "email") for r in out[kind] if r.captured_ns]
        for at, write in zip(list(self.modbus.arrivals), list(self.modbus.writes), strict=False):
            near = min(marked, key=lambda r: abs(r.at_ns - at), default=None)
            if near is not None and abs(near.at_ns - at) < 3e9:
                out["modbus"].append(Receipt("modbus", at, near.frame, near.captured_ns, near.snapshot, detail=write))
            else:
                out["modbus"].append(Receipt("modbus", at, detail=write))
        return out


def _plain(mail: Message) -> str:
    part = mail.get_body(("plain",)) if hasattr(mail, "get_body") else None
    return str(part.get_content() if part is not None else mail.get_payload())


# --- ground truth -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Incident:
    """One intruder's walk through the zone: wall-clock seconds its feet entered and left it."""

    actor: int
    enter_s: float
    leave_s: float

    def holds(self, moment_s: float, before_s: float = 0.0, after_s: float = 3.0) -> bool:
        return self.enter_s - before_s <= moment_s <= self.leave_s + after_s


def incidents(stack: VisionStack, camera: str = "cam1") -> list[Incident]:
    """The walks through :data:`ZONE` camsim has begun so far (its truth log's intruder records)."""
    stream = stack.streams()[camera]
    width = stream["width"]
    out = []
    for r in stack.truth():
        if r.get("kind") != "intruder" or r["camera"] != camera:
            continue
        walker = Walker(id=r["actor"], t_enter=r["t_enter"], speed=r["speed"], direction=r["direction"],
                        height=r["height"], baseline=r["baseline"], shirt=(0, 0, 0), pants=(0, 0, 0),
                        skin=(0, 0, 0), frame_width=r["frame_width"])
        a, b = sorted((walker.time_at(ZONE[0] * width), walker.time_at(ZONE[1] * width)))
        out.append(Incident(r["actor"], stream["epoch"] + a, stream["epoch"] + b))
    return sorted(out, key=lambda i: i.enter_s)


def next_incident_after(stack: VisionStack, moment_s: float, camera: str = "cam1") -> Incident:
    """The first walk entering the zone after ``moment_s``, planned from the seeded scene (the
    truth log only has walks that began)."""
    from vigia.simulators.camsim.scene import Scene, SceneConfig

    stream = stack.streams()[camera]
    scene = Scene(SceneConfig(stream["width"], stream["height"], stream["fps"], stream["seed"],
                              intruder_every_s=stream["intruder_every_s"]))
    k = 0
    while True:
        walker = scene.intruder_plan.planned(k)
        a, b = sorted((walker.time_at(ZONE[0] * stream["width"]), walker.time_at(ZONE[1] * stream["width"])))
        if stream["epoch"] + a > moment_s:
            return Incident(walker.id, stream["epoch"] + a, stream["epoch"] + b)
        k += 1


# --- the operator's side ------------------------------------------------------------------------

def _window(local: datetime, start: timedelta, end: timedelta) -> dict[str, Any]:
    return {"start": (local + start).strftime("%H:%M"), "end": (local + end).strftime("%H:%M"),
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}


def schedule(active: bool) -> dict[str, Any]:
    """A timer window, in :data:`TIME_ZONE`, that holds now (from 30 min ago to an hour from now)
    or does not (five to six hours from now); read in UTC, neither would be right."""
    local = datetime.now(ZoneInfo(TIME_ZONE))
    if active:
        return _window(local, timedelta(minutes=-30), timedelta(hours=1))
    return _window(local, timedelta(hours=5), timedelta(hours=6))


class Scenario:
    """The organization's side of the scenario, through the public API."""

    def __init__(self, stack: VisionStack, standins: StandIns) -> None:
        self.stack, self.standins = stack, standins
        self.token = stack.login()
        self.http = httpx.Client(base_url=stack.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        self.channels: dict[str, str] = {}
        self.camera = ""
        self.pipeline = ""

    def close(self) -> None:
        self.http.close()

    def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        r = self.http.request(method, path, **kwargs)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text[:2000]}"
        return r.json() if r.content else None

    def set_up_organization(self) -> None:
        """The time zone the schedule is read in, and the four channels pointing at the stand-ins."""
        answer = self.call("PATCH", "/api/v1/organization/settings", json={"time_zone": TIME_ZONE})
        assert answer["time_zone"] == TIME_ZONE
        configs: dict[str, dict[str, Any]] = {
            "whatsapp": {"phone_number_id": WHATSAPP_PHONE_ID, "access_token": WHATSAPP_TOKEN},
            "telegram": {"bot_token": TELEGRAM_TOKEN},
            "email": {"host": "127.0.0.1", "port": self.standins.smtp.port, "sender": "vigia@example.com",
                      "starttls": False},
            "modbus": {"host": "127.0.0.1", "port": self.standins.modbus.port, "unit_id": 1},
        }
        for kind, config in configs.items():
            made = self.call("POST", "/api/v1/channels/", expect=201,
                             json={"kind": kind, "name": f"seed004-{kind}", "enabled": True, "config": config})
            assert made["secrets_set"] == [n for n in ("access_token", "bot_token") if n in config]
            self.channels[kind] = made["id"]

    def add_camera(self) -> str:
        x0, x1, y0, y1 = ZONE
        made = self.call("POST", "/api/v1/cameras/", expect=201, json={
            "name": "patio", "rtsp_url": self.stack.camsim.urls[0], "fps": CAMERA_FPS, "site": "doca-3",
            "zones": [{"name": ZONE_NAME, "points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]}]})
        self.camera = str(made["id"])
        return self.camera

    def graph(self, active: bool) -> dict[str, Any]:
        c = self.channels
        nodes = [
            {"id": "camera", "type": "camera_rtsp", "config": {"camera": self.camera}},
            {"id": "people", "type": "object_detection", "config": {"classes": ["person"], "confidence": 0.6}},
            {"id": "zone", "type": "zone_analysis", "config": {"zones": [ZONE_NAME], "trigger": "enter"}},
            {"id": "schedule", "type": "timer", "config": {"windows": [schedule(active)]}},
            {"id": "once", "type": "cooldown", "config": {"seconds": COOLDOWN_S, "key": "zone"}},
            {"id": "whatsapp", "type": "whatsapp",
             "config": {"channel": c["whatsapp"], "recipients": [PHONE], "template": TEMPLATE}},
            {"id": "telegram", "type": "telegram",
             "config": {"channel": c["telegram"], "recipients": [CHAT], "template": TEMPLATE}},
            {"id": "email", "type": "email", "config": {"channel": c["email"], "recipients": [MAILBOX],
                                                        "template": TEMPLATE, "subject": "Intrusão: {{ zone }}"}},
            {"id": "siren", "type": "plc_control",
             "config": {"channel": c["modbus"], "register_type": "coil", "address": SIREN_COIL, "value": 1}},
            {"id": "dashboard", "type": "dashboard",
             "config": {"title": "Intrusão no pátio", "event_type": EVENT_TYPE, "severity": "high",
                        "description": "Pessoa na área restrita fora do expediente"}},
        ]
        edges = [("camera", "detections", "people", "detections"), ("people", "detections", "zone", "detections"),
                 ("zone", "events", "schedule", "in"), ("schedule", "out", "once", "in")]
        edges += [("once", "out", out, "data" if out == "dashboard" else "events")
                  for out in ("whatsapp", "telegram", "email", "siren", "dashboard")]
        return {"nodes": nodes, "edges": [{"source": s, "source_port": sp, "target": t, "target_port": tp}
                                          for s, sp, t, tp in edges]}

    def start_pipeline(self, active: bool) -> str:
        made = self.call("POST", "/api/v1/pipelines/", expect=201,
                         json={"name": "seed004 intrusão", "graph": self.graph(active)})
        self.pipeline = str(made["id"])
        assert self.call("POST", f"/api/v1/pipelines/{self.pipeline}/execute")["state"] == "running"
        return self.pipeline

    def set_schedule(self, active: bool) -> None:
        """Edit the running pipeline's timer (the runtime reloads it, keeping node state)."""
        changed = self.call("PATCH", f"/api/v1/pipelines/{self.pipeline}/", json={"graph": self.graph(active)})
        assert changed["state"] == "running"

    def counters(self) -> dict[str, dict[str, Any]]:
        rows = self.call("GET", f"/api/v1/pipelines/{self.pipeline}/counters/")
        return {row["node"]: row for row in rows}

    def events(self) -> list[dict[str, Any]]:
        answer = self.call("GET", "/api/v1/events/", params={"event_type": EVENT_TYPE})
        return list(answer["results"] if isinstance(answer, dict) else answer)


@contextlib.contextmanager
def running(stack: VisionStack, standins: StandIns) -> Iterator[Scenario]:
    scenario = Scenario(stack, standins)
    try:
        yield scenario
    finally:
        scenario.close()


def feed_of(feed: Any, kind: str) -> list[tuple[int, dict[str, Any]]]:
    """(receive ns, message) of every live message of ``kind`` so far."""
    return [(at, m) for at, m in list(feed.messages) if m.get("type") == kind]
