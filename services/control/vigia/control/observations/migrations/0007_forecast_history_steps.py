# forecasts.history_steps: how many steps of history a forecast was made from (the forecast service
# judges no reading against a forecast made from too few). Rows before it count as 0.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('observations', '0006_forecasts'),
    ]

    operations = [
        migrations.AddField(
            model_name='forecast',
            name='history_steps',
            field=models.IntegerField(default=0, help_text='Steps of history it was made from.'),
            preserve_default=False,
        ),
    ]
