"""Validation of pipeline graphs against the node catalogue (shared by control's API, the dry run
and the automation engine, which compiles only what this accepts).

A graph is ``{"nodes": [{id, type, config, position?, label?}], "edges": [{source, source_port,
target, target_port}]}``. :func:`validate_graph` refuses unknown node types, bad configurations,
duplicate ids, dangling edges (unknown node or port), incompatible port types and cycles, and
returns the normalized graph (configurations with their defaults filled in). Every problem is
reported under the field it concerns (``graph.nodes.3.type``) with a message naming the node
(``node 'n4': unknown node type 'foo'``); a type the engine refuses (``webcam``, ``ai_model``...) is
reported with the reason. :func:`runnable_problems` adds what ``execute`` needs:
at least one node and every input port wired (but the optional ones, like a timer's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from vigia.common.pipelines import nodes as _nodes  # noqa: F401  (registers the catalogue)
from vigia.common.pipelines.registry import NODE_TYPES, REFUSED, NodeType

MAX_NODES = 500
MAX_EDGES = 2000
NODE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
GRAPH_KEYS = frozenset({"nodes", "edges"})
NODE_KEYS = frozenset({"id", "type", "config", "position", "label"})
EDGE_KEYS = frozenset({"source", "source_port", "target", "target_port"})

Problems = dict[str, list[str]]


class GraphError(ValueError):
    """The graph breaks a rule; ``problems`` maps dotted field names to messages naming the node."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(m for ms in problems.values() for m in ms))
        self.problems = problems


#: The name control has always used.
GraphInvalid = GraphError


@dataclass(frozen=True)
class _Edge:
    index: int
    source: str
    source_port: str
    target: str
    target_port: str


class _Collector:
    def __init__(self) -> None:
        self.problems: Problems = {}

    def add(self, field: str, message: str) -> None:
        self.problems.setdefault(field, []).append(message)


def _unknown_keys(item: Mapping[str, Any], allowed: frozenset[str], field: str, out: _Collector) -> None:
    for key in sorted(set(item) - allowed):
        out.add(f"{field}.{key}", "unknown field")


def _pydantic_problems(exc: ValidationError, field: str, label: str, out: _Collector) -> None:
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"])
        out.add(f"{field}.config" + (f".{loc}" if loc else ""), f"{label}: {error['msg']}")


def _validate_nodes(nodes: list[Any], out: _Collector
                    ) -> tuple[list[dict[str, Any]], dict[str, NodeType | None]]:
    normalized: list[dict[str, Any]] = []
    known: dict[str, NodeType | None] = {}  # None: the node exists but its type is unknown
    first_index: dict[str, int] = {}
    for i, node in enumerate(nodes):
        field = f"graph.nodes.{i}"
        if not isinstance(node, dict):
            out.add(field, "must be an object with id, type and config")
            continue
        _unknown_keys(node, NODE_KEYS, field, out)
        node_id = node.get("id")
        if not isinstance(node_id, str) or not NODE_ID.match(node_id):
            out.add(f"{field}.id", "must be 1-64 letters, digits or _ . : -")
            continue
        label = f"node {node_id!r}"
        if node_id in first_index:
            out.add(f"{field}.id", f"{label}: duplicate id (also graph.nodes.{first_index[node_id]})")
            continue
        first_index[node_id] = i
        kind = node.get("type")
        spec = NODE_TYPES.get(kind) if isinstance(kind, str) else None
        known[node_id] = spec
        if spec is None:
            if isinstance(kind, str) and kind in REFUSED:
                out.add(f"{field}.type", f"{label}: node type {kind!r} {REFUSED[kind]}")
            else:
                out.add(f"{field}.type", f"{label}: unknown node type {kind!r}")
            continue
        config = node.get("config") or {}
        if not isinstance(config, dict):
            out.add(f"{field}.config", f"{label}: config must be an object")
            continue
        try:
            parsed = spec.config.model_validate(config)
        except ValidationError as exc:
            _pydantic_problems(exc, field, label, out)
            continue
        entry: dict[str, Any] = {"id": node_id, "type": spec.type, "config": parsed.model_dump(mode="json")}
        position = node.get("position")
        if position is not None:
            numbers = isinstance(position, dict) and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in position.values())
            if not numbers or set(position) != {"x", "y"}:
                out.add(f"{field}.position", f"{label}: position must be {{x: number, y: number}}")
            else:
                entry["position"] = {"x": position["x"], "y": position["y"]}
        if node.get("label") is not None:
            if not isinstance(node["label"], str) or len(node["label"]) > 120:
                out.add(f"{field}.label", f"{label}: label must be a string of at most 120 characters")
            else:
                entry["label"] = node["label"]
        normalized.append(entry)
    return normalized, known


def _port(spec: NodeType, given: Any, outputs: bool, node_id: str, field: str, out: _Collector) -> str | None:
    ports = spec.outputs if outputs else spec.inputs
    side = "output" if outputs else "input"
    if given is None:
        if len(ports) == 1:
            return next(iter(ports))
        names = ", ".join(ports) or "none"
        out.add(field, f"node {node_id!r}: name the {side} port ({side}s: {names})")
        return None
    if not isinstance(given, str) or given not in ports:
        names = ", ".join(ports) or "none"
        out.add(field, f"node {node_id!r}: has no {side} port {given!r} ({side}s: {names})")
        return None
    return given


