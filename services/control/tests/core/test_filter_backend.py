"""The filter backend skips the FilterSet when a request names none of its filters, and only then."""

from __future__ import annotations

from typing import Any

import django_filters
import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from vigia.control.core.filters import FilterBackend
from vigia.control.observations.filtersets import TelemetryFilterSet
from vigia.control.observations.models import Detection, Telemetry

pytestmark = pytest.mark.django_db


class SeenFilterSet(django_filters.FilterSet):
    label = django_filters.CharFilter(field_name="label")
    seen = django_filters.DateTimeFromToRangeFilter(field_name="time")  # reads seen_after / seen_before

    class Meta:
        model = Detection
        fields: list[str] = []


class View:
    def __init__(self, filterset_class: type[django_filters.FilterSet]) -> None:
        self.filterset_class = filterset_class


def filtered(filterset_class: type[django_filters.FilterSet], query: dict[str, str], queryset: Any) -> Any:
    request = Request(APIRequestFactory().get("/", query))
    return FilterBackend().filter_queryset(request, queryset, View(filterset_class))


def test_a_request_naming_no_filter_gets_the_queryset_untouched():
    queryset = Detection.objects.all()
    assert filtered(SeenFilterSet, {}, queryset) is queryset
    assert filtered(SeenFilterSet, {"cursor": "abc", "limit": "5", "unknown": "x"}, queryset) is queryset


def test_a_filter_named_by_any_of_its_parameters_still_filters():
    queryset = Detection.objects.all()
    by_label = filtered(SeenFilterSet, {"label": "car"}, queryset)
    assert by_label is not queryset and "label" in str(by_label.query)
    # A range filter reads two suffixed parameters, never its own name.
    since = filtered(SeenFilterSet, {"seen_after": "2026-12-05T13:00:00Z"}, queryset)
    assert since is not queryset and "time" in str(since.query)
    # An empty value is a value the form reads (and filters nothing with).
    assert filtered(SeenFilterSet, {"label": ""}, queryset).query is not None


def test_a_bad_value_is_still_a_400_naming_the_parameter():
    with pytest.raises(ValidationError) as refused:
        filtered(SeenFilterSet, {"seen_after": "not a time"}, Detection.objects.all())
    assert "seen_after" in str(refused.value.detail) or "seen" in str(refused.value.detail)


def test_a_filterset_with_a_required_filter_always_runs():
    with pytest.raises(ValidationError) as refused:
        filtered(TelemetryFilterSet, {}, Telemetry.objects.all())
    assert "device" in refused.value.detail


def test_each_filterset_filters_with_copies_of_its_own():
    from vigia.control.observations.filtersets import DetectionFilterSet

    first = DetectionFilterSet({"plate": "abc-1d23", "label": "car"}, Detection.objects.all())
    second = DetectionFilterSet({"plate": "XYZ9K88"}, Detection.objects.all())
    for filterset in (first, second):
        assert filterset.is_valid(), filterset.errors
        for name, own in filterset.filters.items():
            assert own.parent is filterset and own.model is Detection
            assert own is not DetectionFilterSet.base_filters[name]
    assert not any(hasattr(declared, "parent") for declared in DetectionFilterSet.base_filters.values())
    # A method filter (plate) runs its FilterSet's method: each query has its own plate.
    assert "ABC1D23" in str(first.qs.query) and "car" in str(first.qs.query)
    assert "XYZ9K88" in str(second.qs.query) and "ABC1D23" not in str(second.qs.query)
