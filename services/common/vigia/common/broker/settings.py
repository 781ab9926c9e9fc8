"""Broker settings: the knobs of the topology, the publishers and the consumer runner."""

from __future__ import annotations

from pydantic import Field, field_validator

from vigia.common.settings import CommonSettings


class BrokerSettings(CommonSettings):
    """Settings of :mod:`vigia.common.broker`; services that use the broker subclass this model."""

    frame_ttl_ms: int = Field(10_000, ge=100, le=3_600_000, description="How long a frame may wait in "
                              "its vision.frames.<shard> queue before the broker drops it (ms).")
    frames_max_length: int = Field(1000, ge=1, le=1_000_000, description="Most frames each "
                                   "vision.frames.<shard> queue holds; beyond it the oldest are dropped.")
    frame_shards: int = Field(16, ge=1, le=256, description="Number of vision.frames.<shard> queues the "
                              "consistent-hash exchange spreads cameras over; at most this many vision "
                              "replicas do work.")
    delivery_limit: int = Field(5, ge=1, le=1000, description="Deliveries of a message to a durable "
                                "queue's consumers before it is dead-lettered to <queue>.dlq.")
    sensor_shards: int = Field(4, ge=1, le=256, description="Number of fusion.sensors.<shard> queues "
                               "the consistent-hash exchange spreads devices over.")
    automation_shards: int = Field(4, ge=1, le=256, description="Number of automation.<shard> queues the "
                                   "consistent-hash exchange spreads organizations over; at most this many "
                                   "automation replicas do work.")
    notifier_retry_delays_ms: str = Field("2000,10000,60000,300000", pattern=r"^\s*\d+(\s*,\s*\d+)*\s*$",
                                          description="Back-off of the notifier's retries: one delay queue "
                                          "notifier.retry.<ms> per step, in order; a delivery is tried once "
                                          "plus once per step, then dead-lettered (ms, comma-separated).")
    shard_lease_ms: int = Field(15_000, ge=300, le=600_000, description="Lease on a shard queue "
                                "(fusion.sensors.<k>, vision.frames.<k>) a replica renews every third of it; "
                                "a dead replica's shards are taken over within this time (ms).")
    prefetch: int = Field(16, ge=1, le=10_000, description="Unacknowledged messages a consumer may "
                          "hold (basic.qos); also its handler concurrency.")
    confirm_timeout_s: float = Field(10.0, gt=0, le=300, description="How long a publisher waits for "
                                     "the broker's confirm before the publish fails (s).")
    shutdown_grace_s: float = Field(25.0, gt=0, le=600, description="On SIGTERM, how long a consumer "
                                    "waits for in-flight handlers before closing (s).")

    @field_validator("notifier_retry_delays_ms")
    @classmethod
    def _delays_in_range(cls, value: str) -> str:
        if not all(1 <= int(part) <= 86_400_000 for part in value.split(",")):
            raise ValueError("every delay must be from 1 to 86400000 ms")
        return value

    def notifier_retry_delays(self) -> tuple[int, ...]:
        """``notifier_retry_delays_ms`` as integers, in order."""
        return tuple(int(part) for part in self.notifier_retry_delays_ms.split(","))
