"""Graph validation lives in :mod:`vigia.common.pipelines.graph` (shared with the automation engine,
which compiles only graphs it accepts); re-exported here for control's modules."""

from vigia.common.pipelines import nodes as _nodes  # noqa: F401  (registers the catalogue)
from vigia.common.pipelines.graph import GraphError, GraphInvalid, Problems, runnable_problems, validate_graph

__all__ = ["GraphError", "GraphInvalid", "Problems", "runnable_problems", "validate_graph"]
