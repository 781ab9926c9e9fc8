"""Query filters: channels by ``?kind=`` and ``?enabled=``; deliveries by ``?status=``."""

from __future__ import annotations

import django_filters

from vigia.common.channels import CHANNELS
from vigia.control.notifications.models import DeliveryStatus, NotificationChannel, NotificationDelivery


class ChannelFilterSet(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=[(kind, c.label) for kind, c in CHANNELS.items()])
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = NotificationChannel
        fields = ("kind", "enabled")


class DeliveryFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = NotificationDelivery
        fields = ("status",)
