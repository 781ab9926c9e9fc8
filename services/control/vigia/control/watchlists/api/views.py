"""Watch-list endpoints: CRUD of lists at ``/api/v1/watchlists/`` and of each list's plates at
``/api/v1/watchlists/{watchlist_id}/entries/``. Every change of a list or of one of its entries
bumps the list's version and announces ``watchlist.created|updated|deleted`` through the outbox,
in the request's transaction, so the automation runtime rereads the list. In the same transaction
the organization's passages the change concerns are re-marked (:mod:`vigia.control.observations.marking`):
an entry's plate (old and new), a renamed, re-kinded or deleted list's marked passages."""

from __future__ import annotations

from typing import Any, cast

from django.db import connection
from django.db.models import Count, Model, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.serializers import BaseSerializer

from vigia.control.core.api.views import OrgScopedViewSet
from vigia.control.core.permissions import SAFE_METHODS, caller_org_id
from vigia.control.observations.marking import remark_plates, remark_watchlist
from vigia.control.outbox.changes import ChangeEventsMixin, announce_change
from vigia.control.pipelines.models import Pipeline, PipelineState
from vigia.control.watchlists.api.serializers import PlateWatchlistEntrySerializer, PlateWatchlistSerializer
from vigia.control.watchlists.filtersets import PlateWatchlistEntryFilterSet, PlateWatchlistFilterSet
from vigia.control.watchlists.models import PlateWatchlist, PlateWatchlistEntry


class WatchlistInUse(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "in_use"
    default_detail = "a running pipeline uses this watch-list"


def running_pipelines_using(watchlist: PlateWatchlist) -> list[str]:
    """Names of the organization's running pipelines whose plate_match nodes name the list (by its
    name or id): their plans would no longer compile without it."""
    names = {watchlist.name, str(watchlist.id)}
    candidates = Pipeline.objects.filter(org_id=watchlist.org_id, state=PipelineState.RUNNING,
                                         graph__nodes__contains=[{"type": "plate_match"}])
    return sorted(p.name for p in candidates.only("name", "graph") if any(
        n.get("type") == "plate_match" and names & {str(w) for w in (n.get("config") or {}).get("watchlists") or []}
        for n in p.graph.get("nodes") or []))


class PlateWatchlistViewSet(ChangeEventsMixin, OrgScopedViewSet):
    """Deleting or renaming a list a running pipeline names answers 409 (stop the pipeline first)."""

    queryset = PlateWatchlist.objects.all()
    serializer_class = PlateWatchlistSerializer
    filterset_class = PlateWatchlistFilterSet

    def get_queryset(self) -> QuerySet[PlateWatchlist]:
        queryset = super().get_queryset()
        if self.request.method in SAFE_METHODS:  # FOR UPDATE (writes) cannot go with GROUP BY
            queryset = queryset.annotate(entry_count=Count("entries"))
        return queryset

    def _refuse_if_used(self, watchlist: PlateWatchlist, doing: str) -> None:
        users = running_pipelines_using(watchlist)
        if users:
            raise WatchlistInUse(f"cannot {doing} a watch-list running pipelines use: {', '.join(users)}")

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        watchlist: PlateWatchlist = serializer.instance  # type: ignore[assignment]
        new_name = serializer.validated_data.get("name", watchlist.name)
        if new_name != watchlist.name:
            self._refuse_if_used(watchlist, "rename")
        marked_as = (watchlist.name, watchlist.kind)
        super().perform_update(serializer)
        if (watchlist.name, watchlist.kind) != marked_as:  # passages show the list's name and kind
            with connection.cursor() as cursor:
                remark_watchlist(cursor, watchlist.org_id, watchlist.id)

    def perform_destroy(self, instance: Model) -> None:
        watchlist = cast(PlateWatchlist, instance)
        self._refuse_if_used(watchlist, "delete")
        org, ident = watchlist.org_id, watchlist.id
        super().perform_destroy(instance)
        with connection.cursor() as cursor:
            remark_watchlist(cursor, org, ident)


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

    def _announce(self, *plates: str) -> None:
        self.watchlist.version += 1
        self.watchlist.save(update_fields=["version", "updated_at"])
        announce_change(self.watchlist, "updated")
        with connection.cursor() as cursor:
            remark_plates(cursor, self.watchlist.org_id, plates)

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        entry = serializer.save(org_id=self.watchlist.org_id, watchlist=self.watchlist)
        self._announce(entry.plate)

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        entry: PlateWatchlistEntry = serializer.instance  # type: ignore[assignment]
        was = entry.plate
        serializer.save()
        self._announce(was, entry.plate)

    def perform_destroy(self, instance: PlateWatchlistEntry) -> None:
        instance.delete()
        self._announce(instance.plate)
