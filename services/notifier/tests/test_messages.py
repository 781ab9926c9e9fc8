"""What a recipient reads: signed links made by the object store, absolute, and signed once for the
actions of one event (reused for a tenth of their validity, so a link sent is valid for 90 % of it
at least); an e-mail's subject from the action, the channel or the default."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from vigia.common.channels import channel_kind
from vigia.common.messages import ActionRequested, make
from vigia.common.storage import FileStore
from vigia.common.storage.filesystem import verify_signed_url
from vigia.notifier.channels import Channel
from vigia.notifier.messages import Composer, Links

SECRET = "a-url-secret-of-the-notifier-tests-0123456789"


class CountingStore(FileStore):
    """The filesystem store, counting the links it signs."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, SECRET)
        self.signed = 0

    def presigned_url(self, bucket: str, key: str, **options: Any) -> str:
        self.signed += 1
        return super().presigned_url(bucket, key, **options)


def test_one_events_evidence_link_is_signed_once_and_stays_valid(tmp_path: Path) -> None:
    store = CountingStore(tmp_path)
    clock = [1000.0]
    links = Links(store, "https://vigia.example.com/", timedelta(days=3), clock=lambda: clock[0])
    org, event = uuid.uuid4(), uuid.uuid4()
    first = links.evidence_url(org, event)
    assert first is not None and first.startswith("https://vigia.example.com/objects/evidence/")
    assert verify_signed_url(first, SECRET) == ("evidence", f"{org}/{event}/video.mp4")
    assert [links.evidence_url(org, event) for _ in range(3)] == [first] * 3  # WhatsApp, Telegram, e-mail...
    assert store.signed == 1
    assert links.evidence_url(org, uuid.uuid4()) != first and store.signed == 2  # another event: its own link
    assert links.snapshot_url(None) is None and links.evidence_url(org, None) is None

    clock[0] += 3 * 86_400 / 10 - 1
    links.evidence_url(org, event)
    assert store.signed == 2
    clock[0] += 2  # a tenth of the validity later
    links.evidence_url(org, event)
    assert store.signed == 3  # signed again, so it is valid for the whole validity once more


def _email_channel(**config: Any) -> Channel:
    kind = channel_kind("email")
    return Channel(id=uuid.uuid4(), org=uuid.uuid4(), kind=kind, name="guards", enabled=True,
                   config=kind.config.model_validate({"host": "smtp.example.com", "sender": "vigia@example.com",
                                                      **config}))


async def test_an_emails_subject_is_the_actions_then_the_channels_then_the_default() -> None:
    composer = Composer(Links(None, "https://vigia.example.com", timedelta(days=3)))
    node_subject = {"title": "Intrusão", "zone": "doca 3", "subject": "Intrusão: {{ zone }}"}
    channel = _email_channel(subject="[Canal] {{ title }}")

    async def subject(channel: Channel, payload: dict[str, Any]) -> str:
        envelope = make("action.email", channel.org, "test", ActionRequested(channel=channel.id, payload=payload))
        assert isinstance(envelope.data, ActionRequested)
        return (await composer.compose(envelope, envelope.data, channel, "guard@example.com")).subject

    assert await subject(channel, node_subject) == "Intrusão: doca 3"       # the email node's
    assert await subject(channel, {"title": "Intrusão"}) == "[Canal] Intrusão"  # the channel's
    assert await subject(_email_channel(), {"title": "Intrusão", "severity": "high"}) == "[Vigia] Intrusão (high)"
