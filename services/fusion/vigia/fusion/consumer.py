"""Consuming the shard queues, which carry two message forms: JSON envelopes (``sensor.batch``)
and binary bodies with the envelope in ``x-vigia-*`` headers (``sensor.audio``)."""

from __future__ import annotations

from typing import Any

from aio_pika.abc import AbstractIncomingMessage

from vigia.common.broker import Consumer
from vigia.common.messages import HEADER_PREFIX

TYPE_HEADER = HEADER_PREFIX + "type"


def carries_header_envelope(message: AbstractIncomingMessage) -> bool:
    return TYPE_HEADER in (message.headers or {})


class SensorConsumer(Consumer):
    """:class:`~vigia.common.broker.Consumer` that picks the decoding per message.

    The runner decodes with ``self.decode`` synchronously at the start of ``_process``, before its
    first ``await``, so setting it just before is race-free. (A ``decode="auto"`` mode in
    vigia.common would make this subclass unnecessary.)
    """

    async def _process(self, message: AbstractIncomingMessage) -> Any:
        self.decode = "frame" if carries_header_envelope(message) else "json"
        return await super()._process(message)
