"""Errors raised by the broker layer, the same for the async (aio-pika) and sync (pika) clients."""

from __future__ import annotations

from typing import Any


class BrokerError(Exception):
    """Base of every error raised by :mod:`vigia.common.broker`."""


class PublishError(BrokerError):
    """The broker did not confirm a message: it nacked it, the confirm timed out, the exchange does
    not exist or the connection was lost and could not be restored in time. The message may or may
    not have been stored; retrying is safe because consumers dedupe by message id."""

    def __init__(self, message: str, *, exchange: str = "", routing_key: str = "") -> None:
        super().__init__(message)
        self.exchange = exchange
        self.routing_key = routing_key


class UnroutableError(PublishError):
    """The broker returned a mandatory message because no queue is bound for its routing key."""

    def __init__(self, exchange: str, routing_key: str) -> None:
        super().__init__(
            f"unroutable message: no queue bound to exchange {exchange!r} for routing key {routing_key!r}",
            exchange=exchange, routing_key=routing_key,
        )


class BatchPublishError(PublishError):
    """Some messages of a :meth:`AsyncPublisher.publish_many` batch failed; the others were confirmed.

    ``failures`` lists ``(item, error)`` pairs for the failed ones, in input order.
    """

    def __init__(self, failures: list[tuple[Any, PublishError]], total: int) -> None:
        first = failures[0][1]
        super().__init__(f"{len(failures)} of {total} messages failed; first: {first}",
                         exchange=first.exchange, routing_key=first.routing_key)
        self.failures = failures


class TopologyConflictError(BrokerError):
    """An exchange or queue already exists with different type, flags or arguments.

    RabbitMQ answers such a declaration with 406 PRECONDITION_FAILED; fix it by deleting the old
    entity (after draining it) or by aligning the settings with what is deployed."""

    def __init__(self, kind: str, name: str, detail: str) -> None:
        super().__init__(f"{kind} {name!r} already exists with different settings: {detail}")
        self.kind = kind
        self.name = name
        self.detail = detail


class RoutingError(BrokerError, ValueError):
    """No route is defined for a message type (a programming error, not a broker state)."""
