"""Query filters of the face search: ``?person=``, ``?camera=``, ``?since=``, ``?until=``, ``?known=``."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from vigia.control.core.filters import FilterSet, UtcDateTimeFilter
from vigia.control.faces.models import FaceSighting


class FaceSightingFilterSet(FilterSet):
    person = django_filters.UUIDFilter(field_name="person_id", help_text="An enrolled person's id.")
    camera = django_filters.UUIDFilter(field_name="camera_id", help_text="A camera's id.")
    since = UtcDateTimeFilter(field_name="time", lookup_expr="gte", help_text="Seen at or after (ISO 8601).")
    until = UtcDateTimeFilter(field_name="time", lookup_expr="lt", help_text="Seen before (ISO 8601).")
    known = django_filters.BooleanFilter(method="filter_known",
                                         help_text="true: enrolled people only; false: unknown faces only.")

    class Meta:
        model = FaceSighting
        fields = ("person", "camera", "since", "until", "known")

    def filter_known(self, queryset: QuerySet[FaceSighting], name: str, value: bool | None) -> QuerySet[FaceSighting]:
        if value is None:
            return queryset
        return queryset.filter(person_id__isnull=not value)
