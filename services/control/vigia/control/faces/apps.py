from django.apps import AppConfig


class FacesConfig(AppConfig):
    name = "vigia.control.faces"
    label = "faces"
