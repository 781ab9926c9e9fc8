"""Settings of the ingest-frames gateway (environment variables with the ``VIGIA_`` prefix)."""

from __future__ import annotations

from pydantic import Field

from vigia.common.broker import BrokerSettings


class IngestFramesSettings(BrokerSettings):
    """What the frame gateway needs besides the shared stores and the broker knobs."""

    ingest_frames_host: str = Field("0.0.0.0", description="Address the ingest-frames gateway "  # noqa: S104
                                    "listens on.")
    ingest_frames_port: int = Field(8001, ge=0, le=65535, description="HTTP port of the ingest-frames "
                                    "gateway (API, /healthz, /readyz and /metrics).")
    ingest_frames_workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes of the "
                                       "ingest-frames gateway; prefer more replicas over more workers, "
                                       "since each worker exposes its own /metrics.")
    max_frame_bytes: int = Field(5 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024, description="Largest "
                                 "frame (image bytes) ingest-frames accepts; larger answers 413.")
    max_frame_dimension: int = Field(8192, ge=16, le=16384, description="Largest width or height, in "
                                     "pixels, of a frame ingest-frames accepts.")
    frame_rate_limit: int = Field(100, ge=1, le=100_000, description="Frames per second one camera may "
                                  "push through ingest-frames (fixed 1 s window in Redis); beyond it "
                                  "429 with Retry-After.")
    device_cache_s: float = Field(15.0, ge=0, le=300, description="How long ingest-frames trusts a "
                                  "verified device token without asking the database again; a revoked "
                                  "token keeps working at most this long.")
    camera_cache_s: float = Field(15.0, ge=0, le=300, description="How long ingest-frames caches which "
                                  "organization a camera belongs to; a deleted camera keeps receiving "
                                  "frames at most this long.")
    frames_declare_topology: bool = Field(True, description="Declare the broker topology when "
                                          "ingest-frames connects (idempotent).")
    frame_drop_poll_s: float = Field(5.0, ge=0, le=3600, description="How often ingest-frames reads "
                                     "the vision.frames.<k> statistics from the management API to count "
                                     "dropped frames (0: never).")
