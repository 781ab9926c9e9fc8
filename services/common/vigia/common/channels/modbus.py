"""Modbus TCP (pymodbus): write a coil or a holding register of a PLC, optionally as a pulse.

The channel says which PLC (host, port, unit id) and the default write; an action's payload may
name its own ``register_type`` (``coil`` | ``holding``), ``address``, ``value`` and ``pulse_s``
(the ``plc_control`` node's fields). With a pulse the value is written, held ``pulse_s`` seconds,
then reset to ``reset_value`` (a siren that sounds for ten seconds). PLCs live on plant networks,
so the SSRF guard of webhooks does not apply: only an admin sets a channel's host. A refused
connection or a timeout is retried; a Modbus exception reply (illegal address…) is permanent.
A pulse cut by a crash between set and reset is finished by the retry (the write is idempotent).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vigia.common.channels.base import (
    ChannelConfig,
    ChannelKind,
    OutgoingMessage,
    PermanentError,
    SendContext,
    SendResult,
    TransientError,
)

RegisterType = Literal["coil", "holding"]


class ModbusConfig(ChannelConfig):
    """The PLC and the default write."""

    host: str = Field(min_length=1, max_length=253, description="PLC host name or address.")
    port: int = Field(502, ge=1, le=65535, description="Modbus TCP port.")
    unit_id: int = Field(1, ge=0, le=247, description="Modbus unit (slave) id.")
    register_type: RegisterType = Field("coil", description="coil (on/off) or holding (16-bit register).")
    address: int = Field(0, ge=0, le=65535, description="Coil or register address (0-based).")
    value: int = Field(1, ge=0, le=65535, description="Value written (coils: 0 or 1).")
    pulse_s: float = Field(0.0, ge=0, le=3600, description="Hold the value this long, then write "
                           "reset_value (0: leave it set).")
    reset_value: int = Field(0, ge=0, le=65535, description="Value written when a pulse ends.")
    timeout_s: float = Field(5.0, gt=0, le=60, description="Longest one Modbus request may take (s).")


class ModbusWrite(BaseModel):
    """One write, from the channel's defaults overridden by the action's payload."""

    model_config = ConfigDict(extra="ignore")

    register_type: RegisterType
    address: int = Field(ge=0, le=65535)
    value: int = Field(ge=0, le=65535)
    pulse_s: float = Field(ge=0, le=3600)
    reset_value: int = Field(ge=0, le=65535)


def planned_write(config: ModbusConfig, params: dict[str, Any]) -> ModbusWrite:
    """The write an action asks for; raises :class:`PermanentError` naming a bad field."""
    defaults = config.model_dump(include={"register_type", "address", "value", "pulse_s", "reset_value"})
    try:
        write = ModbusWrite.model_validate({**defaults, **{k: v for k, v in params.items() if v is not None}})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise PermanentError(f"payload.{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    if write.register_type == "coil" and (write.value > 1 or write.reset_value > 1):
        raise PermanentError("payload.value: a coil takes 0 or 1")
    return write


def pulse_hold(config: ModbusConfig, payload: Mapping[str, Any]) -> float:
    """How long a send holds the value before resetting it (0 for a bad payload: it fails fast)."""
    try:
        return planned_write(config, {k: payload.get(k) for k in ModbusWrite.model_fields}).pulse_s
    except PermanentError:
        return 0.0


async def _write(client: Any, write: ModbusWrite, value: int, unit: int) -> None:
    from pymodbus.exceptions import ModbusException

    try:
        if write.register_type == "coil":
            reply = await client.write_coil(write.address, bool(value), device_id=unit)
        else:
            reply = await client.write_register(write.address, value, device_id=unit)
    except ModbusException as exc:
        raise TransientError(f"modbus: {exc}") from exc
    if reply.isError():
        raise PermanentError(f"modbus exception reply to {write.register_type} {write.address}: {reply}")


async def send(config: ModbusConfig, recipient: str, message: OutgoingMessage, ctx: SendContext) -> SendResult:
    from pymodbus.client import AsyncModbusTcpClient

    write = planned_write(config, dict(message.params))
    client = AsyncModbusTcpClient(config.host, port=config.port, timeout=min(config.timeout_s, ctx.timeout_s),
                                  retries=0)
    try:
        if not await client.connect():
            raise TransientError(f"modbus: cannot connect to {config.host}:{config.port}")
        await _write(client, write, write.value, config.unit_id)
        if write.pulse_s > 0:
            await asyncio.sleep(write.pulse_s)
            await _write(client, write, write.reset_value, config.unit_id)
    finally:
        client.close()
    pulse = f", reset to {write.reset_value} after {write.pulse_s:g}s" if write.pulse_s > 0 else ""
    return SendResult("ok", f"{write.register_type} {write.address}={write.value}{pulse}")


CHANNEL = ChannelKind(kind="modbus", label="Modbus PLC", config=ModbusConfig, send=send, needs_recipient=False,
                      description="Modbus TCP write of a coil or holding register, optionally as a pulse.",
                      hold_s=pulse_hold)
