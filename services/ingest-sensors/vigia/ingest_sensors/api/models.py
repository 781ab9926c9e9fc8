"""Response bodies of the HTTP API (WebSocket frames are described in :mod:`..wire`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RejectedOut(BaseModel):
    seq: int | None = Field(description="The refused packet's seq (null when it had no readable seq)")
    field: str = Field(description="The field at fault, e.g. magnetometer.x")
    message: str


class BatchOut(BaseModel):
    """200: the accepted packets were confirmed by the broker; the rejected ones were not published."""

    accepted: list[int] = Field(description="seqs of the packets published (broker-confirmed)")
    rejected: list[RejectedOut]


class ReadinessOut(BaseModel):
    status: str
    checks: dict[str, bool]
