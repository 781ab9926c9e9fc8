"""The pipeline node catalogue. Importing this package registers every node type."""

from vigia.control.pipelines.nodes import inputs, logic, outputs, processing  # noqa: F401  (registration)
from vigia.control.pipelines.nodes.registry import (
    NODE_TYPES,
    Category,
    NodeConfig,
    NodeType,
    PortType,
    catalogue,
    node_type,
)

__all__ = ["NODE_TYPES", "Category", "NodeConfig", "NodeType", "PortType", "catalogue", "node_type"]
