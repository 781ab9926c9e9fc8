"""Request and response bodies of the frames API (the error body is :class:`vigia.common.http_errors.ErrorOut`)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class FrameAcceptedOut(BaseModel):
    """202: the broker confirmed the frame."""

    id: uuid.UUID = Field(description="Frame id: the id of the frame.captured envelope (UUIDv7)")
    camera: uuid.UUID
    seq: int = Field(description="Per-camera sequence number: unique, increasing through one gateway process, "
                     "may skip numbers (0 when the rate limiter was unavailable)")


class ReadinessOut(BaseModel):
    status: str
    checks: dict[str, bool]
