"""Settings of the streamer (environment prefix ``VIGIA_``)."""

from __future__ import annotations

import os
import socket

from pydantic import Field, SecretStr, model_validator

from vigia.common.broker import BrokerSettings
from vigia.common.secrets_at_rest import DEV_FERNET_KEY, fernet_keys_field, holds_dev_key  # noqa: F401 (re-export)
from vigia.common.settings import Environment


class StreamerSettings(BrokerSettings):
    """Knobs of the RTSP capture workers, the camera leases and the circuit breakers."""

    service_name: str = Field("streamer", description="Name this process reports in logs, metrics and "
                              "message sources.")
    replica_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}",
                            description="This replica's identity in camera leases (default: "
                            "<hostname>-<pid>); must differ between live replicas.")
    fernet_keys: SecretStr = fernet_keys_field()
    ffmpeg_path: str = Field("ffmpeg", description="FFmpeg executable used for RTSP capture.")
    default_fps: float = Field(1.0, gt=0, le=60, description="Sampling rate of a camera whose row "
                               "has no usable fps (frames/s).")
    jpeg_quality: int = Field(5, ge=2, le=31, description="MJPEG quality scale (-q:v, 2 best .. 31 "
                              "worst) of published frames.")
    streamer_max_frame_bytes: int = Field(8_000_000, ge=100_000, le=64_000_000, description="Largest JPEG "
                                 "accepted from FFmpeg; a bigger one is discarded (bounded buffering).")
    rtsp_timeout_s: float = Field(10.0, gt=0, le=300, description="RTSP socket I/O timeout given to "
                                  "FFmpeg (-timeout / -rw_timeout).")
    hang_timeout_s: float = Field(20.0, gt=0, le=600, description="FFmpeg that writes nothing "
                                  "(frames or progress) for this long is killed with its children.")
    first_frame_timeout_s: float = Field(20.0, gt=0, le=600, description="A start that yields no frame "
                                         "within this long counts as a failure.")
    gop_tolerance: float = Field(1.25, ge=1, le=10, description="Key-frame-only decoding is kept while "
                                 "the key-frame interval is at most this times the sampling period; "
                                 "beyond it the camera is fully decoded.")
    breaker_failures: int = Field(5, ge=1, le=100, description="Consecutive failed starts that open a "
                                  "camera's circuit breaker.")
    breaker_recovery_s: float = Field(60.0, gt=0, le=3600, description="How long an open breaker waits "
                                      "before one trial start (s).")
    backoff_initial_s: float = Field(1.0, gt=0, le=60, description="First delay between restarts of a "
                                     "camera's FFmpeg; doubles per failure, with jitter (s).")
    backoff_max_s: float = Field(30.0, gt=0, le=600, description="Longest delay between restarts (s).")
    lease_ms: int = Field(10_000, ge=500, le=600_000, description="Camera lease period: a dead replica's "
                          "cameras move to others within about this long (ms).")
    reconcile_interval_s: float = Field(1.0, gt=0, le=60, description="How often a replica renews its "
                                        "leases, checks for camera changes and acquires cameras (s); "
                                        "never more than a third of the lease.")
    refresh_interval_s: float = Field(60.0, gt=0, le=3600, description="Full reload of the cameras "
                                      "from the database even without change notifications (s).")
    max_cameras: int = Field(200, ge=0, le=10_000, description="Most cameras one replica runs.")
    heartbeat_ttl_s: int = Field(3600, ge=10, le=86_400, description="Expiry of the Redis heartbeat "
                                 "camera:{id}:last_frame (s).")

    @model_validator(mode="after")
    def _refuse_dev_key(self) -> StreamerSettings:
        if self.env not in (Environment.development, Environment.test) and holds_dev_key(self.fernet_keys):
            raise ValueError("VIGIA_FERNET_KEYS holds the development key; set real keys")
        return self

    @property
    def tick_s(self) -> float:
        """The reconcile period: at most a third of the lease, so two renewals can fail in a row."""
        return min(self.reconcile_interval_s, self.lease_ms / 3000)
