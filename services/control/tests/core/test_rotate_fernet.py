"""Fernet key rotation re-encrypts every secret at rest so the old key can be dropped."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from vigia.control.cameras.models import Camera
from vigia.control.core import crypto
from vigia.control.faces.models import EnrolledPerson, FacePhoto
from vigia.control.notifications.models import NotificationChannel
from vigia.control.pipelines.models import Pipeline, PipelineWebhook
from vigia.control.tenancy.models import SigningKey

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.mark.django_db
def test_rotation_leaves_every_secret_readable_with_the_new_key_alone(settings: Any, org: Any,
                                                                      signing_key: SigningKey) -> None:
    settings.VIGIA_FERNET_KEYS = OLD
    camera = Camera.objects.create(org=org, name="gate", rtsp_url_encrypted=crypto.encrypt("rtsp://u:p@h/s"))
    signing_key.private_key_encrypted = crypto.encrypt("pem-bytes")
    signing_key.save(update_fields=["private_key_encrypted"])
    channel = NotificationChannel.objects.create(org=org, kind="webhook", name="hook",
                                                 config_encrypted=crypto.encrypt('{"secret": "s"}'))
    hook = PipelineWebhook.objects.create(org=org, pipeline=Pipeline.objects.create(org=org, name="p"), node="in",
                                          secret_encrypted=crypto.encrypt("hook-secret"))
    person = EnrolledPerson.objects.create(org=org, name="Ana", consent_note="signed")
    photo = FacePhoto.objects.create(org=org, person=person, photo_encrypted=crypto.encrypt("jpeg"),
                                     embedding_encrypted=crypto.encrypt("embedding"), face_box={}, width=1, height=1)

    settings.VIGIA_FERNET_KEYS = f"{NEW},{OLD}"
    out = StringIO()
    call_command("rotate_fernet", stdout=out)
    assert "cameras 1" in out.getvalue() and "notification_channels 1" in out.getvalue()
    assert "pipeline_webhooks 1" in out.getvalue() and "face_photos 1" in out.getvalue()

    settings.VIGIA_FERNET_KEYS = NEW  # the old key is gone
    camera.refresh_from_db()
    signing_key.refresh_from_db()
    assert crypto.decrypt(camera.rtsp_url_encrypted) == "rtsp://u:p@h/s"
    assert crypto.decrypt(signing_key.private_key_encrypted) == "pem-bytes"
    channel.refresh_from_db()
    assert crypto.decrypt(channel.config_encrypted) == '{"secret": "s"}'
    hook.refresh_from_db()
    assert crypto.decrypt(hook.secret_encrypted) == "hook-secret"
    photo.refresh_from_db()
    assert (crypto.decrypt(photo.photo_encrypted), crypto.decrypt(photo.embedding_encrypted)) == ("jpeg", "embedding")

    settings.VIGIA_FERNET_KEYS = OLD
    with pytest.raises(InvalidToken):
        crypto.decrypt(camera.rtsp_url_encrypted)
