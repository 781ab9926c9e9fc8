"""What every notifier channel shares: its config base, the message it sends, how it fails.

A channel kind is one module of :mod:`vigia.common.channels` that defines ``CHANNEL``, a
:class:`ChannelKind`: its ``kind`` (also the action kind, ``action.<kind>``), its pydantic
``Config`` (secret fields typed :class:`~pydantic.SecretStr`: stored encrypted, never returned by
the API) and its async ``send``. Heavy client libraries are imported inside ``send``, so reading
the catalogue (control, the topology) costs nothing.

``send`` either returns a :class:`SendResult` or raises :class:`TransientError` (worth retrying:
a timeout, a 5xx, a refused connection) or :class:`PermanentError` (retrying cannot help: a 4xx,
a target refused by the network guard, a config the service rejects).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr

if TYPE_CHECKING:
    import httpx

    from vigia.common.channels.netguard import NetworkPolicy


class ChannelConfig(BaseModel):
    """Base of every channel's config: unknown fields are refused, and the knobs every kind has."""

    model_config = ConfigDict(extra="forbid")

    locale: str = Field("pt-BR", pattern=r"^(pt-BR|en)$", description="Language of the default "
                        "templates when the action names none: pt-BR or en.")
    template: str | None = Field(None, max_length=4000, description="Jinja2 (sandboxed) template of "
                                 "the message text; the kind's default for the locale when empty.")
    rate_per_s: float = Field(20.0, gt=0, le=100_000, description="Sends per second this channel "
                              "may make (token bucket, shared by every notifier replica).")
    burst: int = Field(40, ge=1, le=100_000, description="Sends the bucket allows at once.")
    recipients: list[str] = Field(default_factory=list, max_length=100, description="Recipients used "
                                  "when an action names none.")

    @classmethod
    def secrets(cls) -> tuple[str, ...]:
        """Names of the fields that are secrets (typed SecretStr): write-only in the API."""
        return tuple(name for name, info in cls.model_fields.items()
                     if info.annotation in (SecretStr, SecretStr | None))

    def plain(self) -> dict[str, Any]:
        """Every field with secrets in clear (what is encrypted at rest)."""
        values = self.model_dump(mode="json")
        for name in self.secrets():
            secret = getattr(self, name)
            values[name] = secret.get_secret_value() if secret is not None else None
        return values

    def public(self) -> dict[str, Any]:
        """Every field but the secrets (what the API shows)."""
        values = self.model_dump(mode="json")
        for name in self.secrets():
            values.pop(name, None)
        return values


@dataclass(frozen=True)
class OutgoingMessage:
    """A rendered message for one recipient.

    ``text`` is the rendered body, ``subject`` the e-mail subject; ``image`` the snapshot's bytes
    (when the action has one and the store had it) and ``image_url`` a signed link to it;
    ``document`` the JSON body a webhook posts; ``params`` values a channel passes on as they are
    (a Modbus write's address and value, a WhatsApp template's name)."""

    text: str
    subject: str = ""
    image: bytes | None = None
    image_type: str = "image/jpeg"
    image_url: str | None = None
    document: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)


class ConversationWindows(Protocol):
    """When a recipient last wrote to us (WhatsApp's 24-hour customer-service window)."""

    def last_user_message(self, channel: str, recipient: str) -> datetime | None: ...


class NoConversations:
    """We receive no inbound messages, so every window is unknown: WhatsApp gets templates."""

    def last_user_message(self, channel: str, recipient: str) -> datetime | None:
        return None


@dataclass
class SendContext:
    """What a send may use besides its config: the shared HTTP client (pooled connections), the
    network policy of the SSRF guard, the timeout, the delivery's idempotency key and ids.

    ``transport``, when given, is the client's own transport (the same pooled connections): a send
    that needs nothing of the client's per-request work (cookies, redirects, auth, default
    headers) posts through it directly, as the webhook does."""

    http: httpx.AsyncClient
    policy: NetworkPolicy
    transport: httpx.AsyncBaseTransport | None = None
    timeout_s: float = 10.0
    idempotency_key: str = ""
    channel_id: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    whatsapp_api_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    conversations: ConversationWindows = field(default_factory=NoConversations)
    now: Callable[[], datetime] | None = None


@dataclass(frozen=True)
class SendResult:
    """What the far side answered: a status (HTTP code, SMTP reply) and a short detail."""

    status: str = "ok"
    detail: str = ""


class DeliveryError(Exception):
    """A send that failed; ``retry`` says whether trying again could help."""

    retry: ClassVar[bool] = False


class TransientError(DeliveryError):
    """Worth retrying later: timeout, connection refused, 5xx, 429."""

    retry = True


class PermanentError(DeliveryError):
    """Retrying cannot help: refused target, 4xx, invalid config."""


Send = Callable[[Any, str, OutgoingMessage, SendContext], Awaitable[SendResult]]


@dataclass(frozen=True)
class ChannelKind:
    """One kind of channel: ``kind`` is also its action kind (``action.<kind>``)."""

    kind: str
    label: str
    config: type[ChannelConfig]
    send: Send
    needs_recipient: bool = True
    description: str = ""
    #: Its sends are requests of the shared HTTP client (webhook, Telegram, WhatsApp): the notifier
    #: lets as many run at once as the client has connections, the rest wait their turn before it.
    http: bool = False
    #: Seconds a send holds on purpose beyond its requests (a Modbus pulse), from the config and the
    #: action's payload: the notifier's time-out and delivery lease are stretched by as much.
    hold_s: Callable[[Any, Mapping[str, Any]], float] | None = None
