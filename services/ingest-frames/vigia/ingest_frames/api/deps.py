"""Dependencies of the FastAPI routes, as ``Annotated`` aliases so signatures stay short.

Every dependency is ``async def``: FastAPI runs plain ``def`` dependencies in a thread pool, a
thread hop per request. (The frames route's hot path does not go through FastAPI at all: see
:class:`~vigia.ingest_frames.api.frames.FrameEndpoint`.)"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vigia.ingest_frames.gateway import Gateway


async def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
