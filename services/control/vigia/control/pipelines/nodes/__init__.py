"""The pipeline node catalogue lives in :mod:`vigia.common.pipelines` (the automation engine runs
the same node types control validates); re-exported here for control's modules."""

from vigia.common.pipelines.registry import (
    NODE_TYPES,
    REFUSED,
    Category,
    NodeConfig,
    NodeType,
    PortType,
    catalogue,
    node_type,
)

__all__ = ["NODE_TYPES", "REFUSED", "Category", "NodeConfig", "NodeType", "PortType", "catalogue", "node_type"]
