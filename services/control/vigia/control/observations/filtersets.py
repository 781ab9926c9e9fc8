"""Query filters of the observation read APIs. A value that does not parse (a bad ISO 8601 time,
an unknown severity, a non-UUID camera) answers 400 naming the parameter."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import QuerySet

from vigia.control.core.filters import FilterSet, UtcDateTimeFilter
from vigia.control.core.permissions import caller_org_id
from vigia.control.observations.models import (
    Anomaly,
    Detection,
    DeviceStatusChange,
    Event,
    EventClassification,
    EventStatus,
    Passage,
    Severity,
    Telemetry,
)
from vigia.control.observations.plates import normalise_plate
from vigia.control.watchlists.models import PlateWatchlist, WatchlistKind


class TimeRangeFilterSet(FilterSet):
    """``since`` (inclusive) and ``until`` (exclusive), ISO 8601 with a zone (naive means UTC)."""

    since = UtcDateTimeFilter(field_name="time", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="time", lookup_expr="lt")


class DetectionFilterSet(TimeRangeFilterSet):
    camera = filters.UUIDFilter(field_name="camera_id")
    label = filters.CharFilter(field_name="label", max_length=64)
    plate = filters.CharFilter(method="filter_plate", max_length=32,
                               help_text="Exact plate, normalised (case and separators ignored).")
    min_confidence = filters.NumberFilter(field_name="confidence", lookup_expr="gte")
    track = filters.CharFilter(field_name="track", max_length=64)

    class Meta:
        model = Detection
        fields: list[str] = []

    def filter_plate(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        plate = normalise_plate(value)
        return queryset.filter(plate_text=plate) if plate else queryset.none()


class EventFilterSet(TimeRangeFilterSet):
    severity = filters.MultipleChoiceFilter(choices=Severity.choices)
    status = filters.MultipleChoiceFilter(choices=EventStatus.choices)
    classification = filters.ChoiceFilter(choices=EventClassification.choices)
    site = filters.CharFilter(field_name="site", max_length=128)
    event_type = filters.CharFilter(field_name="event_type", max_length=64)
    camera = filters.UUIDFilter(method="filter_source", help_text="Events one of whose sources is this camera.")
    device = filters.UUIDFilter(method="filter_source", help_text="Events one of whose sources is this device.")
    likely_false_alarm = filters.BooleanFilter(
        field_name="likely_false_alarm", help_text="Events the correlator marked (or did not mark) likely false "
        "alarms by the organization's policy.")

    class Meta:
        model = Event
        fields: list[str] = []

    def filter_source(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        # JSONB containment: some element of ``sources`` has {"camera": id} (or "device").
        return queryset.filter(sources__contains=[{name: str(value)}])


class AnomalyFilterSet(TimeRangeFilterSet):
    device = filters.UUIDFilter(field_name="device_id")
    kind = filters.CharFilter(field_name="kind", max_length=32)
    severity = filters.MultipleChoiceFilter(choices=Severity.choices)

    class Meta:
        model = Anomaly
        fields: list[str] = []


class TelemetryFilterSet(TimeRangeFilterSet):
    """Telemetry is only ever read for one device: ``device`` is required."""

    device = filters.UUIDFilter(field_name="device_id", required=True)

    class Meta:
        model = Telemetry
        fields: list[str] = []


class DeviceStatusChangeFilterSet(TimeRangeFilterSet):
    class Meta:
        model = DeviceStatusChange
        fields: list[str] = []


class PassageFilterSet(FilterSet):
    """Passages overlapping ``since`` (inclusive) .. ``until`` (exclusive); of a camera or site; of
    an exact plate; by what carried it; by the watch-lists their plate is on (the lists as they are
    now: :mod:`vigia.control.observations.marking`)."""

    since = UtcDateTimeFilter(field_name="last_seen", lookup_expr="gte",
                              help_text="Passages still seen at or after this instant (ISO 8601).")
    until = UtcDateTimeFilter(field_name="first_seen", lookup_expr="lt",
                              help_text="Passages first seen before this instant (ISO 8601).")
    camera = filters.UUIDFilter(field_name="camera_id")
    site = filters.CharFilter(field_name="site", max_length=64)
    label = filters.CharFilter(field_name="label", max_length=64)
    plate = filters.CharFilter(method="filter_plate", max_length=32,
                               help_text="Exact plate, normalised (case and separators ignored); "
                               "/passages/search tolerates misreadings.")
    min_confidence = filters.NumberFilter(field_name="confidence", lookup_expr="gte")
    final = filters.BooleanFilter(field_name="final")
    watchlist = filters.UUIDFilter(method="filter_watchlist", help_text="The plate is on this watch-list "
                                   "(an entry unexpired when the vehicle was last seen).")
    watchlist_kind = filters.ChoiceFilter(choices=WatchlistKind.choices, method="filter_watchlist_kind",
                                          help_text="The plate is on a watch-list of this kind.")
    listed = filters.BooleanFilter(method="filter_listed", help_text="true: the plate is on some "
                                   "watch-list; false: on none.")

    class Meta:
        model = Passage
        fields: list[str] = []

    def filter_plate(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        plate = normalise_plate(value)
        return queryset.filter(plate_text=plate) if plate else queryset.none()

    def filter_watchlist(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        # The length condition lets the planner use the partial GIN index (passages_watchlists).
        return queryset.filter(watchlist_ids__len__gt=0, watchlist_ids__contains=[value])

    def filter_watchlist_kind(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        # The organization's lists of that kind (a handful), then the partial GIN index as above.
        lists = list(PlateWatchlist.objects.filter(org_id=caller_org_id(self.request), kind=value)
                     .values_list("id", flat=True))
        return queryset.filter(watchlist_ids__len__gt=0, watchlist_ids__overlap=lists) if lists else queryset.none()

    def filter_listed(self, queryset: QuerySet[Any], name: str, value: bool | None) -> QuerySet[Any]:
        if value is None:
            return queryset
        return queryset.filter(watchlist_ids__len__gt=0) if value else queryset.filter(watchlist_ids__len=0)
