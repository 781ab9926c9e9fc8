"""Dependencies of the routes, as ``Annotated`` aliases so signatures stay short.

Every dependency is ``async def``: FastAPI runs plain ``def`` dependencies in a thread pool, a
thread hop per request that costs more than the rest of the frame's handling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vigia.common.auth import DeviceIdentity
from vigia.ingest_frames.errors import ApiError
from vigia.ingest_frames.gateway import Gateway
from vigia.ingest_frames.settings import IngestFramesSettings


async def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_settings(gateway: GatewayDep) -> IngestFramesSettings:
    return gateway.settings


SettingsDep = Annotated[IngestFramesSettings, Depends(get_settings)]


def device_token(request: Request) -> str:
    """The device token of ``Authorization: Bearer <token>`` or ``X-Device-Token``; 401 if none."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    token = request.headers.get("x-device-token", "").strip()
    if token:
        return token
    raise ApiError(401, "not_authenticated", "a device token is required (Authorization: Bearer vdt_... "
                   "or X-Device-Token)", reason="unauthenticated",
                   headers={"WWW-Authenticate": 'Bearer realm="vigia-devices"'})


async def authenticated_device(request: Request, gateway: GatewayDep) -> DeviceIdentity:
    """The device the request's token belongs to; 401 (InvalidToken) when it is not valid."""
    return await gateway.devices.authenticate(device_token(request))


DeviceDep = Annotated[DeviceIdentity, Depends(authenticated_device)]
