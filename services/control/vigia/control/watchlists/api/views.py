"""Watch-list endpoints: CRUD of lists at ``/api/v1/watchlists/`` and of each list's plates at
``/api/v1/watchlists/{watchlist_id}/entries/``. Every change of a list or of one of its entries
bumps the list's version and announces ``watchlist.created|updated|deleted`` through the outbox,
in the request's transaction, so the automation runtime rereads the list."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

from vigia.control.core.api.views import OrgScopedViewSet
from vigia.control.core.permissions import SAFE_METHODS, caller_org_id
from vigia.control.outbox.changes import ChangeEventsMixin, announce_change
from vigia.control.watchlists.api.serializers import PlateWatchlistEntrySerializer, PlateWatchlistSerializer
from vigia.control.watchlists.filtersets import PlateWatchlistEntryFilterSet, PlateWatchlistFilterSet
from vigia.control.watchlists.models import PlateWatchlist, PlateWatchlistEntry


class PlateWatchlistViewSet(ChangeEventsMixin, OrgScopedViewSet):
    queryset = PlateWatchlist.objects.all()
    serializer_class = PlateWatchlistSerializer
    filterset_class = PlateWatchlistFilterSet

    def get_queryset(self) -> QuerySet[PlateWatchlist]:
        queryset = super().get_queryset()
        if self.request.method in SAFE_METHODS:  # FOR UPDATE (writes) cannot go with GROUP BY
            queryset = queryset.annotate(entry_count=Count("entries"))
        return queryset


WATCHLIST_ID = OpenApiParameter("watchlist_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                                description="The watch-list the entries belong to.")


@extend_schema_view(**{name: extend_schema(parameters=[WATCHLIST_ID]) for name in (
    "list", "create", "retrieve", "update", "partial_update", "destroy")})
class PlateWatchlistEntryViewSet(OrgScopedViewSet):
    queryset = PlateWatchlistEntry.objects.all()
    serializer_class = PlateWatchlistEntrySerializer
    filterset_class = PlateWatchlistEntryFilterSet
    watchlist: PlateWatchlist

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication and roles first: 401/403 before 404
        lists = PlateWatchlist.objects.filter(org_id=caller_org_id(request))
        if request.method not in SAFE_METHODS:
            lists = lists.select_for_update()  # entry changes of one list get one version each, in order
        self.watchlist = get_object_or_404(lists, pk=kwargs["watchlist_id"])

    def get_queryset(self) -> QuerySet[PlateWatchlistEntry]:
        queryset: QuerySet[PlateWatchlistEntry] = super().get_queryset()
        watchlist = getattr(self, "watchlist", None)  # absent while the schema is generated
        return queryset.filter(watchlist=watchlist) if watchlist is not None else queryset.none()

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "watchlist": getattr(self, "watchlist", None)}

    def _announce(self) -> None:
        self.watchlist.version += 1
        self.watchlist.save(update_fields=["version", "updated_at"])
        announce_change(self.watchlist, "updated")

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        serializer.save(org_id=self.watchlist.org_id, watchlist=self.watchlist)
        self._announce()

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        serializer.save()
        self._announce()

    def perform_destroy(self, instance: PlateWatchlistEntry) -> None:
        instance.delete()
        self._announce()
