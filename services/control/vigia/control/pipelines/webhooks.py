"""Webhook input of pipelines: per-node secrets, signatures and the per-node rate limit.

An ``api_webhook`` node gets a secret when its pipeline is saved with it (and loses it when the
node leaves the graph); the answer of that save shows the secret once, ``…/webhooks/{node}/rotate``
replaces it. A post to ``/api/v1/hooks/{pipeline}/{node}`` carries ``X-Vigia-Signature:
sha256=<hex HMAC-SHA256(secret, raw body)>``, compared in constant time. Posts with a good
signature are counted per node in a fixed window in Redis (the Django cache, shared by every API
process); past the limit the answer is 429 with ``Retry-After``. Only signed posts count, so
someone without the secret cannot use up the sender's allowance.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from vigia.control.core import crypto
from vigia.control.pipelines.models import Pipeline, PipelineWebhook

WEBHOOK_NODE_TYPE = "api_webhook"
MAX_BODY_BYTES = 64 * 1024
SIGNATURE_HEADER = "X-Vigia-Signature"
SIGNATURE_PREFIX = "sha256="


class HookSettings(BaseSettings):
    """Rate limit of webhook posts (environment prefix ``VIGIA_``)."""

    model_config = SettingsConfigDict(env_prefix="VIGIA_", extra="forbid")

    hook_max_posts: int = Field(60, ge=1, le=100_000, description="Signed posts one api_webhook node "
                                "accepts per window (VIGIA_HOOK_WINDOW_S); more answer 429 with Retry-After.")
    hook_window_s: int = Field(60, ge=1, le=86_400, description="The window of VIGIA_HOOK_MAX_POSTS (s).")


@lru_cache(maxsize=1)
def hook_settings() -> HookSettings:
    return HookSettings.model_validate({})


def hook_path(pipeline: Any, node: str) -> str:
    return f"/api/v1/hooks/{pipeline}/{node}"


def webhook_nodes(graph: Mapping[str, Any]) -> list[str]:
    """Ids of the graph's api_webhook nodes, in graph order."""
    return [n["id"] for n in graph.get("nodes") or [] if n.get("type") == WEBHOOK_NODE_TYPE]


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sync_secrets(pipeline: Pipeline) -> dict[str, str]:
    """Give every api_webhook node of the saved graph a secret and drop those of nodes that left
    it; returns the secrets just generated (node -> secret), which the caller shows once."""
    wanted = webhook_nodes(pipeline.graph)
    PipelineWebhook.objects.filter(pipeline=pipeline).exclude(node__in=wanted).delete()
    existing = set(PipelineWebhook.objects.filter(pipeline=pipeline).values_list("node", flat=True))
    created: dict[str, str] = {}
    for node in wanted:
        if node not in existing:
            created[node] = new_secret()
            PipelineWebhook.objects.create(org_id=pipeline.org_id, pipeline=pipeline, node=node,
                                           secret_encrypted=crypto.encrypt(created[node]))
    return created


def rotate_secret(webhook: PipelineWebhook) -> str:
    """Replace the node's secret; the old one stops working at once."""
    secret = new_secret()
    webhook.secret_encrypted = crypto.encrypt(secret)
    webhook.rotated_at = timezone.now()
    webhook.save(update_fields=["secret_encrypted", "rotated_at"])
    return secret


def sign(secret: str, body: bytes) -> str:
    """The header value a sender puts in ``X-Vigia-Signature`` for ``body``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of ``header`` against the body's signature."""
    if not header:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), header.strip().encode())


def throttle(pipeline: Any, node: str) -> int | None:
    """Count one post to the node; the seconds until the window ends if it is over the limit."""
    config = hook_settings()
    now = time.time()
    window = int(now // config.hook_window_s)
    key = f"hooks:{pipeline}:{node}:{window}"
    cache.add(key, 0, timeout=config.hook_window_s + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, count := 1, timeout=config.hook_window_s + 1)
    if count <= config.hook_max_posts:
        return None
    return max(1, math.ceil((window + 1) * config.hook_window_s - now))
