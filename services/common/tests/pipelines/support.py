"""Helpers for the engine's tests: graphs from short node lists, items as the runtime builds them."""

from __future__ import annotations

import dataclasses
import itertools
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from vigia.common.ids import uuid7_of
from vigia.common.pipelines import Item, MemoryState, Plan, RunResult

ORG = uuid.UUID("0190a8c2-0000-7000-8000-000000000001")
PIPELINE = uuid.UUID("0190a8c2-0000-7000-8000-0000000000aa")
CAMERA = "0190a8c2-0000-7000-8000-00000000ca01"
CHANNEL = "0190a8c2-0000-7000-8000-00000000c4a1"
#: A Saturday, 23:00 in São Paulo (UTC-3, no daylight saving since 2019).
NIGHT = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
_ids = itertools.count(1)

#: A square zone in the lower right quarter and a vertical line at x = 0.5, normalised.
ZONES = {CAMERA: {
    "zones": [{"name": "patio", "points": [[0.5, 0.5], [1.0, 0.5], [1.0, 1.0], [0.5, 1.0]]},
              {"name": "gate", "points": [[0.0, 0.0], [0.3, 0.0], [0.3, 0.3], [0.0, 0.3]]}],
    "lines": [{"name": "fence", "points": [[0.5, 0.0], [0.5, 1.0]]}],
    "width": 1000, "height": 1000,
}}


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": kind, "config": config}


def chain(*nodes: dict[str, Any], ports: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A graph wiring each node to the next (``ports``: source id -> output port where it has two)."""
    ports = ports or {}
    edges = [{"source": a["id"], "target": b["id"], **({"source_port": ports[a["id"]]} if a["id"] in ports else {})}
             for a, b in itertools.pairwise(nodes)]
    return {"nodes": list(nodes), "edges": edges}


def compile_plan(graph: Mapping[str, Any], **kwargs: Any) -> Plan:
    kwargs.setdefault("zones", ZONES)
    return Plan.compile(PIPELINE, ORG, 1, graph, **kwargs)


def item(kind: str, data: Mapping[str, Any], at: datetime = NIGHT, source: str = "",
         message_id: uuid.UUID | None = None, received: datetime | None = None) -> Item:
    return Item(kind, ORG, at, source, dict(data),
                message_id or uuid7_of(int(at.timestamp() * 1e9), f"test-{next(_ids)}"), received)


def detection(x: float, y: float, at: datetime = NIGHT, *, track: str | None = "1", label: str = "person",
              confidence: float = 0.9, camera: str = CAMERA, **extra: Any) -> Item:
    """A detection whose box's bottom centre is at pixel (x, y) of a 1000x1000 frame."""
    data = {"camera": camera, "label": label, "confidence": confidence, "track": track,
            "box": {"x1": x - 10, "y1": max(y - 40, 0), "x2": x + 10, "y2": y}, **extra}
    return item("detection", data, at, camera)


def tick(at: datetime, *, resumed: bool = False) -> Item:
    return Item("tick", ORG, at, "", {"resumed": True} if resumed else {},
                uuid7_of(int(at.timestamp() * 1e9), f"{ORG}/tick"))


def lagged(records: Iterable[Item], lag: float = 10.0, *, after: float = 30.0) -> list[Item]:
    """``records`` as the runtime meets them when the data plane runs ``lag`` seconds behind the wall
    clock: each taken (``received``) ``lag`` s after it was observed, with the runtime's tick every
    wall-clock second from the first one on (before a record taken at the same instant), until
    ``after`` s past the last."""
    taken = [dataclasses.replace(r, received=r.time + seconds(lag)) for r in records]
    received = [r.received for r in taken if r.received is not None]
    start = min(received).replace(microsecond=0)
    ticks = int((max(received) - start).total_seconds() + after) + 1
    timeline = [(start + seconds(k), 0, k, tick(start + seconds(k))) for k in range(ticks)]
    timeline += [(r.received, 1, i, r) for i, r in enumerate(taken)]
    return [one for *_, one in sorted(timeline, key=lambda entry: entry[:3])]


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


class Runner:
    """A plan and its state; ``feed`` runs items in order and returns every emission's node."""

    def __init__(self, graph: Mapping[str, Any], **kwargs: Any) -> None:
        self.plan = compile_plan(graph, **kwargs)
        self.state = MemoryState()
        self.results: list[RunResult] = []

    def run(self, one: Item, **kwargs: Any) -> RunResult:
        result = self.plan.run(one, self.state, **kwargs)
        assert result.error is None, result.error
        self.results.append(result)
        return result

    def feed(self, *items: Item) -> list[str]:
        return [e.node for one in items for e in self.run(one).emissions]

    def payloads(self, *items: Item) -> list[dict[str, Any]]:
        return [e.payload for one in items for e in self.run(one).emissions]


def sink(node_id: str = "out") -> dict[str, Any]:
    """An output node that records what reaches it (a dashboard event)."""
    return node(node_id, "dashboard", title="t")
