"""Accepting one frame: the gateway's logic, apart from HTTP.

:func:`accept_frame` decides, in this order, whether a frame from an authenticated device goes
on: the camera must belong to the device's organization (else :class:`CameraNotFound`, as if it
did not exist), the bytes must be a complete JPEG or PNG of sane size (else
:class:`~vigia.ingest_frames.images.ImageRejected`), the camera must be within its rate (else
:class:`RateLimited`), and the broker must confirm the ``frame.captured`` message (else
:class:`~vigia.ingest_frames.publishing.BrokerUnavailable`). Only then does it return; on every
refusal nothing was published.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from vigia.common.auth import DeviceIdentity
from vigia.common.messages import Envelope, FrameCaptured, make
from vigia.ingest_frames.images import inspect_image
from vigia.ingest_frames.ratelimit import RateDecision

SOURCE = "ingest-frames"


class CameraOwners(Protocol):
    async def owner(self, camera: uuid.UUID) -> uuid.UUID | None: ...

    async def enabled(self, camera: uuid.UUID) -> bool: ...


class RateLimiter(Protocol):
    async def admit(self, camera: uuid.UUID) -> RateDecision: ...


class FrameSink(Protocol):
    async def publish(self, envelope: Envelope, body: bytes) -> None: ...


class CameraNotFound(LookupError):
    """No such camera in the caller's organization (another org's camera included)."""


class CameraDisabled(Exception):
    """The camera exists in the caller's organization but is disabled: its frames are refused."""


class RateLimited(Exception):
    """The camera pushed more frames this second than it may."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"frame rate limit reached; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class IncomingFrame:
    """A frame as the device sent it. ``captured_at_ns`` and ``trace`` are optional."""

    camera: uuid.UUID
    image: bytes
    captured_at_ns: int | None = None
    trace: str | None = None


@dataclass(frozen=True, slots=True)
class AcceptedFrame:
    """The published frame: its envelope id (the frame id) and per-camera sequence number."""

    id: uuid.UUID
    camera: uuid.UUID
    seq: int


async def accept_frame(frame: IncomingFrame, device: DeviceIdentity, *, cameras: CameraOwners,
                       limiter: RateLimiter, sink: FrameSink, max_dimension: int) -> AcceptedFrame:
    """Check and publish one frame; see the module docstring for the order and the errors."""
    if await cameras.owner(frame.camera) != device.org:
        raise CameraNotFound(frame.camera)
    if not await cameras.enabled(frame.camera):
        raise CameraDisabled(frame.camera)
    info = inspect_image(frame.image, max_dimension)
    decision = await limiter.admit(frame.camera)
    if not decision.allowed:
        raise RateLimited(decision.retry_after_s)
    data = FrameCaptured(camera=frame.camera, width=info.width, height=info.height,
                         content_type=info.content_type, seq=decision.seq)
    envelope = make("frame.captured", device.org, SOURCE, data, trace=frame.trace,
                    time_ns=frame.captured_at_ns)
    await sink.publish(envelope, frame.image)
    return AcceptedFrame(envelope.id, frame.camera, decision.seq)
