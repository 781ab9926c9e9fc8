from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "vigia.control.notifications"
    label = "notifications"
