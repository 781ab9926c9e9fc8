"""Webhook: a signed JSON POST to an organization's URL, through the SSRF guard.

The body is the action's document (ids, rendered text, payload, signed links) as JSON. Headers:
``X-Vigia-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` (the same form as the pipelines'
webhook input), ``Idempotency-Key`` (one per action, channel and recipient: a receiver that sees it
twice got a retry of something it may already have), ``X-Vigia-Action``, ``User-Agent``. The URL's
host is resolved and checked by :mod:`~vigia.common.channels.netguard` before any connection, and
the request goes to the checked address. Redirects are not followed (a 3xx could point inside), no
cookie is kept or sent: with the context's ``transport`` the request is handed to the pooled
connections as it is, without the client's per-request work. 2xx is delivered; 408, 429 and 5xx
are retried; any other answer is permanent.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from pydantic import AnyHttpUrl, Field, SecretStr, field_validator

from vigia.common.channels.base import (
    ChannelConfig,
    ChannelKind,
    OutgoingMessage,
    PermanentError,
    SendContext,
    SendResult,
    TransientError,
)
from vigia.common.channels.netguard import resolve_checked

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "X-Vigia-Signature"
USER_AGENT = "Vigia-Notifier/1"
RESERVED_HEADERS = frozenset({"host", "content-type", "content-length", SIGNATURE_HEADER.lower(),
                              "idempotency-key", "x-vigia-action"})


class WebhookConfig(ChannelConfig):
    """Where to POST and how to sign it."""

    url: AnyHttpUrl = Field(description="http(s) URL the JSON is posted to.")
    secret: SecretStr = Field(min_length=16, max_length=256, description="HMAC-SHA256 key of the "
                              "X-Vigia-Signature header (16+ characters).")
    headers: dict[str, str] = Field(default_factory=dict, max_length=20, description="Extra request "
                                    "headers (not secret: shown by the API).")
    timeout_s: float = Field(10.0, gt=0, le=60, description="Longest the whole request may take (s).")

    @field_validator("headers")
    @classmethod
    def _no_reserved_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, header in value.items():
            if name.lower() in RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by Vigia")
            if any(c in name + header for c in "\r\n"):
                raise ValueError(f"header {name!r} holds a line break")
        return value


@lru_cache(maxsize=1024)
def _parsed(url: str) -> httpx.URL:
    """``url`` parsed once (a channel posts to the same checked URL again and again)."""
    import httpx

    return httpx.URL(url)


def signature(secret: bytes, body: bytes) -> str:
    """The ``X-Vigia-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


async def send(config: WebhookConfig, recipient: str, message: OutgoingMessage, ctx: SendContext) -> SendResult:
    import httpx

    target = await resolve_checked(str(config.url), ctx.policy)  # raises before any connection
    body = orjson.dumps(dict(message.document) or {"text": message.text})
    headers: dict[str, Any] = {
        "User-Agent": USER_AGENT,
        **config.headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(config.secret.get_secret_value().encode(), body),
        "Idempotency-Key": ctx.idempotency_key,
        "X-Vigia-Action": str(message.document.get("action", "")),
    }
    extensions: dict[str, Any] = {"sni_hostname": target.host} if target.url.startswith("https") else {}
    timeout = min(config.timeout_s, ctx.timeout_s)
    try:
        if ctx.transport is None:
            response = await ctx.http.post(target.connect_url, content=body, headers=headers, timeout=timeout,
                                           extensions=extensions, follow_redirects=False)
        else:
            extensions["timeout"] = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
            request = httpx.Request("POST", _parsed(target.connect_url), content=body, headers=headers,
                                    extensions=extensions)
            response = await ctx.transport.handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
    except httpx.TimeoutException as exc:
        raise TransientError(f"timed out: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    code = response.status_code
    if 200 <= code < 300:
        return SendResult(str(code))
    detail = f"HTTP {code}: {response.text[:200]}"
    if code in (408, 425, 429) or code >= 500:
        raise TransientError(detail)
    raise PermanentError(detail)


CHANNEL = ChannelKind(kind="webhook", label="Webhook", config=WebhookConfig, send=send, needs_recipient=False,
                      http=True,
                      description="A JSON POST signed with HMAC-SHA256 (X-Vigia-Signature).")
