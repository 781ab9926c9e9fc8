"""Query filters of the fleet list: ``?status=``, ``?location=``, ``?site=``, ``?kind=``, ``?search=``.

``search`` matches names (contains, case-insensitive) or ids (exact, or a prefix of the id as
the console shows it).
"""

from __future__ import annotations

import re

import django_filters
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from vigia.control.devices.models import Device, DeviceKind, DeviceStatus

_ID_PREFIX = re.compile(r"^[0-9a-f][0-9a-f-]{0,35}$")


class DeviceFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=DeviceStatus.choices)
    kind = django_filters.MultipleChoiceFilter(choices=DeviceKind.choices)
    location = django_filters.CharFilter(lookup_expr="iexact")
    site = django_filters.CharFilter()
    search = django_filters.CharFilter(method="filter_search", max_length=200,
                                       help_text="Name contains, or id equals / starts with.")

    class Meta:
        model = Device
        fields = ("status", "kind", "location", "site")

    def filter_search(self, queryset: QuerySet[Device], name: str, value: str) -> QuerySet[Device]:
        value = value.strip()
        if not value:
            return queryset
        match = Q(name__icontains=value)
        candidate = value.lower()
        if _ID_PREFIX.match(candidate):
            queryset = queryset.annotate(id_text=Cast("id", output_field=CharField()))
            match |= Q(id_text__startswith=candidate)
        return queryset.filter(match)
