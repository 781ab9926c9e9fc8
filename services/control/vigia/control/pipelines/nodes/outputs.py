"""Output nodes: actions outside Vigia (carried out by the notifier) and dashboards."""

from __future__ import annotations

from typing import Literal

from pydantic import AnyHttpUrl, Field, field_validator

from vigia.control.pipelines.nodes.registry import Category, NodeConfig, PortType, node_type


@node_type("whatsapp", category=Category.OUTPUT, label="WhatsApp", inputs={"events": PortType.EVENTS})
class WhatsApp(NodeConfig):
    """A WhatsApp message per event."""

    to: str = Field(pattern=r"^\+[1-9]\d{7,14}$", description="E.164 phone number.")
    template: str = Field("{event_type} at {site}", max_length=1000)


@node_type("email", category=Category.OUTPUT, label="Email", inputs={"events": PortType.EVENTS})
class Email(NodeConfig):
    """An e-mail per event."""

    to: list[str] = Field(min_length=1, max_length=20)
    subject: str = Field("Vigia: {event_type}", max_length=200)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            local, _, domain = address.partition("@")
            if not local or "." not in domain.strip(".") or any(c.isspace() for c in address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value


@node_type("telegram", category=Category.OUTPUT, label="Telegram", inputs={"events": PortType.EVENTS})
class Telegram(NodeConfig):
    """A Telegram bot message per event."""

    chat_id: str = Field(pattern=r"^-?\d{1,20}$|^@[A-Za-z0-9_]{5,32}$")
    template: str = Field("{event_type} at {site}", max_length=1000)


@node_type("plc_control", category=Category.OUTPUT, label="PLC control", inputs={"events": PortType.EVENTS})
class PlcControl(NodeConfig):
    """A Modbus TCP write (coil or holding register) per event."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(502, ge=1, le=65535)
    unit_id: int = Field(1, ge=0, le=247)
    register_type: Literal["coil", "holding"] = "coil"
    address: int = Field(ge=0, le=65535)
    value: int = Field(1, ge=0, le=65535)


@node_type("http_post", category=Category.OUTPUT, label="HTTP POST", inputs={"data": PortType.ANY})
class HttpPost(NodeConfig):
    """A JSON POST to an external API per item."""

    url: AnyHttpUrl
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)


@node_type("dashboard", category=Category.OUTPUT, label="Dashboard", inputs={"data": PortType.ANY})
class Dashboard(NodeConfig):
    """A widget on the console's dashboard."""

    widget: Literal["counter", "chart", "table", "map", "timeline"] = "counter"
    title: str = Field("", max_length=120)
