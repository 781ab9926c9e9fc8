"""The pipeline engine: a graph compiled once into a :class:`Plan`, then run on one :class:`Item` at
a time.

``Plan.compile`` validates the graph, orders its nodes topologically, parses every node's
configuration once and precomputes who feeds whom. ``Plan.run`` hands the item to the input nodes
that take it and walks the nodes in topological order, each node getting everything its
predecessors handed on. Output nodes produce :class:`Emission` s whose ids are derived from the
item's message id, so a redelivered item yields the same ids (the notifier deduplicates).

The engine is pure: node state only through the :class:`State` given to ``run`` (the runtime
persists it; :class:`MemoryState` keeps it in a dict), time only from the item (ticks advance
timers), no I/O. Dry runs and tests therefore replay deterministically.

Two clocks, one rule (:mod:`vigia.common.pipelines.clock`, ADR 0004): a record's ``Item.time`` is
when it was observed and lags the wall clock by however far the data plane is behind; a tick's is
the wall clock. Records are judged against record times only. A tick never compares its time with a
record's: a node acting on a key on ticks keeps the wall time its latest record was taken
(``Item.received``) and ages the key by the wall time elapsed since (``key_clock``), so a lag that
holds steady cancels out. State ticks only forget is kept ``LATE_S`` longer; the first tick after
state was loaded (``data["resumed"]``) restarts those wall stamps.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vigia.common.ids import uuid7_of
from vigia.common.pipelines import nodes as _nodes  # noqa: F401  (registers the catalogue)
from vigia.common.pipelines.graph import GraphError, validate_graph
from vigia.common.pipelines.registry import NODE_TYPES, Environment, Node, Record

#: The item kinds the engine knows (``Item.kind``).
ITEM_KINDS = frozenset({"detection", "plate", "anomaly", "telemetry", "event", "device_status",
                        "camera_health", "tick", "webhook"})

#: Plate watch-lists by name or id: {"kind": "allow"|"deny", "entries": {plate: {"label", "expires_at"}}}.
WatchLists = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Item:
    """One input the engine evaluates."""

    kind: str
    org: uuid.UUID
    time: datetime  # aware, the observation time: the only clock the engine reads
    source: str  # camera id / device id / webhook node id / "" (tick)
    data: Mapping[str, Any]  # the message's data, as JSON types; a tick's: {"resumed": True} or {}
    message_id: uuid.UUID  # the envelope id; for ticks uuid7_of(org, tick time)
    #: Aware, the wall-clock time the runtime took the item (None: ``time``, i.e. no lag: ticks,
    #: dry runs, replays). Only ticks read it, to age keys by wall time (ADR 0004).
    received: datetime | None = None


class State(Protocol):
    """Per-pipeline node state; values are JSON-able."""

    def get(self, node: str, key: str, default: Any = None) -> Any: ...

    def set(self, node: str, key: str, value: Any) -> None: ...

    def delete(self, node: str, key: str) -> None: ...

    def items(self, node: str) -> Iterable[tuple[str, Any]]: ...


class MemoryState:
    """State in a dict of dicts that remembers which (node, key) pairs changed since
    :meth:`clear_dirty` (the runtime writes those back)."""

    __slots__ = ("_dirty", "_nodes")

    def __init__(self, initial: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._nodes: dict[str, dict[str, Any]] = {node: dict(values) for node, values in (initial or {}).items()}
        self._dirty: set[tuple[str, str]] = set()

    def get(self, node: str, key: str, default: Any = None) -> Any:
        values = self._nodes.get(node)
        return default if values is None else values.get(key, default)

    def set(self, node: str, key: str, value: Any) -> None:
        values = self._nodes.get(node)
        if values is None:
            self._nodes[node] = values = {}
        values[key] = value
        self._dirty.add((node, key))

    def delete(self, node: str, key: str) -> None:
        values = self._nodes.get(node)
        if values is not None and key in values:
            del values[key]
            self._dirty.add((node, key))

    def items(self, node: str) -> list[tuple[str, Any]]:
        return list(self._nodes.get(node, {}).items())

    def dirty(self) -> builtins.set[tuple[str, str]]:
        """The (node, key) pairs set or deleted since the last :meth:`clear_dirty`."""
        return set(self._dirty)

    def clear_dirty(self) -> None:
        self._dirty.clear()

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Every node's state (a copy)."""
        return {node: dict(values) for node, values in self._nodes.items() if values}


