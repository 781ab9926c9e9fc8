"""Dependencies of the HTTP routes, as ``Annotated`` aliases so signatures stay short (all
``async def``: plain ``def`` dependencies cost a thread hop per request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from vigia.common.auth import DeviceIdentity
from vigia.common.http_errors import ApiError
from vigia.ingest_sensors.gateway import Gateway


async def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def device_token(request: Request) -> str:
    """The device token of ``Authorization: Bearer <token>``; 401 if there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    raise ApiError(401, "not_authenticated", "a device token is required (Authorization: Bearer vdt_...)",
                   headers={"WWW-Authenticate": 'Bearer realm="vigia-devices"'})


async def authenticated_device(request: Request, gateway: GatewayDep) -> DeviceIdentity:
    """The device the request's token belongs to; 401 (InvalidToken) when it is not valid."""
    return await gateway.devices.authenticate(device_token(request))


DeviceDep = Annotated[DeviceIdentity, Depends(authenticated_device)]
