"""The node catalogue, by category. Importing this package registers every node type."""

from vigia.common.pipelines.nodes import inputs, logic, outputs, processing

__all__ = ["inputs", "logic", "outputs", "processing"]
