"""Output nodes: each record that reaches one becomes an :class:`~vigia.common.pipelines.engine.Emission`
-- an action the notifier carries out through one of the organization's channels (the channel holds
the credentials and addresses; the node names it, the recipients and the template), or a dashboard
event operators see."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from vigia.common.pipelines.registry import Category, Environment, Node, NodeConfig, Outputs, PortType, node_type

if TYPE_CHECKING:
    from vigia.common.pipelines.engine import Run

_CHANNEL = Field(description="A notifier channel of the organization (its credentials and settings).")
_TEMPLATE = Field(None, max_length=4000, description="Message template; default: the notifier's for the event.")


class ActionConfig(NodeConfig):
    channel: uuid.UUID = _CHANNEL
    template: str | None = _TEMPLATE


class _Action(Node):
    """An emission of ``kind`` through the configured channel for every record received."""

    __slots__ = ("_channel", "_extra", "_recipients", "_template")
    kind = ""

    def __init__(self, node_id: str, config: ActionConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._channel = config.channel
        self._template = config.template
        self._recipients: tuple[str, ...] = tuple(getattr(config, "recipients", ()))
        self._extra: dict[str, Any] = {}

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        payload = run.base_payload(self.id, value)
        payload.update(self._extra)
        run.emit(self.id, self.kind, self._channel, self._recipients, self._template, payload)
        return None


class WhatsAppConfig(ActionConfig):
    """A WhatsApp message (template or text, through the WhatsApp Cloud API channel) per record."""

    recipients: list[str] = Field(min_length=1, max_length=20, description="E.164 phone numbers.")

    @field_validator("recipients")
    @classmethod
    def _phones(cls, value: list[str]) -> list[str]:
        for number in value:
            if not re.fullmatch(r"\+[1-9]\d{7,14}", number):
                raise ValueError(f"{number!r} is not an E.164 phone number (+5511999990000)")
        return value


@node_type("whatsapp", WhatsAppConfig, category=Category.OUTPUT, label="WhatsApp", inputs={"events": PortType.EVENTS})
class WhatsApp(_Action):
    __slots__ = ()
    kind = "whatsapp"


class TelegramConfig(ActionConfig):
    """A Telegram message (with the snapshot when there is one) per record."""

    recipients: list[str] = Field(min_length=1, max_length=20, description="Chat ids or @channel names.")

    @field_validator("recipients")
    @classmethod
    def _chats(cls, value: list[str]) -> list[str]:
        for chat in value:
            if not re.fullmatch(r"-?\d{1,20}|@[A-Za-z0-9_]{5,32}", chat):
                raise ValueError(f"{chat!r} is not a Telegram chat id or @name")
        return value


@node_type("telegram", TelegramConfig, category=Category.OUTPUT, label="Telegram", inputs={"events": PortType.EVENTS})
class Telegram(_Action):
    __slots__ = ()
    kind = "telegram"


class EmailConfig(ActionConfig):
    """An e-mail per record."""

    recipients: list[str] = Field(min_length=1, max_length=20, description="E-mail addresses.")
    subject: str | None = Field(None, max_length=200, description="Subject template; default: the notifier's.")

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            local, _, domain = address.partition("@")
            if not local or "." not in domain.strip(".") or any(c.isspace() for c in address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value


@node_type("email", EmailConfig, category=Category.OUTPUT, label="Email", inputs={"events": PortType.EVENTS})
class Email(_Action):
    __slots__ = ()
    kind = "email"

    def __init__(self, node_id: str, config: EmailConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        if config.subject is not None:
            self._extra = {"subject": config.subject}


class PlcControlConfig(ActionConfig):
    """A Modbus TCP write (coil or holding register) per record, through a Modbus channel (the PLC's
    host, port and unit); with ``pulse_s`` the value is written back to 0 after that many seconds."""

    register_type: Literal["coil", "holding"] = "coil"
    address: int = Field(ge=0, le=65535)
    value: int = Field(1, ge=0, le=65535)
    pulse_s: float | None = Field(None, gt=0, le=3600)


@node_type("plc_control", PlcControlConfig, category=Category.OUTPUT, label="PLC control",
           inputs={"events": PortType.EVENTS})
class PlcControl(_Action):
    __slots__ = ()
    kind = "modbus"

    def __init__(self, node_id: str, config: PlcControlConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        if config.register_type == "coil" and config.value not in (0, 1):
            raise ValueError("a coil takes the value 0 or 1")
        self._extra = {"register_type": config.register_type, "address": config.address, "value": config.value,
                       "pulse_s": config.pulse_s}


class HttpPostConfig(ActionConfig):
    """A signed JSON POST of each record to the webhook channel's URL."""


@node_type("http_post", HttpPostConfig, category=Category.OUTPUT, label="HTTP POST", inputs={"data": PortType.ANY})
class HttpPost(_Action):
    __slots__ = ()
    kind = "webhook"


class DashboardConfig(NodeConfig):
    """Raises an event on the operators' dashboard and live feed for each record."""

    title: str = Field("", max_length=120, description="Event title; default: the pipeline's node.")
    event_type: str = Field("pipeline", min_length=1, max_length=64)
    severity: Literal["low", "medium", "high", "critical"] | None = Field(
        None, description="Default: the record's severity (an event's), else medium.")
    description: str = Field("", max_length=2000)


@node_type("dashboard", DashboardConfig, category=Category.OUTPUT, label="Dashboard", inputs={"data": PortType.ANY})
class Dashboard(Node):
    __slots__ = ("_extra", "_severity")

    def __init__(self, node_id: str, config: DashboardConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._severity = config.severity
        self._extra = {"title": config.title or node_id, "event_type": config.event_type,
                       "description": config.description}

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        payload = run.base_payload(self.id, value)
        severity = self._severity or value.get("severity")
        payload.update(self._extra)
        payload["severity"] = severity if severity in ("low", "medium", "high", "critical") else "medium"
        run.emit(self.id, "dashboard", None, (), None, payload)
        return None