@dataclass(frozen=True)
class Emission:
    """An action an output node asks for (or a dashboard event)."""

    id: uuid.UUID  # deterministic: same item, pipeline, node and ordinal -> same id
    pipeline: uuid.UUID
    node: str
    kind: str  # "whatsapp" | "telegram" | "email" | "modbus" | "webhook" | "dashboard"
    channel: uuid.UUID | None  # notifier channel (None for dashboard)
    recipients: tuple[str, ...]
    template: str | None
    payload: dict[str, Any]  # what a message template can use


@dataclass
class NodeTrace:
    """What one node received and handed on in one run (for "why did / didn't this fire")."""

    node: str
    inputs: list[Any]
    outputs: list[Any]
    error: str | None = None


@dataclass
class RunResult:
    emissions: list[Emission]
    trace: list[NodeTrace]
    fired: bool
    error: str | None


class Run:
    """One evaluation of an item: what nodes read (item, state, time) and where they emit."""

    __slots__ = ("_ordinals", "_traces", "emissions", "item", "now", "now_s", "plan", "state", "wall_s")

    def __init__(self, plan: Plan, item: Item, state: State, traces: dict[str, NodeTrace] | None) -> None:
        self.plan = plan
        self.item = item
        self.state = state
        self.now = item.time
        self.now_s = item.time.timestamp()  # a record's observation time; a tick's wall clock
        received = item.received
        self.wall_s = self.now_s if received is None else received.timestamp()  # when the runtime took it
        self.emissions: list[Emission] = []
        self._ordinals: dict[str, int] | None = None
        self._traces = traces

    def local_time(self, zone: ZoneInfo | None = None) -> datetime:
        """``now`` in ``zone`` (default: the organization's time zone)."""
        return self.now.astimezone(zone or self.plan.time_zone)

    def emit(self, node: str, kind: str, channel: uuid.UUID | None, recipients: tuple[str, ...],
             template: str | None, payload: dict[str, Any]) -> Emission:
        """Record an emission of ``node``; its id is derived from the item's message id, the pipeline,
        the node and how many emissions the node made before in this run."""
        if self._ordinals is None:
            self._ordinals = {}
        ordinal = self._ordinals.get(node, 0)
        self._ordinals[node] = ordinal + 1
        key = f"{self.item.message_id}/{self.plan.pipeline}/{node}/{ordinal or ''}"
        emission = Emission(uuid7_of(int(self.now_s * 1e9), key), self.plan.pipeline, node, kind, channel,
                            recipients, template, payload)
        self.emissions.append(emission)
        if self._traces is not None and node in self._traces:
            self._traces[node].outputs.append({"emission": str(emission.id), "kind": kind,
                                               "recipients": list(recipients)})
        return emission

    def base_payload(self, node: str, value: Record) -> dict[str, Any]:
        """The fields every emission's payload carries: the record, then where and when."""
        payload = dict(value)
        item = self.item
        payload["pipeline"] = str(self.plan.pipeline)
        payload["node"] = node
        payload["observed_at"] = item.time.isoformat()
        payload["item_kind"] = item.kind
        payload["item_source"] = item.source
        return payload


def _item_record(item: Item) -> dict[str, Any]:
    """An input node's input in a trace (the item's time and id are the run's own)."""
    return {"kind": item.kind, "source": item.source, "data": item.data}


