from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "vigia.control.pipelines"
    label = "pipelines"
