"""The gateway's own metrics: frames accepted and refused (HTTP requests: vigia.common.observability)."""

from __future__ import annotations

from prometheus_client import Counter

FRAMES_ACCEPTED = Counter("vigia_frames_accepted_total", "Frames published to the broker (confirmed) "
                          "by ingest-frames")
FRAMES_REJECTED = Counter(
    "vigia_frames_rejected_total", "Frames ingest-frames refused, by reason (unauthenticated, "
    "too_large, unsupported_type, truncated, invalid, camera_not_found, rate_limited, "
    "broker_unavailable)", ["reason"])

