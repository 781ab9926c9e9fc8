from django.apps import AppConfig


class CamerasConfig(AppConfig):
    name = "vigia.control.cameras"
    label = "cameras"
