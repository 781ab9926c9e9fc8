"""The fusion handler: one call per broker message, in the device's order.

``sensor.batch`` -> detectors on each new packet (magnetic, IMU, the humanoid flag), every packet
to telemetry (group-committed COPY), then the anomalies published with confirms; the consumer acks
after that. ``sensor.audio`` -> the chunk appended to the device's Redis audio stream, the audio
detectors run on it, anomalies published, then ack.

Ordering: a shard queue has one active consumer and the consumer runner starts handlers in
delivery order; everything that touches detector state runs before the handler's first ``await``,
so a device's packets and chunks are analysed exactly in the order the broker delivered them,
while the slow parts (COPY, confirms) of many messages overlap.

Redelivery: the telemetry key makes rows idempotent; packets already analysed are skipped by
sequence number; anomalies carry deterministic ids (device, kind, seq), so one published twice
(a crash between confirm and ack) is stored once by the recorder; and anomalies found for a
message whose write or publish failed are kept and published when it comes back.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from prometheus_client import Counter, Gauge

from vigia.common.broker import MessageMeta
from vigia.common.ids import uuid7_of
from vigia.common.messages import AnomalyDetected, AudioChunk, Envelope, SensorBatch, Severity, make
from vigia.fusion.detectors.audio import pcm16_to_float
from vigia.fusion.detectors.magnetic import magnitude_of
from vigia.fusion.state import DeviceState, DeviceStates
from vigia.fusion.telemetry import Row, packet_rows

log = logging.getLogger(__name__)

PACKETS = Counter("fusion_packets_total", "Sensor packets fusion handled (analysed: new to the "
                  "detectors; repeated: seen before, stored idempotently)", ["outcome"])
AUDIO_CHUNKS = Counter("fusion_audio_chunks_total", "Audio chunks fusion handled", ["outcome"])
ANOMALIES = Counter("fusion_anomalies_total", "Anomalies fusion published", ["kind", "severity"])
SUPPRESSED = Counter("fusion_anomalies_suppressed_total", "Anomalies folded into an earlier one "
                     "of the same device and kind (cool-down)", ["kind"])
DEVICES = Gauge("fusion_devices", "Devices whose detector state this worker holds")


class TelemetrySink(Protocol):
    def store(self, rows: list[Row], *, merge: bool = False) -> Awaitable[int]: ...


class AudioSink(Protocol):
    def append(self, device: uuid.UUID, timestamp_ns: int, sample_rate: int, pcm: bytes, *,
               check_duplicate: bool = False) -> Awaitable[bool]: ...


Publish = Callable[[Envelope], Awaitable[None]]


def anomaly_id(device: uuid.UUID, kind: str, seq: int, observed_at_ns: int) -> uuid.UUID:
    """A UUIDv7 whose time is the observation's and whose other bits hash (device, kind, seq):
    the same anomaly found again after a redelivery has the same id."""
    return uuid7_of(observed_at_ns, f"{device}:{kind}:{seq}")


class FusionService:
    """Holds the per-device state and the adapters (telemetry, audio streams, publisher)."""

    def __init__(self, states: DeviceStates, telemetry: TelemetrySink, audio: AudioSink, publish: Publish, *,
                 source: str = "fusion", pending_limit: int = 10_000) -> None:
        self.states = states
        self.telemetry = telemetry
        self.audio = audio
        self.publish = publish
        self.source = source
        # Anomalies of messages not yet acked, by message id: published when the message comes back.
        self._unpublished: OrderedDict[uuid.UUID, list[Envelope]] = OrderedDict()
        self._pending_limit = pending_limit

    async def handle(self, envelope: Envelope, meta: MessageMeta) -> None:
        if envelope.type == "sensor.batch":
            await self.handle_batch(envelope, redelivered=meta.redelivered)
        elif envelope.type == "sensor.audio":
            await self.handle_audio(envelope, meta.body, redelivered=meta.redelivered)
        else:
            raise ValueError(f"fusion does not handle {envelope.type!r} messages")

    # --- sensor.batch ---

    async def handle_batch(self, envelope: Envelope, *, redelivered: bool = False) -> None:
        batch = envelope.data
        assert isinstance(batch, SensorBatch)
        anomalies = self._unpublished.get(envelope.id)
        if anomalies is None:  # not a retry of a message analysed by this process
            anomalies = self._remember(envelope.id, self.analyse_batch(envelope))
        rows = packet_rows(envelope.org, batch.device, batch.packets)
        await self.telemetry.store(rows, merge=redelivered)
        await self._publish(envelope.id, anomalies)

    def analyse_batch(self, envelope: Envelope) -> list[Envelope]:
        """Run the detectors over the packets not analysed before; the anomalies to publish."""
        batch = envelope.data
        assert isinstance(batch, SensorBatch)
        state = self.states.get(batch.device)
        DEVICES.set(len(self.states))
        found: list[Envelope] = []
        analysed = 0
        for packet in sorted(batch.packets, key=lambda p: p.seq):
            if packet.seq <= state.last_packet_seq:
                continue
            state.last_packet_seq = packet.seq
            analysed += 1
            t = packet.timestamp
            m = packet.magnetometer
            if m is not None:
                magnitude = magnitude_of(m.x, m.y, m.z, m.magnitude)
                hit = state.magnetic.update(magnitude)
                if hit is not None:
                    self._found(found, envelope, state, "magnetic", packet.seq, t, hit.severity, hit.z,
                                magnitude, {"mean": round(hit.mean, 4), "std": round(hit.std, 4),
                                            "window": state.magnetic.window.size,
                                            "sigma": state.magnetic.sigma, "seq": packet.seq})
            a, g = packet.accelerometer, packet.gyroscope
            if a is not None or g is not None:
                imu = state.imu.update((a.x, a.y, a.z) if a is not None else None,
                                       (g.x, g.y, g.z) if g is not None else None)
                if imu is not None:
                    self._found(found, envelope, state, "imu", packet.seq, t, imu.severity, imu.z, imu.value,
                                {"channel": imu.channel, "mean": round(imu.mean, 4), "std": round(imu.std, 4),
                                 "seq": packet.seq})
            if packet.humanoid_detected and not state.humanoid:
                self._found(found, envelope, state, "humanoid", packet.seq, t, Severity.medium, 1.0, 1.0,
                            {"seq": packet.seq})
            state.humanoid = packet.humanoid_detected
        PACKETS.labels("analysed").inc(analysed)
        PACKETS.labels("repeated").inc(len(batch.packets) - analysed)
        return found

    # --- sensor.audio ---

    async def handle_audio(self, envelope: Envelope, pcm: bytes, *, redelivered: bool = False) -> None:
        chunk = envelope.data
        assert isinstance(chunk, AudioChunk)
        if len(pcm) != 2 * chunk.samples:
            # Deterministic: retrying cannot help, the consumer sends it to the DLQ after the limit.
            raise ValueError(f"samples: header says {chunk.samples} samples, body holds {len(pcm) / 2:g}")
        anomalies = self._unpublished.get(envelope.id)
        state = self.states.get(chunk.device)
        fresh = chunk.seq > state.last_audio_seq
        if anomalies is None:
            anomalies = []
            if fresh:
                state.last_audio_seq = chunk.seq
                anomalies = self._remember(envelope.id, self.analyse_audio(envelope, state, pcm))
                AUDIO_CHUNKS.labels("analysed").inc()
            else:
                AUDIO_CHUNKS.labels("repeated").inc()
        if fresh or redelivered:
            await self.audio.append(chunk.device, chunk.timestamp, chunk.sample_rate, pcm,
                                    check_duplicate=redelivered)
        await self._publish(envelope.id, anomalies)

    def analyse_audio(self, envelope: Envelope, state: DeviceState, pcm: bytes) -> list[Envelope]:
        chunk = envelope.data
        assert isinstance(chunk, AudioChunk)
        found: list[Envelope] = []
        for hit in state.audio.update(pcm16_to_float(pcm), chunk.sample_rate, chunk.timestamp):
            self._found(found, envelope, state, hit.kind, chunk.seq, chunk.timestamp, hit.severity, hit.score,
                        hit.value, {**hit.details, "seq": chunk.seq})
        return found

    # --- anomalies ---

    def _found(self, found: list[Envelope], source: Envelope, state: DeviceState, kind: str, seq: int, t: int,
               severity: Severity, score: float, value: float, details: dict[str, Any]) -> None:
        if not state.gate.admit(kind, t, severity):
            SUPPRESSED.labels(kind).inc()
            return
        device = source.data.device  # type: ignore[attr-defined]
        data = AnomalyDetected(device=device, kind=kind, severity=severity,
                               score=round(float(score), 4), observed_at=t, value=float(value), details=details)
        envelope = make("anomaly.detected", source.org, self.source, data, trace=source.trace)
        found.append(envelope.model_copy(update={"id": anomaly_id(device, kind, seq, t)}))

    def _remember(self, message_id: uuid.UUID, anomalies: list[Envelope]) -> list[Envelope]:
        if anomalies:
            self._unpublished[message_id] = anomalies
            while len(self._unpublished) > self._pending_limit:
                dropped, lost = self._unpublished.popitem(last=False)
                log.warning("forgot unpublished anomalies of a message that never came back",
                            extra={"message_id": str(dropped), "anomalies": len(lost)})
        return anomalies

    async def _publish(self, message_id: uuid.UUID, anomalies: list[Envelope]) -> None:
        if anomalies:
            await asyncio.gather(*(self.publish(a) for a in anomalies))
            for a in anomalies:
                data = a.data
                assert isinstance(data, AnomalyDetected)
                ANOMALIES.labels(data.kind, data.severity.value).inc()
                log.info("anomaly", extra={"device": str(data.device), "kind": data.kind,
                                           "severity": data.severity.value, "score": data.score,
                                           "anomaly_id": str(a.id)})
        self._unpublished.pop(message_id, None)
