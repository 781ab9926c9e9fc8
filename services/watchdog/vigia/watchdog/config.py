"""Settings of the watchdog (env prefix ``VIGIA_``)."""

from __future__ import annotations

from pydantic import Field

from vigia.common.broker import BrokerSettings
from vigia.common.settings import RetentionSettings

DEFAULT_METRICS_PORT = 9103


class WatchdogSettings(BrokerSettings, RetentionSettings):
    """How often the watchdog looks, when a camera counts as frozen, and how hard it pushes."""

    watchdog_tick_s: float = Field(1.0, gt=0, le=60, description="How often the watchdog wakes up to "
                                   "renew its lease and run the checks that are due (s).")
    watchdog_lease_s: float = Field(15.0, gt=0, le=600, description="Lifetime of the watchdog:leader "
                                    "lease in Redis: a dead leader is replaced within this time (s).")
    watchdog_instance: str | None = Field(None, max_length=128, description="Name this replica holds "
                                          "the leader lease under. Default: host, pid and a random id.")
    camera_check_s: float = Field(5.0, gt=0, le=3600, description="How often camera heartbeats are "
                                  "checked (s).")
    camera_stale_seconds: float = Field(15.0, gt=0, le=86_400, description="A camera whose last frame "
                                        "(Redis camera:<id>:last_frame) is older than this is offline and "
                                        "restarted; a newer one makes it online (s).")
    camera_restart_cooldown_s: float = Field(30.0, gt=0, le=86_400, description="After a restart command, "
                                             "how long before the same camera may be restarted again; it "
                                             "doubles with each restart that does not help (s).")
    camera_restart_cooldown_max_s: float = Field(600.0, gt=0, le=86_400, description="Upper bound of the "
                                                 "doubling restart cool-down (s).")
    device_check_s: float = Field(1.0, gt=0, le=3600, description="How often device last_seen values "
                                  "(Redis device:<id>:last_seen) are checked against their reporting intervals (s).")
    device_refresh_s: float = Field(30.0, gt=0, le=86_400, description="How often the device list, statuses "
                                    "and reporting intervals are reloaded from PostgreSQL (s).")
    device_flush_s: float = Field(10.0, gt=0, le=86_400, description="How often last_seen values that moved "
                                  "are written to devices.last_seen in PostgreSQL, in one batched UPDATE (s).")
    device_min_interval_s: float = Field(1.0, ge=0, le=3600, description="Floor under a device's "
                                         "reporting interval for health: ingest-sensors refreshes last_seen "
                                         "about once a second, so shorter intervals would flap (s).")

    # --- janitor jobs (vigia.watchdog.janitor) -------------------------------------------------------
    janitor_retention_s: float = Field(3600.0, gt=0, le=86_400, description="How often the watchdog "
                                       "deletes expired rows from time-series tables that are not "
                                       "TimescaleDB hypertables (s).")
    janitor_objects_s: float = Field(3600.0, gt=0, le=86_400, description="How often the watchdog deletes "
                                     "objects older than their bucket's lifecycle (snapshots: 30 days) from "
                                     "the filesystem object store (file://); S3 buckets expire their own (s).")
    janitor_dlq_s: float = Field(30.0, gt=0, le=3600, description="How often the watchdog reads the depth "
                                 "of every *.dlq queue into the vigia_dlq_messages gauge (s).")
    janitor_leases_s: float = Field(30.0, gt=0, le=3600, description="How often the watchdog deletes camera "
                                    "leases whose streamer replica stopped heartbeating (s).")
    janitor_lease_grace_s: float = Field(60.0, gt=0, le=86_400, description="A streamer replica whose last "
                                         "heartbeat is older than this is gone: its camera leases are "
                                         "deleted (s).")
