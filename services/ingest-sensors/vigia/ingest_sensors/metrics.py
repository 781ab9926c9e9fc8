"""The gateway's own metrics: items accepted and refused, ack latency, connections (HTTP requests:
vigia.common.observability)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PACKETS_ACCEPTED = Counter("vigia_sensor_packets_accepted_total", "Sensor packets ingest-sensors "
                           "published to the broker (confirmed)", ["transport"])
PACKETS_REJECTED = Counter(
    "vigia_sensor_packets_rejected_total", "Sensor items (packets, audio chunks, frames) ingest-sensors "
    "refused, by reason (invalid, timestamp, seq, device_id, audio, rate_limited, too_large)", ["reason"])
AUDIO_CHUNKS_ACCEPTED = Counter("vigia_sensor_audio_chunks_accepted_total", "Audio chunks ingest-sensors "
                                "published to the broker (confirmed)")
BATCHES_PUBLISHED = Counter("vigia_sensor_batches_published_total", "sensor.batch messages ingest-sensors "
                            "published (confirmed)")
ACK_LATENCY = Histogram(
    "vigia_sensor_ack_latency_seconds", "From the arrival of the first item of a broker message to the "
    "ack covering it (WebSocket) or the response (HTTP)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
CONNECTIONS = Gauge("vigia_sensor_connections", "Authenticated sensor WebSockets open on this process")
CLOSES = Counter("vigia_sensor_connections_closed_total", "Sensor WebSockets closed, by close code",
                 ["code"])

