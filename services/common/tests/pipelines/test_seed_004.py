"""Seed 004's intrusion story on synthetic items: a person enters the restricted zone at night ->
WhatsApp, Telegram, e-mail, a PLC siren and a dashboard event, each exactly once per incident;
the same walk by day, or a car at night, does nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.common.tests.pipelines.support import CAMERA, CHANNEL, NIGHT, Runner, detection, node, seconds, tick
from vigia.common.pipelines import MemoryState

SIREN = str(uuid.UUID(int=0x51E))
OUTPUTS = {"wa": "whatsapp", "tg": "telegram", "mail": "email", "siren": "modbus", "dash": "dashboard"}
GRAPH = {
    "nodes": [
        node("cam", "camera_rtsp", cameras=[CAMERA]),
        node("person", "object_detection", classes=["person"], confidence=0.5),
        node("zone", "zone_analysis", zones=["patio"], trigger="enter"),
        node("night", "timer", windows=[{"start": "22:00", "end": "06:00"}]),
        node("wa", "whatsapp", channel=CHANNEL, recipients=["+5511999990000"]),
        node("tg", "telegram", channel=CHANNEL, recipients=["-1001234567"]),
        node("mail", "email", channel=CHANNEL, recipients=["security@example.com"]),
        node("siren", "plc_control", channel=SIREN, address=0, value=1, pulse_s=30),
        node("dash", "dashboard", title="Intrusão no pátio", event_type="intrusion", severity="high"),
    ],
    "edges": [
        {"source": "cam", "target": "person"}, {"source": "person", "target": "zone"},
        {"source": "zone", "target": "night"},
        *({"source": "night", "target": out} for out in OUTPUTS),
    ],
}


def walk_in(start: datetime, track: str = "7", label: str = "person") -> list:
    """Outside, at the zone's edge, then well inside for a while (1 fps)."""
    path = [(200, 300), (400, 450), (480, 520), (560, 600), (650, 700), (700, 750), (720, 760), (730, 770)]
    return [detection(x, y, start + seconds(i), track=track, label=label) for i, (x, y) in enumerate(path)]


def test_a_person_entering_at_night_fires_each_output_once() -> None:
    runner = Runner(GRAPH)
    emissions = [e for one in walk_in(NIGHT) for e in runner.run(one).emissions]
    emissions += [e for s in range(10, 30) for e in runner.run(tick(NIGHT + seconds(s))).emissions]
    assert [(e.node, e.kind) for e in emissions] == list(OUTPUTS.items())
    assert len({e.id for e in emissions}) == 5
    entered = next(i for i, r in enumerate(runner.results) if r.fired)
    assert entered == 3  # (560, 600): the first position inside the patio
    siren = next(e for e in emissions if e.kind == "modbus")
    assert (siren.channel, siren.payload["value"], siren.payload["pulse_s"]) == (uuid.UUID(SIREN), 1, 30.0)
    dashboard = next(e for e in emissions if e.kind == "dashboard")
    assert (dashboard.payload["zone"], dashboard.payload["severity"]) == ("patio", "high")


def test_each_incident_fires_once_and_a_redelivered_detection_the_same_ids() -> None:
    runner, walk = Runner(GRAPH), walk_in(NIGHT)
    first = [e.id for one in walk for e in runner.run(one).emissions]
    second = [e for one in walk_in(NIGHT + seconds(60), track="8") for e in runner.run(one).emissions]
    assert len(first) == 5 and [e.node for e in second] == list(OUTPUTS)
    assert not set(first) & {e.id for e in second}
    # The runtime crashed before committing: the same detection on the state before it -> the same ids.
    replay, state = Runner(GRAPH), MemoryState()
    for one in walk[:3]:
        replay.plan.run(one, state)
    again = replay.plan.run(walk[3], MemoryState(state.snapshot())).emissions
    assert [e.id for e in again] == first


def test_the_same_walk_by_day_or_a_car_at_night_does_nothing() -> None:
    day = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # 12:00 in São Paulo
    runner = Runner(GRAPH)
    assert runner.feed(*walk_in(day)) == []
    assert runner.feed(*walk_in(NIGHT, track="car-1", label="car")) == []
    # Already inside since the afternoon: still inside at night is no new entry.
    assert runner.feed(detection(730, 770, NIGHT, track="7")) == []
