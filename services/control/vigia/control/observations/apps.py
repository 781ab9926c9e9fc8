from django.apps import AppConfig


class ObservationsConfig(AppConfig):
    name = "vigia.control.observations"
    label = "observations"
