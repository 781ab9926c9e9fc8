"""The gateway's link to the broker: connects in the background, publishes frames with confirms.

The gateway starts (and answers /healthz) even while RabbitMQ is down; until the first connection
is up, and whenever a publish is not confirmed, :meth:`FramePublisher.publish` raises
:class:`BrokerUnavailable` and the API answers 503 with Retry-After. After the first connection,
aio-pika's robust connection reconnects by itself and :class:`AsyncPublisher` waits for it (up
to ``confirm_timeout_s``) before giving up on a frame.
"""

from __future__ import annotations

from vigia.common.broker import PublishError
from vigia.common.broker.gateway import BrokerUnavailable, GatewayPublisher
from vigia.common.messages import Envelope, FrameCaptured
from vigia.ingest_frames.heartbeat import CameraHeartbeat
from vigia.ingest_frames.settings import IngestFramesSettings


class FramePublisher(GatewayPublisher):
    """Owns the broker connection of one gateway process and publishes frames."""

    def __init__(self, settings: IngestFramesSettings, heartbeat: CameraHeartbeat | None = None) -> None:
        super().__init__(settings, declare=settings.frames_declare_topology, retry_first_s=2, retry_max_s=2)
        self.heartbeat = heartbeat

    async def publish(self, envelope: Envelope, body: bytes) -> None:
        """Publish one frame; returns once the broker confirmed it (and the camera's heartbeat was
        written, see :mod:`~vigia.ingest_frames.heartbeat`), else :class:`BrokerUnavailable`."""
        publisher = self._live()
        try:
            await publisher.publish_frame(envelope, body)
        except PublishError as exc:
            raise BrokerUnavailable(str(exc)) from exc
        if self.heartbeat is not None and isinstance(envelope.data, FrameCaptured):
            await self.heartbeat.beat(envelope.data.camera)
