from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "vigia.control.core"
    label = "core"
