"""Prometheus metrics of the automation runtime (``vigia_automation_…``)."""

from __future__ import annotations

from functools import cache

from prometheus_client import Counter, Gauge, Histogram

ITEMS = Counter("vigia_automation_items_total", "Items evaluated (messages, ticks, escalations), by kind", ["kind"])
NODE_INPUTS = Counter("vigia_automation_node_inputs_total", "Records a pipeline's node received",
                      ["pipeline", "node"])
NODE_OUTPUTS = Counter("vigia_automation_node_outputs_total", "Records a pipeline's node handed on or emitted",
                       ["pipeline", "node"])
NODE_ERRORS = Counter("vigia_automation_node_errors_total", "Failures of a pipeline's node", ["pipeline", "node"])
NODE_LAST_FIRED = Gauge("vigia_automation_node_last_fired_timestamp_seconds", "When a pipeline's node last "
                        "produced an output (the input's time)", ["pipeline", "node"])
EMISSIONS = Counter("vigia_automation_emissions_total", "Actions and dashboard events published", ["kind"])
PIPELINES = Gauge("vigia_automation_pipelines_running", "Pipelines this replica runs")
BATCH_SECONDS = Histogram("vigia_automation_batch_seconds", "Evaluate, publish, commit and acknowledge one batch",
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
BATCH_MESSAGES = Histogram("vigia_automation_batch_messages", "Messages per batch",
                           buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000))
BATCH_FAILURES = Counter("vigia_automation_batch_failures_total", "Batches given back to the broker "
                         "(publish or commit failed), by stage", ["stage"])


@cache
def item(kind: str) -> Counter:
    """The items counter of one kind (children cached: ``labels()`` per item costs more than the item)."""
    return ITEMS.labels(kind)


@cache
def emission(kind: str) -> Counter:
    return EMISSIONS.labels(kind)
