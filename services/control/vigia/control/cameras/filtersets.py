"""Query filters of the cameras list: ``?site=``, ``?location=``, ``?enabled=``, ``?status=``,
``?search=`` (name contains)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from vigia.control.cameras.models import Camera, CameraStatus


class CameraFilterSet(django_filters.FilterSet):
    site = django_filters.CharFilter()
    location = django_filters.CharFilter(lookup_expr="iexact")
    enabled = django_filters.BooleanFilter()
    status = django_filters.MultipleChoiceFilter(choices=CameraStatus.choices)
    search = django_filters.CharFilter(method="filter_search", max_length=200, help_text="Name contains.")

    class Meta:
        model = Camera
        fields = ("site", "location", "enabled", "status")

    def filter_search(self, queryset: QuerySet[Camera], name: str, value: str) -> QuerySet[Camera]:
        return queryset.filter(name__icontains=value) if value else queryset
