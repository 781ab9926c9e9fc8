"""WhatsApp Cloud API: an approved template outside the 24-hour window, text + image inside it.

WhatsApp lets a business send free-form messages only within 24 hours of the recipient's last
message to it; outside that window only pre-approved templates go through. Vigia receives no
inbound WhatsApp messages (no webhook for them yet), so the window of every recipient is unknown
(:class:`~vigia.common.channels.base.NoConversations`) and every notification is a template
message: the channel's ``template_name`` in ``template_language``, whose body parameter ``{{1}}``
is the rendered text (and whose header is the snapshot's signed link when
``template_image_header``). A :class:`ConversationWindows` that knows a recent inbound message
makes the same send a text message plus an image message (the snapshot's link).

``POST {api}/{version}/{phone_number_id}/messages`` with ``Authorization: Bearer <token>``;
429 and 5xx are retried, other errors are permanent.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field, SecretStr

from vigia.common.channels.base import (
    ChannelConfig,
    ChannelKind,
    OutgoingMessage,
    PermanentError,
    SendContext,
    SendResult,
    TransientError,
)

WINDOW = timedelta(hours=24)


class WhatsAppConfig(ChannelConfig):
    """The business phone number and the template used outside the conversation window."""

    phone_number_id: str = Field(pattern=r"^\d{5,20}$", description="The sender's phone number id "
                                 "in the WhatsApp Business account.")
    access_token: SecretStr = Field(min_length=20, max_length=1024, description="Cloud API access token.")
    template_name: str = Field("vigia_alert", pattern=r"^[a-z0-9_]{1,512}$", description="Approved "
                               "template sent outside the 24-hour window; its body has one parameter.")
    template_language: str = Field("pt_BR", pattern=r"^[a-z]{2}(_[A-Z]{2})?$",
                                   description="Language code of the template.")
    template_image_header: bool = Field(False, description="The template has an image header: the "
                                        "snapshot's link goes there.")


def _in_window(last: datetime | None, now: datetime) -> bool:
    return last is not None and now - last < WINDOW


def _messages(config: WhatsAppConfig, recipient: str, message: OutgoingMessage, open_window: bool
              ) -> list[dict[str, Any]]:
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient.lstrip("+")}
    if open_window:
        out = [{**base, "type": "text", "text": {"body": message.text[:4096], "preview_url": False}}]
        if message.image_url:
            out.append({**base, "type": "image", "image": {"link": message.image_url}})
        return out
    components: list[dict[str, Any]] = [
        {"type": "body", "parameters": [{"type": "text", "text": message.text[:1024]}]}]
    if config.template_image_header and message.image_url:
        components.insert(0, {"type": "header",
                              "parameters": [{"type": "image", "image": {"link": message.image_url}}]})
    return [{**base, "type": "template", "template": {
        "name": config.template_name, "language": {"code": config.template_language},
        "components": components}}]


async def send(config: WhatsAppConfig, recipient: str, message: OutgoingMessage, ctx: SendContext) -> SendResult:
    import httpx

    now = ctx.now() if ctx.now else datetime.now(UTC)
    open_window = _in_window(ctx.conversations.last_user_message(ctx.channel_id, recipient), now)
    url = f"{ctx.whatsapp_api_url.rstrip('/')}/{ctx.whatsapp_api_version}/{config.phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {config.access_token.get_secret_value()}"}
    ids: list[str] = []
    for body in _messages(config, recipient, message, open_window):
        try:
            response = await ctx.http.post(url, json=body, headers=headers, timeout=ctx.timeout_s)
        except httpx.TimeoutException as exc:
            raise TransientError(f"timed out: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            detail = f"HTTP {response.status_code}: {response.text[:200]}"
            if response.status_code == 429 or response.status_code >= 500:
                raise TransientError(detail)
            raise PermanentError(detail)
        with contextlib.suppress(ValueError, AttributeError):
            ids.extend(str(m.get("id")) for m in response.json().get("messages", []))
    return SendResult("200", ("text" if open_window else "template") + f" {','.join(ids)}")


CHANNEL = ChannelKind(kind="whatsapp", label="WhatsApp", config=WhatsAppConfig, send=send, http=True,
                      description="WhatsApp Cloud API: template outside the 24-hour window, text + image "
                      "inside it.")
