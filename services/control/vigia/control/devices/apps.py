from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "vigia.control.devices"
    label = "devices"
