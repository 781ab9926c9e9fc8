from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "vigia.control.outbox"
    label = "outbox"
