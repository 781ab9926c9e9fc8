"""Settings of the automation runtime (env prefix ``VIGIA_``)."""

from __future__ import annotations

from pydantic import Field

from vigia.common.broker import BrokerSettings

DEFAULT_METRICS_PORT = 9106


class AutomationSettings(BrokerSettings):
    """How the automation runtime consumes, batches, ticks and records its runs."""

    automation_instance: str = Field("", max_length=128, description="This replica's name in the shard "
                                     "leases (default: host name and process id).")
    automation_candidate_shards: str = Field("", pattern=r"^[0-9,\s]*$", description="Comma-separated "
                                             "automation.<k> shards this replica may take (empty: all).")
    automation_prefetch: int = Field(512, ge=1, le=10_000, description="Unacknowledged messages one shard's "
                                     "consumer may hold; a batch is at most this many.")
    automation_batch: int = Field(256, ge=1, le=10_000, description="Most messages evaluated, published, "
                                  "committed and acknowledged together.")
    automation_linger_ms: float = Field(5.0, ge=0, le=1000, description="When more than one message is "
                                        "waiting, how long a shard waits for more before evaluating them as one "
                                        "batch (ms): under load, one commit serves many messages.")
    automation_tick_s: float = Field(1.0, gt=0, le=60, description="Interval of the ticks that advance "
                                     "timers, dwell times, windows and escalations (s).")
    automation_runs_kept: int = Field(100, ge=1, le=10_000, description="Runs (inputs and outputs of each "
                                      "node) kept per pipeline in pipeline_runs.")
    automation_quiet_runs_per_batch: int = Field(3, ge=0, le=1000, description="Runs that fired nothing "
                                                 "recorded per pipeline and batch (the last ones).")
    automation_fired_runs_per_batch: int = Field(20, ge=1, le=1000, description="Runs that fired or failed "
                                                 "recorded per pipeline and batch (the last ones).")
    automation_org_refresh_s: float = Field(60.0, gt=0, le=3600, description="How often an organization's "
                                            "time zone and settings are read again (s).")
    automation_db_retry_max_s: float = Field(10.0, gt=0, le=300, description="Longest pause between two "
                                             "attempts to commit a batch while PostgreSQL is away (s).")


MODELS = (AutomationSettings,)
