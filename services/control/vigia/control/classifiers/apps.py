from django.apps import AppConfig


class ClassifiersConfig(AppConfig):
    name = "vigia.control.classifiers"
    label = "classifiers"
