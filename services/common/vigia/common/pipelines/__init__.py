"""Pipelines: the node catalogue, graph validation and the engine that runs compiled graphs.

Shared by control (validation, the catalogue API, dry runs) and the automation service (which runs
plans on every detection, plate read, anomaly, event, status change, webhook post and tick).
"""

from vigia.common.pipelines.engine import (
    ITEM_KINDS,
    Emission,
    Item,
    MemoryState,
    NodeTrace,
    Plan,
    RunResult,
    State,
    WatchLists,
)
from vigia.common.pipelines.graph import GraphError, GraphInvalid, runnable_problems, validate_graph
from vigia.common.pipelines.registry import NODE_TYPES, REFUSED, Category, NodeConfig, NodeType, PortType, catalogue

__all__ = [
    "ITEM_KINDS",
    "NODE_TYPES",
    "REFUSED",
    "Category",
    "Emission",
    "GraphError",
    "GraphInvalid",
    "Item",
    "MemoryState",
    "NodeConfig",
    "NodeTrace",
    "NodeType",
    "Plan",
    "PortType",
    "RunResult",
    "State",
    "WatchLists",
    "catalogue",
    "runnable_problems",
    "validate_graph",
]
