from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "vigia.control.audit"
    label = "audit"
