"""Writing change events into the outbox, inside the caller's transaction.

``enqueue(envelope)`` stores the envelope with the exchange and routing key the broker topology
gives its type; the relay publishes it after the transaction commits. A rolled-back transaction
takes its outbox rows with it, so nothing is announced that did not happen.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection

from vigia.common.broker.topology import route
from vigia.common.messages import Envelope, Strict, make
from vigia.common.observability import trace_context
from vigia.control.outbox.models import OutboxMessage

SOURCE = "control"


class OutsideTransactionError(RuntimeError):
    """``enqueue`` was called in autocommit mode, where the row could not share the change's fate."""


def enqueue(envelope: Envelope) -> OutboxMessage:
    """Store ``envelope`` for publication in the current transaction; returns the outbox row.

    Raises :class:`OutsideTransactionError` outside ``transaction.atomic()`` (requests are atomic
    already: ``ATOMIC_REQUESTS``), and :class:`~vigia.common.broker.errors.RoutingError` for a
    message type without a route.
    """
    if not connection.in_atomic_block:
        raise OutsideTransactionError("enqueue() must run inside the transaction of the change")
    exchange, key = route(envelope)
    return OutboxMessage.objects.create(
        id=envelope.id, org_id=envelope.org, type=envelope.type, exchange=exchange, routing_key=key,
        body=envelope.to_json(),
    )


def _current_trace() -> str | None:
    trace = trace_context.get()
    return trace if trace and len(trace) == 55 else None  # only a well-formed W3C traceparent


def announce(message_type: str, org: uuid.UUID | str, data: Strict | dict[str, Any]) -> OutboxMessage:
    """Build an envelope from the control plane (continuing the request's trace) and enqueue it."""
    trace = _current_trace()
    try:
        envelope = make(message_type, org, SOURCE, data, trace=trace)
    except ValueError:
        # A malformed incoming traceparent must not block the change: start a fresh trace instead.
        envelope = make(message_type, org, SOURCE, data)
    return enqueue(envelope)
