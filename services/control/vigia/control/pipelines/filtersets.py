"""Query filters of the pipelines list: ``?state=``, ``?search=`` (name contains)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from vigia.control.pipelines.models import Pipeline, PipelineState


class PipelineFilterSet(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=PipelineState.choices)
    search = django_filters.CharFilter(method="filter_search", max_length=200, help_text="Name contains.")

    class Meta:
        model = Pipeline
        fields = ("state",)

    def filter_search(self, queryset: QuerySet[Pipeline], name: str, value: str) -> QuerySet[Pipeline]:
        return queryset.filter(name__icontains=value) if value else queryset
