"""Notifier channels: one module per kind, found by the registry (adding a kind is adding a file).

Each module of this package that defines ``CHANNEL`` (a :class:`~.base.ChannelKind`) is a channel
kind: ``webhook``, ``email``, ``telegram``, ``whatsapp``, ``modbus``. Its kind is also the action
kind: the topology binds ``action.<kind>`` to ``notifier.actions`` and the messages register
``action.<kind>`` for every kind :data:`ACTION_KINDS` lists, so neither keeps a list of its own.
"""

from vigia.common.channels.base import (
    ChannelConfig,
    ChannelKind,
    DeliveryError,
    OutgoingMessage,
    PermanentError,
    SendContext,
    SendResult,
    TransientError,
)
from vigia.common.channels.registry import ACTION_KINDS, CHANNELS, channel_kind

__all__ = [
    "ACTION_KINDS",
    "CHANNELS",
    "ChannelConfig",
    "ChannelKind",
    "DeliveryError",
    "OutgoingMessage",
    "PermanentError",
    "SendContext",
    "SendResult",
    "TransientError",
    "channel_kind",
]
