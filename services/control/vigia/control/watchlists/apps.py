from django.apps import AppConfig


class WatchlistsConfig(AppConfig):
    name = "vigia.control.watchlists"
    label = "watchlists"
