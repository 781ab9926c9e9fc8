# Time-series storage (docs/adr/0002-time-series-storage.md): a BRIN index for the janitor on
# device_status_changes, then TimescaleDB hypertables when the extension can be created.

import django.contrib.postgres.indexes
from django.db import migrations


def setup_timescale(apps, schema_editor):
    from vigia.control.observations.timeseries import setup_timescale as setup

    setup(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('observations', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='devicestatuschange',
            index=django.contrib.postgres.indexes.BrinIndex(fields=['time'], name='dsc_time_brin'),
        ),
        migrations.RunPython(setup_timescale, migrations.RunPython.noop, elidable=False),
    ]
