from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "vigia.control.tenancy"
    label = "tenancy"
    verbose_name = "Organizations and users"
