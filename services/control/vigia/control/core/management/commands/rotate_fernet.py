"""Re-encrypt every secret at rest under the newest Fernet key.

Rotation: prepend a new key to VIGIA_FERNET_KEYS, restart, run this command, then drop the old
key. Everything is re-encrypted in one transaction: a failure leaves every row as it was.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from vigia.control.cameras.models import Camera
from vigia.control.core import crypto
from vigia.control.faces.models import FacePhoto
from vigia.control.notifications.models import NotificationChannel
from vigia.control.pipelines.models import PipelineWebhook
from vigia.control.tenancy.models import SigningKey


class Command(BaseCommand):
    help = ("Re-encrypt RTSP URLs, signing keys, channel configs, pipeline webhook secrets and enrolled faces "
            "(photos, embeddings) under the first key of VIGIA_FERNET_KEYS.")

    def handle(self, *args: Any, **options: Any) -> None:
        counts: dict[str, int] = {}
        secrets: tuple[tuple[type[Any], tuple[str, ...]], ...] = (
            (Camera, ("rtsp_url_encrypted",)), (SigningKey, ("private_key_encrypted",)),
            (NotificationChannel, ("config_encrypted",)), (PipelineWebhook, ("secret_encrypted",)),
            (FacePhoto, ("photo_encrypted", "embedding_encrypted")))
        with transaction.atomic():
            for model, fields in secrets:
                rows = 0
                for row in model.objects.select_for_update().only("pk", *fields).iterator():
                    for field in fields:
                        setattr(row, field, crypto.rotate(getattr(row, field)))
                    row.save(update_fields=list(fields))
                    rows += 1
                counts[model._meta.db_table] = rows
        self.stdout.write("re-encrypted: " + ", ".join(f"{table} {n}" for table, n in counts.items()))
