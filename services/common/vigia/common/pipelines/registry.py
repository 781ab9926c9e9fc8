"""The pipeline node catalogue: every node type registers itself here with a ``type`` key.

A node type is two classes side by side in one module of :mod:`vigia.common.pipelines.nodes`: a
pydantic model of its configuration (what the console edits and the API validates) and the
behaviour that runs it (a :class:`Node`, built once per compiled plan)::

    class CooldownConfig(NodeConfig):
        \"\"\"Pass an item, then drop items for ``seconds``.\"\"\"
        seconds: float = 60

    @node_type("cooldown", CooldownConfig, category=Category.LOGIC, label="Cooldown",
               inputs={"in": PortType.ANY}, outputs={"out": PortType.ANY})
    class Cooldown(Node):
        def receive(self, port, value, run): ...

Adding a node type is adding those two classes. Types the engine cannot run are not in the
catalogue: :data:`REFUSED` says why, and graph validation repeats it.
"""

from __future__ import annotations

import builtins
import enum
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from vigia.common.pipelines.clock import restamp

if TYPE_CHECKING:
    from vigia.common.pipelines.engine import Run


class Category(enum.StrEnum):
    INPUT = "input"
    PROCESSING = "processing"
    LOGIC = "logic"
    OUTPUT = "output"


class PortType(enum.StrEnum):
    """What flows along an edge. Every value is a record (a JSON object); the type says which."""

    DETECTIONS = "detections"
    PLATES = "plates"
    SENSOR_READINGS = "sensor_readings"
    STATUS = "status"
    EVENTS = "events"
    ANY = "any"

    def feeds(self, target: PortType) -> bool:
        """Whether an output of this type may be wired into an input of type ``target``."""
        # Anything can trigger an event-taking node (an alert on a detection, a plate, a status).
        return target in (PortType.ANY, PortType.EVENTS) or self in (PortType.ANY, target)


class NodeConfig(BaseModel):
    """Base of every node's configuration: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


#: Node types the engine does not run, with the reason graph validation gives.
REFUSED: dict[str, str] = {
    "webcam": "needs raw frames from a local camera, which the automation engine never sees; "
              "add the camera to Vigia and use a camera_rtsp input",
    "file_input": "needs raw files or frames, which the automation engine never sees; post the data to an "
                  "api_webhook input instead",
    "computer_vision": "needs raw frames, which the automation engine never sees; vision workers process "
                       "frames, pipelines read their detections (camera_rtsp -> object_detection)",
    "ai_model": "needs raw frames, which the automation engine never sees; vision workers run the models, "
                "pipelines read their detections (camera_rtsp -> object_detection)",
}

Record = Mapping[str, Any]
#: What a node hands on: (output port, record) pairs, or None for nothing.
Outputs = list[tuple[str, Record]] | tuple[tuple[str, Record], ...] | None


@dataclass(frozen=True)
class Environment:
    """What a plan is compiled against besides the graph: the organization's time zone and
    escalation delay, its plate watch-lists and its cameras' zones and lines (normalised 0-1)."""

    pipeline: uuid.UUID
    org: uuid.UUID
    time_zone: ZoneInfo
    watchlists: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    zones: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    escalation_delay_s: float = 300.0


class Node:
    """The behaviour of one node of a compiled plan. Subclasses read their parsed configuration once
    in ``__init__`` into plain attributes (slots): nothing pydantic runs per item.

    Input nodes answer :meth:`accept` (the item as records); other nodes :meth:`receive` records on
    an input port. Nodes with ``ticks = True`` are also called on every tick item with :meth:`tick`
    (windows that close, dwell times that pass, schedules). State lives only in ``run.state``
    under this node's id, so the runtime can persist it; time is only ``run.now`` (a record's
    observation time, a tick's wall clock) and ``run.wall_s``, never one compared with the other
    (:mod:`vigia.common.pipelines.clock`). Records are never
    changed once received or handed on (traces keep them by reference): build a new dict instead,
    and never change a value read from the state in place -- ``set`` a new one.
    """

    __slots__ = ("id",)
    #: Item kinds an input node takes (empty for other nodes).
    kinds: ClassVar[frozenset[str]] = frozenset()
    #: Whether the node needs tick items.
    ticks: ClassVar[bool] = False

    def __init__(self, node_id: str, config: Any, env: Environment) -> None:
        self.id = node_id

    def takes(self) -> frozenset[str]:
        """The item kinds this configured input node takes (defaults to the class's ``kinds``)."""
        return self.kinds

    def sources(self) -> frozenset[str] | None:
        """Item sources (camera / device ids, node id for webhooks) an input node takes; None: any."""
        return None

    def needs_ticks(self) -> bool:
        """Whether this configured node needs ticks (defaults to the class's ``ticks``)."""
        return self.ticks

    def accept(self, run: Run) -> Outputs:
        """An input node's records for ``run.item`` (only called for items of its kinds)."""
        raise NotImplementedError

    def receive(self, port: str, value: Record, run: Run) -> Outputs:
        """The records to hand on for ``value`` arriving on input ``port``."""
        raise NotImplementedError

    def tick(self, run: Run) -> Outputs:
        """The records to hand on at ``run.now`` (only called when :meth:`needs_ticks`)."""
        return None

    def resume(self, run: Run) -> None:
        """Called before :meth:`tick` on the first tick after the state was loaded: the time the
        runtime was away is not time the keys were idle (their records may still be queued), so the
        wall stamps of this node's keys restart now."""
        restamp(run, self.id)


@dataclass(frozen=True)
class NodeType:
    """One entry of the catalogue."""

    type: str
    category: Category
    label: str
    description: str
    inputs: Mapping[str, PortType]
    outputs: Mapping[str, PortType]
    # ``builtins.type``: the ``type`` field above shadows the builtin inside this class body.
    config: builtins.type[NodeConfig]
    runtime: builtins.type[Node]
    #: Input ports a runnable graph may leave unwired.
    optional_inputs: frozenset[str] = frozenset()

    def describe(self) -> dict[str, Any]:
        """The catalogue entry as the console reads it (config as JSON Schema)."""
        return {
            "type": self.type,
            "category": self.category.value,
            "label": self.label,
            "description": self.description,
            "inputs": [{"name": name, "type": kind.value} for name, kind in self.inputs.items()],
            "outputs": [{"name": name, "type": kind.value} for name, kind in self.outputs.items()],
            "config_schema": self.config.model_json_schema(),
        }


NODE_TYPES: dict[str, NodeType] = {}
N = TypeVar("N", bound=type[Node])


def node_type(key: str, config: type[NodeConfig], *, category: Category, label: str,
              inputs: Mapping[str, PortType] | None = None, outputs: Mapping[str, PortType] | None = None,
              optional_inputs: frozenset[str] = frozenset()) -> Callable[[N], N]:
    """Register the decorated behaviour with its ``config`` model as node type ``key``; the config's
    docstring describes the node to users."""

    def register(runtime: N) -> N:
        if key in NODE_TYPES or key in REFUSED:
            raise ValueError(f"node type {key!r} registered twice")
        NODE_TYPES[key] = NodeType(key, category, label, (config.__doc__ or "").strip(), dict(inputs or {}),
                                   dict(outputs or {}), config, runtime, optional_inputs)
        return runtime

    return register


def catalogue() -> list[dict[str, Any]]:
    """Every node type, by category then type."""
    order = list(Category)
    ordered = sorted(NODE_TYPES.values(), key=lambda t: (order.index(t.category), t.type))
    return [t.describe() for t in ordered]
