"""Webhook input of pipelines: per-node secrets, signatures and the per-node rate limit.

An ``api_webhook`` node gets a secret when its pipeline is saved with it (and loses it when the
node leaves the graph); the answer of that save shows the secret once, ``…/webhooks/{node}/rotate``
replaces it. A post to ``/api/v1/hooks/{pipeline}/{node}`` carries ``X-Vigia-Signature:
sha256=<hex HMAC-SHA256(secret, raw body)>``, compared in constant time. Posts with a good
signature are then counted per node (:mod:`vigia.control.pipelines.hook_limits`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from vigia.control.core import crypto
from vigia.control.pipelines.models import Pipeline, PipelineWebhook

WEBHOOK_NODE_TYPE = "api_webhook"
MAX_BODY_BYTES = 64 * 1024
SIGNATURE_HEADER = "X-Vigia-Signature"
SIGNATURE_PREFIX = "sha256="


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
