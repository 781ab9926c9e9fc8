"""Query filters of watch-lists (``?kind=``, ``?search=``) and of their entries (``?plate=``,
``?active=``)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from vigia.control.watchlists.models import PlateWatchlist, PlateWatchlistEntry, WatchlistKind


class PlateWatchlistFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=WatchlistKind.choices)
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=200,
                                       help_text="Name contains.")

    class Meta:
        model = PlateWatchlist
        fields = ("kind",)


class PlateWatchlistEntryFilterSet(django_filters.FilterSet):
    plate = django_filters.CharFilter(method="filter_plate", max_length=16,
                                      help_text="Plate contains (dashes, spaces and case ignored).")
    active = django_filters.BooleanFilter(method="filter_active",
                                          help_text="true: not expired now; false: expired.")

    class Meta:
        model = PlateWatchlistEntry
        fields = ("plate", "active")

    def filter_plate(self, queryset: QuerySet[PlateWatchlistEntry], name: str,
                     value: str) -> QuerySet[PlateWatchlistEntry]:
        text = "".join(value.split()).replace("-", "").upper()
        return queryset.filter(plate__contains=text) if text else queryset

    def filter_active(self, queryset: QuerySet[PlateWatchlistEntry], name: str,
                      value: bool | None) -> QuerySet[PlateWatchlistEntry]:
        if value is None:
            return queryset
        live = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        return queryset.filter(live) if value else queryset.exclude(live)