def _validate_edges(edges: list[Any], known: dict[str, NodeType | None], out: _Collector) -> list[_Edge]:
    valid: list[_Edge] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for k, edge in enumerate(edges):
        field = f"graph.edges.{k}"
        if not isinstance(edge, dict):
            out.add(field, "must be an object with source, source_port, target, target_port")
            continue
        _unknown_keys(edge, EDGE_KEYS, field, out)
        ends: list[tuple[str, NodeType] | None] = []
        for end in ("source", "target"):
            node_id = edge.get(end)
            if not isinstance(node_id, str) or node_id not in known:
                out.add(f"{field}.{end}", f"edge {k}: {end} node {node_id!r} does not exist")
                ends.append(None)
                continue
            spec = known[node_id]
            ends.append((node_id, spec) if spec is not None else None)  # unknown type: reported already
        if ends[0] is None or ends[1] is None:
            continue
        (source, source_spec), (target, target_spec) = ends  # type: ignore[misc]
        source_port = _port(source_spec, edge.get("source_port"), True, source, f"{field}.source_port", out)
        target_port = _port(target_spec, edge.get("target_port"), False, target, f"{field}.target_port", out)
        if source_port is None or target_port is None:
            continue
        produced, expected = source_spec.outputs[source_port], target_spec.inputs[target_port]
        if not produced.feeds(expected):
            out.add(f"{field}.target_port",
                    f"node {target!r}: input {target_port!r} takes {expected.value}, but node {source!r} "
                    f"output {source_port!r} gives {produced.value}")
            continue
        key = (source, source_port, target, target_port)
        if key in seen:
            out.add(field, f"node {target!r}: duplicate of graph.edges.{seen[key]}")
            continue
        seen[key] = k
        valid.append(_Edge(k, source, source_port, target, target_port))
    return valid


def _find_cycle(node_ids: list[str], edges: list[_Edge]) -> tuple[list[str], _Edge] | None:
    """A cycle as its node path and the edge closing it, or None (iterative DFS, three colours)."""
    successors: dict[str, list[_Edge]] = {n: [] for n in node_ids}
    for edge in edges:
        successors[edge.source].append(edge)
    colour = dict.fromkeys(node_ids, 0)  # 0 unvisited, 1 on the stack, 2 done
    for root in node_ids:
        if colour[root]:
            continue
        path: list[str] = [root]
        stack: list[tuple[str, int]] = [(root, 0)]
        colour[root] = 1
        while stack:
            node, next_index = stack[-1]
            if next_index < len(successors[node]):
                stack[-1] = (node, next_index + 1)
                edge = successors[node][next_index]
                if colour[edge.target] == 1:
                    return [*path[path.index(edge.target):], edge.target], edge
                if colour[edge.target] == 0:
                    colour[edge.target] = 1
                    stack.append((edge.target, 0))
                    path.append(edge.target)
            else:
                colour[node] = 2
                stack.pop()
                path.pop()
    return None


def validate_graph(graph: Any) -> dict[str, Any]:
    """The normalized graph, or :class:`GraphError` listing every problem found."""
    out = _Collector()
    if not isinstance(graph, dict):
        raise GraphError({"graph": ["must be an object with nodes and edges"]})
    _unknown_keys(graph, GRAPH_KEYS, "graph", out)
    nodes, edges = graph.get("nodes", []), graph.get("edges", [])
    if not isinstance(nodes, list):
        out.add("graph.nodes", "must be a list")
        nodes = []
    if not isinstance(edges, list):
        out.add("graph.edges", "must be a list")
        edges = []
    if len(nodes) > MAX_NODES:
        raise GraphError({"graph.nodes": [f"at most {MAX_NODES} nodes"]})
    if len(edges) > MAX_EDGES:
        raise GraphError({"graph.edges": [f"at most {MAX_EDGES} edges"]})
    normalized, known = _validate_nodes(nodes, out)
    valid_edges = _validate_edges(edges, known, out)
    cycle = _find_cycle(list(known), valid_edges)
    if cycle is not None:
        path, edge = cycle
        out.add(f"graph.edges.{edge.index}", f"node {edge.target!r}: edge closes a cycle "
                f"({' -> '.join(path)})")
    if out.problems:
        raise GraphError(out.problems)
    return {"nodes": normalized, "edges": [
        {"source": e.source, "source_port": e.source_port, "target": e.target, "target_port": e.target_port}
        for e in valid_edges]}


def runnable_problems(graph: dict[str, Any]) -> Problems:
    """What keeps a valid graph from running: no nodes, or an input port left unwired."""
    out = _Collector()
    nodes = graph.get("nodes") or []
    if not nodes:
        out.add("graph.nodes", "a pipeline needs at least one node to run")
    wired = {(e["target"], e["target_port"]) for e in graph.get("edges") or []}
    for i, node in enumerate(nodes):
        spec = NODE_TYPES[node["type"]]
        for port in spec.inputs:
            if port not in spec.optional_inputs and (node["id"], port) not in wired:
                out.add(f"graph.nodes.{i}", f"node {node['id']!r}: input {port!r} is not connected")
    return out.problems
