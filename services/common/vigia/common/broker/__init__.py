"""Vigia's broker layer: topology, publishers (async and sync), the consumer runner.

See :mod:`.topology` for the layout and its decisions, :mod:`.publisher` / :mod:`.sync` for the
publishing contract and :mod:`.consumer` for the consuming contract.
"""

from vigia.common.broker.connection import connect
from vigia.common.broker.consumer import (
    MESSAGE_HANDLE_SECONDS,
    MESSAGES_CONSUMED,
    Consumer,
    MessageMeta,
    PoisonMessage,
    decode_message,
)
from vigia.common.broker.errors import (
    BatchPublishError,
    BrokerError,
    PublishError,
    RoutingError,
    TopologyConflictError,
    UnroutableError,
)
from vigia.common.broker.publisher import AsyncPublisher, envelope_message, frame_message
from vigia.common.broker.settings import BrokerSettings
from vigia.common.broker.sync import SyncPublisher
from vigia.common.broker.topology import (
    ACTIONS,
    CONTROL,
    DLX,
    EVENTS,
    FRAME_SHARDS,
    FRAMES,
    SENSOR_SHARDS,
    SENSORS,
    Binding,
    ExchangeSpec,
    QueueSpec,
    Topology,
    build_topology,
    declare_live_queue,
    declare_topology,
    declare_topology_sync,
    dlq_name,
    exchange_for,
    frame_shard_queue,
    frame_shard_queues,
    route,
    routing_key,
    sensor_shard_queue,
)

__all__ = [
    "ACTIONS",
    "CONTROL",
    "DLX",
    "EVENTS",
    "FRAMES",
    "FRAME_SHARDS",
    "MESSAGES_CONSUMED",
    "MESSAGE_HANDLE_SECONDS",
    "SENSORS",
    "SENSOR_SHARDS",
    "AsyncPublisher",
    "BatchPublishError",
    "Binding",
    "BrokerError",
    "BrokerSettings",
    "Consumer",
    "ExchangeSpec",
    "MessageMeta",
    "PoisonMessage",
    "PublishError",
    "QueueSpec",
    "RoutingError",
    "SyncPublisher",
    "Topology",
    "TopologyConflictError",
    "UnroutableError",
    "build_topology",
    "connect",
    "declare_live_queue",
    "declare_topology",
    "declare_topology_sync",
    "decode_message",
    "dlq_name",
    "envelope_message",
    "exchange_for",
    "frame_message",
    "frame_shard_queue",
    "frame_shard_queues",
    "route",
    "routing_key",
    "sensor_shard_queue",
]
