"""Remove the RTSP URL (credentials included) from the camera messages already in the outbox.

Camera change messages used to carry the URL in clear; they no longer do (consumers read it
encrypted from ``cameras``). Published rows are rewritten too: they stay in the table (and in
every backup) until the janitor prunes them. Irreversible by design: the secret is not kept.
"""

import orjson
from django.db import migrations

BATCH = 500


def redact_camera_urls(apps, schema_editor):
    OutboxMessage = apps.get_model("outbox", "OutboxMessage")
    rows = OutboxMessage.objects.using(schema_editor.connection.alias).filter(type__startswith="camera.")
    changed = []
    for row in rows.only("id", "body").iterator(chunk_size=BATCH):
        envelope = orjson.loads(bytes(row.body))
        data = envelope.get("data")
        if isinstance(data, dict) and "rtsp_url" in data:
            del data["rtsp_url"]
            row.body = orjson.dumps(envelope)
            changed.append(row)
        if len(changed) >= BATCH:
            rows.bulk_update(changed, ["body"])
            changed.clear()
    if changed:
        rows.bulk_update(changed, ["body"])


class Migration(migrations.Migration):

    dependencies = [
        ("outbox", "0002_next_attempt_at"),
    ]

    operations = [
        migrations.RunPython(redact_camera_urls, migrations.RunPython.noop, elidable=True),
    ]
