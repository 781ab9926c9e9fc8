"""Telegram Bot API: ``sendPhoto`` with the snapshot (the text as its caption), else ``sendMessage``.

Recipients are chat ids (``123456``, ``-100123…`` for groups) or ``@channelusername``. The API's
base URL comes from the notifier's settings (``VIGIA_NOTIFIER_TELEGRAM_API_URL``), so tests point
it at a local stand-in. ``ok: false`` with 429 or a 5xx is retried (after Telegram's
``retry_after`` at the earliest); any other refusal is permanent.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, SecretStr, field_validator

from vigia.common.channels.base import (
    ChannelConfig,
    ChannelKind,
    OutgoingMessage,
    PermanentError,
    SendContext,
    SendResult,
    TransientError,
)

TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096


class TelegramConfig(ChannelConfig):
    """The bot that speaks."""

    bot_token: SecretStr = Field(min_length=20, max_length=128,
                                 description="The bot's token from @BotFather (<id>:<secret>).")
    send_photo: bool = Field(True, description="Send the snapshot as a photo with the text as caption.")
    disable_notification: bool = Field(False, description="Deliver silently.")

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not TOKEN.match(value.get_secret_value()):
            raise ValueError("not a bot token: <digits>:<20+ letters, digits, _ or ->")
        return value


async def send(config: TelegramConfig, recipient: str, message: OutgoingMessage, ctx: SendContext) -> SendResult:
    import httpx

    base = f"{ctx.telegram_api_url.rstrip('/')}/bot{config.bot_token.get_secret_value()}"
    common: dict[str, Any] = {"chat_id": recipient, "disable_notification": config.disable_notification}
    try:
        if config.send_photo and message.image is not None and len(message.text) <= CAPTION_LIMIT:
            response = await ctx.http.post(
                f"{base}/sendPhoto", data={**{k: str(v).lower() if isinstance(v, bool) else str(v)
                                              for k, v in common.items()}, "caption": message.text},
                files={"photo": ("snapshot.jpg", message.image, message.image_type)}, timeout=ctx.timeout_s)
        else:
            text = message.text[:TEXT_LIMIT]
            if message.image_url and len(text) + len(message.image_url) + 1 <= TEXT_LIMIT:
                text = f"{text}\n{message.image_url}"
            response = await ctx.http.post(f"{base}/sendMessage", json={**common, "text": text},
                                           timeout=ctx.timeout_s)
    except httpx.TimeoutException as exc:
        raise TransientError(f"timed out: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from exc
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code == 200 and answer.get("ok") is True:
        return SendResult("200", f"message_id={answer.get('result', {}).get('message_id')}")
    detail = f"HTTP {response.status_code}: {str(answer.get('description') or response.text)[:200]}"
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientError(detail)
    raise PermanentError(detail)


CHANNEL = ChannelKind(kind="telegram", label="Telegram", config=TelegramConfig, send=send, http=True,
                      description="Telegram Bot API: sendPhoto with the snapshot, or sendMessage.")
