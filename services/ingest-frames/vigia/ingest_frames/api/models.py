"""Request and response bodies of the frames API (the error body is in :mod:`..errors`)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class FrameAcceptedOut(BaseModel):
    """202: the broker confirmed the frame."""

    id: uuid.UUID = Field(description="Frame id: the id of the frame.captured envelope (UUIDv7)")
    camera: uuid.UUID
    seq: int = Field(description="Per-camera sequence number: unique, increasing through one gateway process, "
                     "may skip numbers (0 when the rate limiter was unavailable)")


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(BaseModel):
    """Every error: the one shape shared with the control plane."""

    error: ErrorDetail


class ReadinessOut(BaseModel):
    status: str
    checks: dict[str, bool]
