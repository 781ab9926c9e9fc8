"""What a recipient reads: the action rendered with a sandboxed Jinja2 template, signed links.

Template source, first found: the action's ``template``, the channel's ``template``, the kind's
default in the locale (the action's, else the channel's: ``pt-BR`` or ``en``); an e-mail's subject
template likewise: the action's payload ``subject`` (the pipeline's email node puts it there), the
channel's ``subject``, the default. A template sees
every field of the action's payload at the top level (``title``, ``severity``, ``site``,
``event_type``, ``description``… whatever the pipeline put there) and ``payload`` itself, plus
``action``, ``event``, ``pipeline``, ``node``, ``channel_name``, ``kind``, ``recipient``, ``time``
(the action's, ISO 8601 UTC), ``snapshot_url`` and ``evidence_url``. The sandbox refuses attribute
tricks (``__class__``…) and a template that fails is a permanent failure of that delivery.

Links are the object store's signed URLs, made the way control signs evidence downloads
(:func:`vigia.control.observations.evidence.evidence_files`): S3 presigned URLs, or the file
store's ``/objects/<bucket>/<key>?expires=&sig=`` made absolute with ``VIGIA_NOTIFIER_PUBLIC_URL``.
``snapshot_url`` signs the payload's ``snapshot_key`` (bucket ``snapshots``); ``evidence_url``
signs the event's evidence video (``evidence/<org>/<event>/video.mp4``, present once the
correlator built the bundle).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from vigia.common.channels import OutgoingMessage, PermanentError
from vigia.common.messages import ActionRequested, Envelope, format_time_ns
from vigia.common.storage import ObjectNotFound, ObjectStore, StorageError
from vigia.notifier.channels import Channel

_TEXT = {
    "pt-BR": (
        "[Vigia] {{ title or event_type or 'Alerta' }}{% if severity %} ({{ severity }}){% endif %}"
        "{% if site %} em {{ site }}{% endif %} — {{ time }}"
        "{% if description %}\n{{ description }}{% endif %}"
        "{% if snapshot_url %}\nImagem: {{ snapshot_url }}{% endif %}"
        "{% if evidence_url %}\nEvidências: {{ evidence_url }}{% endif %}"),
    "en": (
        "[Vigia] {{ title or event_type or 'Alert' }}{% if severity %} ({{ severity }}){% endif %}"
        "{% if site %} at {{ site }}{% endif %} — {{ time }}"
        "{% if description %}\n{{ description }}{% endif %}"
        "{% if snapshot_url %}\nSnapshot: {{ snapshot_url }}{% endif %}"
        "{% if evidence_url %}\nEvidence: {{ evidence_url }}{% endif %}"),
}
_SUBJECT = {
    "pt-BR": "[Vigia] {{ title or event_type or 'Alerta' }}{% if severity %} ({{ severity }}){% endif %}",
    "en": "[Vigia] {{ title or event_type or 'Alert' }}{% if severity %} ({{ severity }}){% endif %}",
}
_MODBUS = {"pt-BR": "CLP: {{ register_type or 'coil' }} {{ address }} = {{ value }}",
           "en": "PLC: {{ register_type or 'coil' }} {{ address }} = {{ value }}"}
#: The defaults per kind and locale: (text, subject).
DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    kind: {locale: (_MODBUS[locale] if kind == "modbus" else _TEXT[locale], _SUBJECT[locale])
           for locale in ("pt-BR", "en")}
    for kind in ("webhook", "email", "telegram", "whatsapp", "modbus")
}
IMAGE_KINDS = frozenset({"telegram", "email"})
MODBUS_FIELDS = ("register_type", "address", "value", "pulse_s", "reset_value")

_env = SandboxedEnvironment(autoescape=False, trim_blocks=False)


@lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return _env.from_string(source)


def render(source: str, context: dict[str, Any]) -> str:
    """Render ``source`` in the sandbox; a syntax error or a refused operation is permanent."""
    try:
        return str(_compiled(source).render(context))
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise PermanentError(f"template: {type(exc).__name__}: {exc}") from exc


class Links:
    """Signed links to snapshots and evidence, and the snapshot's bytes for kinds that attach it.

    A link signed for an object is reused for a tenth of its validity (the actions of one event to
    several channels and recipients sign it once), so a link sent is always valid for at least 90 %
    of ``ttl``."""

    CACHED_MAX = 4096

    def __init__(self, store: ObjectStore | None, public_url: str, ttl: timedelta,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.public_url = public_url.rstrip("/")
        self.ttl = ttl
        self.clock = clock
        self._reuse_s = ttl.total_seconds() / 10
        self._signed: dict[tuple[str, str], tuple[float, str]] = {}

    def _url(self, bucket: str, key: str) -> str | None:
        if self.store is None:
            return None
        now = self.clock()
        cached = self._signed.get((bucket, key))
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            url = self.store.presigned_url(bucket, key, expires=self.ttl)
        except (StorageError, ValueError):
            return None
        if url.startswith("/"):
            url = self.public_url + url
        if len(self._signed) >= self.CACHED_MAX:
            self._signed.clear()
        self._signed[(bucket, key)] = (now + self._reuse_s, url)
        return url

    def snapshot_url(self, key: str | None) -> str | None:
        return self._url("snapshots", key) if key else None

    def evidence_url(self, org: Any, event: Any) -> str | None:
        return self._url("evidence", f"{org}/{event}/video.mp4") if event else None

    async def snapshot(self, key: str | None) -> bytes | None:
        if self.store is None or not key:
            return None
        try:
            return await asyncio.to_thread(self.store.get, "snapshots", key)
        except (ObjectNotFound, StorageError, ValueError):
            return None


class Composer:
    """Turns an action and a channel into the :class:`OutgoingMessage` of one recipient."""

    def __init__(self, links: Links) -> None:
        self.links = links

    async def compose(self, envelope: Envelope, action: ActionRequested, channel: Channel,
                      recipient: str) -> OutgoingMessage:
        kind = channel.kind.kind
        locale = action.locale or channel.config.locale
        default_text, default_subject = DEFAULTS.get(kind, DEFAULTS["webhook"])[locale]
        snapshot_key = action.payload.get("snapshot_key")
        snapshot_key = snapshot_key if isinstance(snapshot_key, str) else None
        event = str(action.event) if action.event else None
        context: dict[str, Any] = {
            **action.payload, "payload": action.payload, "action": str(envelope.id),
            "event": event,
            "pipeline": str(action.pipeline) if action.pipeline else None, "node": action.node,
            "channel_name": channel.name, "kind": kind, "recipient": recipient,
            "time": format_time_ns(envelope.time),
            "snapshot_url": self.links.snapshot_url(snapshot_key),
            "evidence_url": self.links.evidence_url(envelope.org, event),
        }
        text = render(action.template or channel.config.template or default_text, context)
        subject = ""
        if kind == "email":  # the only kind with a subject: the action's (the email node's), the channel's
            subject_source = action.payload.get("subject")
            if not isinstance(subject_source, str) or not subject_source:
                subject_source = getattr(channel.config, "subject", None) or default_subject
            subject = render(subject_source, context).replace("\r", " ").replace("\n", " ")[:250]
        image = await self.links.snapshot(snapshot_key) if kind in IMAGE_KINDS else None
        document = {
            "action": context["action"], "org": str(envelope.org), "time": context["time"],
            "event": event, "pipeline": context["pipeline"], "node": action.node,
            "channel": str(channel.id), "kind": kind, "text": text, "payload": action.payload,
            "snapshot_url": context["snapshot_url"], "evidence_url": context["evidence_url"],
        }
        params = {name: action.payload.get(name) for name in MODBUS_FIELDS}
        return OutgoingMessage(text=text, subject=subject, image=image, image_url=context["snapshot_url"],
                               document=document, params=params)
