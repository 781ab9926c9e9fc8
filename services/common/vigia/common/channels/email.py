"""E-mail through an SMTP server (aiosmtplib): STARTTLS or implicit TLS when configured.

One message per recipient (each has its own idempotency key), text body, the snapshot attached
when there is one. A 4xx SMTP reply or a lost connection is retried; a 5xx reply is permanent.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from pydantic import Field, SecretStr, model_validator

from vigia.common.channels.base import (
    ChannelConfig,
    ChannelKind,
    OutgoingMessage,
    PermanentError,
    SendContext,
    SendResult,
    TransientError,
)


class EmailConfig(ChannelConfig):
    """The SMTP server and the sender."""

    host: str = Field(min_length=1, max_length=253, description="SMTP server host name or address.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 submission, 465 implicit TLS).")
    sender: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$",
                        description="From address.")
    username: str | None = Field(None, max_length=254, description="SMTP login, when the server wants one.")
    password: SecretStr | None = Field(None, max_length=1024, description="SMTP password.")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS (required then).")
    tls: bool = Field(False, description="Implicit TLS from the first byte (port 465); excludes STARTTLS.")
    ca_certificate: str | None = Field(None, max_length=20_000, description="PEM of a private CA the "
                                       "server's certificate chains to (default: the system's CAs).")
    subject: str | None = Field(None, max_length=400, description="Jinja2 template of the subject; "
                                "the locale's default when empty.")
    timeout_s: float = Field(20.0, gt=0, le=120, description="Longest the SMTP exchange may take (s).")

    @model_validator(mode="after")
    def _one_tls_mode(self) -> EmailConfig:
        if self.tls and self.starttls:
            raise ValueError("tls and starttls exclude each other: choose one")
        return self


async def send(config: EmailConfig, recipient: str, message: OutgoingMessage, ctx: SendContext) -> SendResult:
    import ssl

    import aiosmtplib

    mail = EmailMessage()
    mail["From"] = config.sender
    mail["To"] = recipient
    mail["Subject"] = message.subject or (message.text.splitlines() or ["Vigia"])[0][:120]
    mail["Message-ID"] = make_msgid(idstring=ctx.idempotency_key[:32] or None, domain="vigia.local")
    if ctx.idempotency_key:
        mail["X-Vigia-Idempotency-Key"] = ctx.idempotency_key
    mail.set_content(message.text)
    if message.image is not None:
        maintype, _, subtype = message.image_type.partition("/")
        mail.add_attachment(message.image, maintype=maintype, subtype=subtype or "jpeg",
                            filename="snapshot.jpg")
    context = ssl.create_default_context(cadata=config.ca_certificate) if config.ca_certificate else None
    try:
        response = await aiosmtplib.send(
            mail, hostname=config.host, port=config.port, username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            start_tls=config.starttls, use_tls=config.tls, tls_context=context,
            timeout=min(config.timeout_s, ctx.timeout_s))
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise PermanentError(f"recipient refused: {exc}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        detail = f"SMTP {exc.code}: {exc.message[:200]}"
        raise (TransientError(detail) if 400 <= exc.code < 500 else PermanentError(detail)) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    errors, reply = response
    if errors:
        raise PermanentError(f"recipient refused: {errors}")
    return SendResult("250", str(reply)[:200])


CHANNEL = ChannelKind(kind="email", label="E-mail", config=EmailConfig, send=send,
                      description="One e-mail per recipient through SMTP (STARTTLS or TLS).")
