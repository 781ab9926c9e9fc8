# The correlator's false-alarm score of an event (issue #14, learning from operators).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('observations', '0007_forecast_history_steps'),
        ('classifiers', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='event',
            name='false_alarm_score',
            field=models.FloatField(blank=True, help_text='Probability of a false alarm by the organization\'s active classifier (null: not scored).', null=True),
        ),
        migrations.AddField(
            model_name='event',
            name='false_alarm_model',
            field=models.ForeignKey(blank=True, db_constraint=False, help_text='The classifier version that scored it.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='classifiers.classifiermodel'),
        ),
        migrations.AddField(
            model_name='event',
            name='likely_false_alarm',
            field=models.BooleanField(db_default=False, default=False, help_text='The score reached the organization\'s false_alarm_threshold: pipelines may hold its notifications.'),
        ),
    ]
