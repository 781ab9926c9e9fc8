"""The channel registry: every module of :mod:`vigia.common.channels` that defines ``CHANNEL``."""

from __future__ import annotations

import importlib
import pkgutil
from types import MappingProxyType

from vigia.common.channels.base import ChannelKind


def _discover() -> dict[str, ChannelKind]:
    import vigia.common.channels as package

    found: dict[str, ChannelKind] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        kind = getattr(module, "CHANNEL", None)
        if not isinstance(kind, ChannelKind):
            continue
        if kind.kind in found:
            raise ValueError(f"channel kind {kind.kind!r} defined twice")
        found[kind.kind] = kind
    return found


CHANNELS: MappingProxyType[str, ChannelKind] = MappingProxyType(_discover())
"""Every channel kind by name."""

ACTION_KINDS: tuple[str, ...] = tuple(CHANNELS)
"""The action kinds (``action.<kind>``): one per channel kind, in name order."""


def channel_kind(kind: str) -> ChannelKind:
    """The channel kind named ``kind``; KeyError names the known kinds."""
    try:
        return CHANNELS[kind]
    except KeyError:
        raise KeyError(f"unknown channel kind {kind!r}; known: {', '.join(CHANNELS)}") from None