class Plan:
    """A pipeline graph compiled for running; immutable, shared by every run of that version."""

    __slots__ = ("_index", "_nodes", "_starts", "_succ", "_ticking", "_types", "org", "pipeline", "time_zone",
                 "version")

    def __init__(self, pipeline: uuid.UUID, org: uuid.UUID, version: int, time_zone: ZoneInfo,
                 nodes: tuple[Node, ...], types: tuple[str, ...],
                 succ: tuple[dict[str, tuple[tuple[int, str], ...]], ...]) -> None:
        """Use :meth:`compile`: ``nodes`` in topological order, ``succ[i]``: output port -> targets."""
        self.pipeline, self.org, self.version, self.time_zone = pipeline, org, version, time_zone
        self._nodes, self._types, self._succ = nodes, types, succ
        self._index = {node.id: i for i, node in enumerate(nodes)}
        starts: dict[str, list[tuple[int, frozenset[str] | None]]] = {}
        for i, node in enumerate(nodes):
            for kind in node.takes():
                starts.setdefault(kind, []).append((i, node.sources()))
        self._starts = {kind: tuple(entries) for kind, entries in starts.items()}
        self._ticking = tuple(node.needs_ticks() for node in nodes)

    @classmethod
    def compile(cls, pipeline: uuid.UUID, org: uuid.UUID, version: int, graph: Mapping[str, Any], *,
                time_zone: str = "America/Sao_Paulo", watchlists: WatchLists | None = None,
                zones: Mapping[str, Mapping[str, Any]] | None = None,
                escalation_delay_s: float = 300.0) -> Plan:
        """The executable plan of ``graph`` (raises :class:`GraphError` naming the node/field).

        ``zones``: camera id -> {"zones": [{name, points}], "lines": [{name, points}], "width"?,
        "height"?} in normalised 0-1 coordinates (width/height: the camera's frame size in pixels,
        used when a detection does not carry its frame's). ``watchlists``: see :data:`WatchLists`.
        """
        normalized = validate_graph(dict(graph))
        try:
            zone_info = ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise GraphError({"time_zone": [f"unknown time zone {time_zone!r}"]}) from None
        env = Environment(pipeline=pipeline, org=org, time_zone=zone_info, watchlists=watchlists or {},
                          zones={str(k): v for k, v in (zones or {}).items()}, escalation_delay_s=escalation_delay_s)
        specs = {n["id"]: n for n in normalized["nodes"]}
        order = _topological_order([n["id"] for n in normalized["nodes"]], normalized["edges"])
        index = {node_id: i for i, node_id in enumerate(order)}
        built: list[Node] = []
        for node_id in order:
            spec = NODE_TYPES[specs[node_id]["type"]]
            config = spec.config.model_validate(specs[node_id]["config"])
            try:
                built.append(spec.runtime(node_id, config, env))
            except ValueError as exc:
                position = next(i for i, n in enumerate(normalized["nodes"]) if n["id"] == node_id)
                raise GraphError({f"graph.nodes.{position}.config": [f"node {node_id!r}: {exc}"]}) from None
        succ: list[dict[str, list[tuple[int, str]]]] = [{} for _ in order]
        for edge in normalized["edges"]:
            succ[index[edge["source"]]].setdefault(edge["source_port"], []).append(
                (index[edge["target"]], edge["target_port"]))
        return cls(pipeline, org, version, zone_info, tuple(built), tuple(specs[n]["type"] for n in order),
                   tuple({port: tuple(targets) for port, targets in table.items()} for table in succ))

    def accepts(self, item: Item) -> bool:
        """Whether some input node takes ``item`` (ticks: whether the plan needs ticks)."""
        if item.kind == "tick":
            return any(self._ticking)
        for _, sources in self._starts.get(item.kind, ()):  # noqa: SIM110  (no generator per item: hot path)
            if sources is None or item.source in sources:
                return True
        return False

    def needs_ticks(self) -> bool:
        """Whether some node advances on ticks (schedules, dwell times, windows, cooldown expiry...)."""
        return any(self._ticking)

    @property
    def node_ids(self) -> tuple[str, ...]:
        """The node ids in evaluation (topological) order."""
        return tuple(node.id for node in self._nodes)

    @property
    def node_types(self) -> dict[str, str]:
        """Node id -> node type. State is kept by node id: on a reload, the runtime drops the state
        of nodes that are gone or whose type changed (another type's state means nothing to it)."""
        return {node.id: kind for node, kind in zip(self._nodes, self._types, strict=True)}

    def run(self, item: Item, state: State, *, trace: bool = False, node: str | None = None) -> RunResult:
        """Evaluate ``item`` through the plan; ``trace``: record each node's inputs and outputs.

        ``node``: evaluate that node alone (a dry run of one node): an input node is given the item,
        another node the item's data on its first input port.
        """
        if not trace and node is None and item.kind != "tick":
            return self._run_fast(item, state)
        traces: dict[str, NodeTrace] | None = {} if trace else None
        run = Run(self, item, state, traces)
        if node is not None:
            return self._run_one(run, node, traces)
        nodes, succ, ticking = self._nodes, self._succ, self._ticking
        inbox: list[list[tuple[str, Record]] | None] = [None] * len(nodes)
        # Traces hold the records themselves, not copies: a record is never changed once handed on.
        traced: list[NodeTrace | None] = [None] * len(nodes)
        errors: list[str] = []
        is_tick = item.kind == "tick"
        starts = () if is_tick else self._starts.get(item.kind, ())
        for i, sources in starts:
            if sources is not None and item.source not in sources:
                continue
            current = nodes[i]
            if traces is not None:
                traces[current.id] = traced[i] = NodeTrace(current.id, [_item_record(item)], [])
            try:
                out = current.accept(run)
            except Exception as exc:  # a node's bug must not stop the other branches
                errors.append(self._failed(current.id, exc, traces))
                continue
            if out:
                self._deliver(out, succ[i], inbox, traced[i])
        resumed = is_tick and bool(item.data.get("resumed"))
        for i, current in enumerate(nodes):
            box = inbox[i]
            if is_tick and ticking[i]:
                if traces is not None:
                    traces[current.id] = traced[i] = NodeTrace(current.id, [_item_record(item)], [])
                try:
                    if resumed:
                        current.resume(run)
                    out = current.tick(run)
                except Exception as exc:
                    errors.append(self._failed(current.id, exc, traces))
                    out = None
                if out:
                    self._deliver(out, succ[i], inbox, traced[i])
            if box is None:
                continue
            if traces is not None:
                entry = traced[i]
                if entry is None:
                    traces[current.id] = traced[i] = entry = NodeTrace(current.id, [], [])
                entry.inputs.extend([{"port": port, "value": value} for port, value in box])
            for port, value in box:
                try:
                    out = current.receive(port, value, run)
                except Exception as exc:
                    errors.append(self._failed(current.id, exc, traces))
                    break
                if out:
                    self._deliver(out, succ[i], inbox, traced[i])
        return RunResult(run.emissions, list(traces.values()) if traces is not None else [], bool(run.emissions),
                         "; ".join(errors) or None)

    def _run_fast(self, item: Item, state: State) -> RunResult:
        """``run`` without tracing, for an item that is not a tick: the same walk, inlined (this is
        the hot path: every detection through every pipeline of its organization)."""
        run = Run(self, item, state, None)
        nodes, succ = self._nodes, self._succ
        inbox: list[list[tuple[str, Record]] | None] = [None] * len(nodes)
        errors: list[str] | None = None
        for i, sources in self._starts.get(item.kind, ()):
            if sources is not None and item.source not in sources:
                continue
            try:
                out = nodes[i].accept(run)
            except Exception as exc:  # a node's bug must not stop the other branches
                errors = [*(errors or ()), self._failed(nodes[i].id, exc, None)]
                continue
            if out:
                table = succ[i]
                for port, value in out:
                    for target, target_port in table.get(port, ()):
                        box = inbox[target]
                        if box is None:
                            inbox[target] = [(target_port, value)]
                        else:
                            box.append((target_port, value))
        for i in range(len(nodes)):
            box = inbox[i]
            if box is None:
                continue
            current = nodes[i]
            table = succ[i]
            for port, value in box:
                try:
                    out = current.receive(port, value, run)
                except Exception as exc:
                    errors = [*(errors or ()), self._failed(current.id, exc, None)]
                    break
                if out:
                    for out_port, out_value in out:
                        for target, target_port in table.get(out_port, ()):
                            target_box = inbox[target]
                            if target_box is None:
                                inbox[target] = [(target_port, out_value)]
                            else:
                                target_box.append((target_port, out_value))
        emissions = run.emissions
        return RunResult(emissions, [], bool(emissions), "; ".join(errors) if errors else None)

    @staticmethod
    def _deliver(out: Iterable[tuple[str, Record]], table: dict[str, tuple[tuple[int, str], ...]],
                 inbox: list[list[tuple[str, Record]] | None], trace: NodeTrace | None) -> None:
        for port, value in out:
            if trace is not None:
                trace.outputs.append({"port": port, "value": value})
            for target, target_port in table.get(port, ()):
                box = inbox[target]
                if box is None:
                    inbox[target] = [(target_port, value)]
                else:
                    box.append((target_port, value))

    @staticmethod
    def _failed(node_id: str, exc: Exception, traces: dict[str, NodeTrace] | None) -> str:
        message = f"node {node_id!r}: {type(exc).__name__}: {exc}"
        if traces is not None:
            traces.setdefault(node_id, NodeTrace(node_id, [], [])).error = message
        return message

    def _run_one(self, run: Run, node_id: str, traces: dict[str, NodeTrace] | None) -> RunResult:
        index = self._index.get(node_id)
        if index is None:
            raise KeyError(f"node {node_id!r} is not in the pipeline")
        current = self._nodes[index]
        traces = traces if traces is not None else {}
        run._traces = traces
        item = run.item
        error: str | None = None
        try:
            if item.kind == "tick":
                traces[node_id] = NodeTrace(node_id, [_item_record(item)], [])
                out = None
                if self._ticking[index]:
                    if item.data.get("resumed"):
                        current.resume(run)
                    out = current.tick(run)
            elif current.takes():
                traces[node_id] = NodeTrace(node_id, [_item_record(item)], [])
                out = current.accept(run) if item.kind in current.takes() else None
            else:
                port = next(iter(NODE_TYPES[self._types[index]].inputs))
                traces[node_id] = NodeTrace(node_id, [{"port": port, "value": item.data}], [])
                out = current.receive(port, item.data, run)
            for port, value in out or ():
                traces[node_id].outputs.append({"port": port, "value": value})
        except Exception as exc:
            error = self._failed(node_id, exc, traces)
        return RunResult(run.emissions, list(traces.values()), bool(run.emissions), error)


def _topological_order(node_ids: list[str], edges: list[dict[str, Any]]) -> list[str]:
    """Kahn's order, ties broken by the order nodes are listed in (a validated graph has no cycle)."""
    position = {node_id: i for i, node_id in enumerate(node_ids)}
    indegree = dict.fromkeys(node_ids, 0)
    successors: dict[str, list[str]] = {node_id: [] for node_id in node_ids}
    for edge in edges:
        successors[edge["source"]].append(edge["target"])
        indegree[edge["target"]] += 1
    ready = sorted((n for n in node_ids if indegree[n] == 0), key=position.__getitem__)
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for target in successors[current]:
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
                ready.sort(key=position.__getitem__)
    return order


__all__ = ["ITEM_KINDS", "Emission", "GraphError", "Item", "MemoryState", "NodeTrace", "Plan", "Run", "RunResult",
           "State", "WatchLists"]
