"""Settings of the sensor gateway (prefix ``VIGIA_``; the broker knobs come from BrokerSettings)."""

from __future__ import annotations

from pydantic import Field

from vigia.common.broker import BrokerSettings


class IngestSensorsSettings(BrokerSettings):
    """What the sensor gateway needs besides the shared stores and the broker knobs."""

    ingest_sensors_host: str = Field("0.0.0.0", description="Address the ingest-sensors gateway "  # noqa: S104
                                     "listens on.")
    ingest_sensors_port: int = Field(8002, ge=0, le=65535, description="HTTP/WebSocket port of the "
                                     "ingest-sensors gateway (API, /healthz, /readyz and /metrics).")
    sensors_max_frame_bytes: int = Field(512 * 1024, ge=4096, le=16 * 1024 * 1024, description="Largest "
                                         "WebSocket frame (or HTTP batch body) ingest-sensors accepts; a "
                                         "larger frame closes the socket with 1009 (HTTP: 413).")
    sensors_rate_limit: float = Field(200.0, gt=0, le=1_000_000, description="Items (packets and audio "
                                      "chunks) per second one device may send to ingest-sensors, as a "
                                      "token bucket per device and gateway process; beyond it the socket "
                                      "closes with 1008 (HTTP: 429).")
    sensors_rate_burst_s: float = Field(30.0, gt=0, le=3600, description="Depth of the per-device token "
                                        "bucket in seconds of VIGIA_SENSORS_RATE_LIMIT: room for a phone "
                                        "that reconnects and resends its unacknowledged backlog.")
    sensors_batch_max_packets: int = Field(500, ge=1, le=10_000, description="Packets of one device "
                                           "ingest-sensors puts in one sensor.batch message at most; a "
                                           "connection's buffer is published when it holds this many.")
    sensors_batch_linger_ms: float = Field(50.0, ge=0, le=5000, description="Longest a packet waits in "
                                           "its connection's buffer before the buffer is published (ms): "
                                           "the ack latency paid for fewer, larger broker messages.")
    sensors_inflight_batches: int = Field(32, ge=1, le=10_000, description="Unconfirmed broker messages "
                                          "one connection may have; beyond it ingest-sensors stops reading "
                                          "that socket until confirms come back (back-pressure).")
    sensors_max_past_s: float = Field(86_400.0, ge=0, description="Oldest packet timestamp accepted, in "
                                      "seconds before the gateway's clock; older packets are rejected.")
    sensors_max_future_s: float = Field(300.0, ge=0, description="Newest packet timestamp accepted, in "
                                        "seconds after the gateway's clock (device clock skew).")
    sensors_auth_timeout_s: float = Field(5.0, gt=0, le=300, description="How long a socket opened "
                                          "without ?token= has to send its auth message before it is "
                                          "closed with 4401.")
    sensors_device_cache_s: float = Field(15.0, ge=0, le=300, description="How long ingest-sensors "
                                          "trusts a verified device token without asking the database "
                                          "again; a revoked token can open sockets at most this long.")
    sensors_last_seen_flush_s: float = Field(1.0, gt=0, le=60, description="How often ingest-sensors "
                                             "writes device:{id}:last_seen to Redis (s).")
    sensors_declare_topology: bool = Field(True, description="Declare the broker topology when "
                                           "ingest-sensors connects (idempotent).")


MODELS = (IngestSensorsSettings,)
