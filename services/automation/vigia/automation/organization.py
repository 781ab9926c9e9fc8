"""One organization's pipelines as the runtime holds them: compiled plans with their node state,
the cameras' zones and lines, watch-lists and time zone they were compiled with.

Hot reload (:meth:`OrgPipelines.install` of a running pipeline): the new graph is compiled, and the
state of every node whose id *and* type are unchanged is kept; the state of removed or retyped
nodes is deleted. A change of zones, watch-lists or time zone recompiles every plan keeping all
state.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vigia.automation.repository import Organization, PipelineRecord
from vigia.common.pipelines.engine import GraphError, MemoryState, Plan

log = logging.getLogger(__name__)

#: Node id of the runtime's own bookkeeping in a pipeline's state (not a valid graph node id).
RUNTIME_NODE = "~runtime"


def _node_types(graph: Mapping[str, Any]) -> dict[str, str]:
    return {str(n.get("id")): str(n.get("type")) for n in graph.get("nodes") or () if isinstance(n, Mapping)}


@dataclass
class RunningPipeline:
    record: PipelineRecord
    plan: Plan
    state: MemoryState
    node_types: dict[str, str]
    escalations: tuple[float, ...]  # unacknowledged_for of its event inputs waiting for acknowledgement
    #: Its state was loaded and no tick has run on it since: its next tick says ``resumed`` (ADR 0004).
    resumed: bool = True

    @property
    def id(self) -> uuid.UUID:
        return self.record.id

    def applied(self) -> set[str]:
        """Message ids of the last two batches committed with this pipeline's state changed (a
        redelivered message among them is not evaluated again)."""
        entry = self.state.get(RUNTIME_NODE, "applied") or {}
        return set(entry.get("last", ())) | set(entry.get("previous", ()))


@dataclass
class OrgPipelines:
    organization: Organization
    zones: dict[str, dict[str, Any]]
    watchlists: dict[str, dict[str, Any]]
    pipelines: dict[uuid.UUID, RunningPipeline] = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        return self.organization.id

    def compile(self, record: PipelineRecord) -> Plan:
        return Plan.compile(record.id, record.org, record.version, record.graph,
                            time_zone=self.organization.time_zone, watchlists=self.watchlists, zones=self.zones,
                            escalation_delay_s=self.organization.escalation_delay_s)

    def _escalations(self, graph: Mapping[str, Any]) -> tuple[float, ...]:
        out = []
        for node in graph.get("nodes") or ():
            config = node.get("config") or {}
            if node.get("type") == "event" and config.get("mode") == "unacknowledged":
                out.append(float(config.get("unacknowledged_for") or self.organization.escalation_delay_s))
        return tuple(out)

    def install(self, record: PipelineRecord, state: Mapping[str, Mapping[str, Any]] | None) -> RunningPipeline:
        """Run ``record`` (raises GraphError): a new pipeline starts from ``state``; a running one
        keeps the state of its nodes whose id and type are unchanged."""
        plan = self.compile(record)
        types = _node_types(record.graph)
        current = self.pipelines.get(record.id)
        if current is None:
            memory = MemoryState(state or {})
        else:
            memory = current.state
            for node, old_type in current.node_types.items():
                if types.get(node) != old_type:
                    for key, _ in memory.items(node):
                        memory.delete(node, key)
        running = RunningPipeline(record, plan, memory, types, self._escalations(record.graph),
                                  resumed=current is None or current.resumed)
        self.pipelines[record.id] = running
        return running

    def remove(self, pipeline: uuid.UUID) -> RunningPipeline | None:
        return self.pipelines.pop(pipeline, None)

    def recompile(self) -> list[tuple[uuid.UUID, str]]:
        """Compile every plan again (zones, watch-lists or time zone changed), keeping all state;
        returns the pipelines that no longer compile (they stop) with the reason."""
        failed = []
        for running in list(self.pipelines.values()):
            try:
                running.plan = self.compile(running.record)
            except GraphError as exc:
                failed.append((running.id, str(exc)))
                del self.pipelines[running.id]
            running.escalations = self._escalations(running.record.graph)
        return failed

    def needs_ticks(self) -> bool:
        return any(p.plan.needs_ticks() for p in self.pipelines.values())

    def escalation_delays(self) -> tuple[float, ...]:
        return tuple(d for p in self.pipelines.values() for d in p.escalations)
