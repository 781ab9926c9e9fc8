"""Read APIs of what the data plane observed, the event actions operators take, and the dashboard.

Every view is scoped to the caller's organization by :class:`OrgScopedMixin`; lists page with a
time cursor (newest first), stable under the recorder's inserts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from vigia.common.plates import look_alike_key
from vigia.common.storage import StorageError
from vigia.control.audit.choices import AuditAction
from vigia.control.audit.events import note as audit_note
from vigia.control.core.api.transactions import AutocommitReadsMixin
from vigia.control.core.api.views import OrgScopedMixin, OrgScopedReadOnlyViewSet
from vigia.control.core.choices import Role
from vigia.control.core.filters import FilterBackend
from vigia.control.core.pagination import IdCursorPagination
from vigia.control.core.permissions import caller_org_id, signed_in_user
from vigia.control.core.renderers import FastJSONRenderer
from vigia.control.core.schema import error_response
from vigia.control.core.serializers import StrictSerializer
from vigia.control.devices.models import Device
from vigia.control.observations import triage
from vigia.control.observations.api import serializers as s
from vigia.control.observations.detection_pages import DetectionPageRows, UnwrittenFilter
from vigia.control.observations.evidence import evidence_files
from vigia.control.observations.filtersets import (
    AnomalyFilterSet,
    DetectionFilterSet,
    DeviceStatusChangeFilterSet,
    EventFilterSet,
    PassageFilterSet,
    TelemetryFilterSet,
)
from vigia.control.observations.models import (
    Anomaly,
    Detection,
    DeviceStatusChange,
    Event,
    EventStatus,
    Passage,
    Telemetry,
)
from vigia.control.observations.passages import (
    PASSAGE_COLUMNS,
    PassageWindow,
    csv_rows,
    history_by_camera,
    ranked_passages,
    ranked_plates,
)
from vigia.control.observations.plates import normalise_plate, plate_search_settings
from vigia.control.observations.queries import (
    PlateQuery,
    dashboard_analytics,
    plate_candidates,
    plate_matches,
    set_similarity_threshold,
)


class ServiceUnavailable(APIException):
    status_code = 503
    default_code = "unavailable"
    default_detail = "a backing service is unavailable"


class TimeCursorPagination(IdCursorPagination):
    """Newest first by observation time (ties broken by id)."""

    ordering = ("-time", "-id")


class ObservationViewSet(AutocommitReadsMixin, OrgScopedReadOnlyViewSet):
    pagination_class = TimeCursorPagination
    renderer_classes = (FastJSONRenderer,)


class DetectionViewSet(ObservationViewSet):
    """Objects the cameras saw. Filters: camera, since, until, label, plate (exact), min_confidence."""

    queryset = Detection.objects.all()
    serializer_class = s.DetectionSerializer
    filterset_class = DetectionFilterSet

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        # The API's hottest list renders plain rows: no model instance per detection.
        return queryset.values(*s.DETECTION_COLUMNS) if self.action == "list" else queryset

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The list's statement is written out (see detection_pages); filters are validated and the
        # cursor pages as before, by the filter set and DRF's CursorPagination.
        user = request.user
        org_id = getattr(user, "org_id", None) if getattr(user, "is_authenticated", False) else None
        if org_id is None:
            return super().list(request, *args, **kwargs)
        filterset = FilterBackend().validated_filterset(request, Detection.objects.none(), self)
        try:
            rows = DetectionPageRows(org_id, filterset)
        except UnwrittenFilter:
            return super().list(request, *args, **kwargs)
        page = self.paginate_queryset(rows)  # type: ignore[arg-type]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class PlateSearchView(AutocommitReadsMixin, APIView):
    """Tolerant plate search over detections: ``?plate=ABC1O23`` finds ABC1D23. The query is
    normalised (upper case, letters and digits only) and matched with pg_trgm's ``%`` through the
    GIN index. Audited (who searched for which plate, when)."""

    renderer_classes = (FastJSONRenderer,)

    @extend_schema(parameters=[s.PlateSearchQuerySerializer], responses={200: s.PlateSearchResultSerializer})
    def get(self, request: Request) -> Response:
        params = s.PlateSearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        plate = normalise_plate(data["plate"])
        if plate is None:
            raise ValidationError({"plate": ["must contain letters or digits"]})
        audit_note(request, AuditAction.PLATE_SEARCHED, target=("plate", plate))
        threshold = data.get("threshold", plate_search_settings().plate_similarity_threshold)
        query = PlateQuery(plate, threshold, data.get("camera"), data.get("since"), data.get("until"))
        org = caller_org_id(request)
        with transaction.atomic():
            set_similarity_threshold(threshold)
            detections = plate_matches(org, query, data["limit"])  # plain rows, as the list's
            candidates = plate_candidates(org, query, data["limit"])
        return Response({
            "query": plate,
            "threshold": threshold,
            "plates": s.PlateCandidateSerializer(candidates, many=True).data,
            "results": s.PlateMatchSerializer(detections, many=True).data,
        })


class PassageCursorPagination(TimeCursorPagination):
    """Newest first by the time the vehicle was first seen (ties broken by id)."""

    ordering = ("-first_seen", "-id")


def _search_plate(raw: str) -> str:
    plate = normalise_plate(raw)
    if plate is None or not 6 <= len(plate) <= 8:
        raise ValidationError({"plate": ["a plate has 7 letters and digits (one may be missing or extra)"]})
    return plate


class PassageViewSet(ObservationViewSet):
    """Vehicle passages: one per visit of a vehicle to a camera, with its voted plate. Filters:
    camera, site, since, until, plate (exact), label, min_confidence, final, watchlist,
    watchlist_kind, listed. A list filtered by plate, the tolerant search and the CSV export are
    audited (LGPD: who looked for which plate, who exported what, when)."""

    queryset = Passage.objects.all()
    serializer_class = s.PassageSerializer
    filterset_class = PassageFilterSet
    pagination_class = PassageCursorPagination

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        return queryset.values(*PASSAGE_COLUMNS) if self.action == "list" else queryset

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        plate = normalise_plate(request.query_params.get("plate"))
        response = super().list(request, *args, **kwargs)
        if plate is not None:
            audit_note(request, AuditAction.PLATE_SEARCHED, target=("plate", plate))
        return response

    @extend_schema(parameters=[s.PassageSearchQuerySerializer], responses={200: s.PassageSearchResultSerializer},
                   filters=False)
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def search(self, request: Request) -> Response:
        """Tolerant plate search over passages, ranked: the plate itself, then plates differing only
        by OCR look-alikes (O/0/Q/D, I/1/J, B/8, S/5, Z/2, G/6), then plates one character off
        (misread, missing or extra). ``plates`` lists each distinct plate with its sightings;
        ``results`` the passages, nearest plate first, then newest."""
        params = s.PassageSearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        plate = _search_plate(data["plate"])
        audit_note(request, AuditAction.PLATE_SEARCHED, target=("plate", plate))
        window = PassageWindow(data.get("camera"), data.get("site"), data.get("since"), data.get("until"))
        org = caller_org_id(request)
        return Response({
            "query": plate,
            "plates": s.PlateSightingsSerializer(ranked_plates(org, plate, window, data["limit"]), many=True).data,
            "results": s.PassageMatchSerializer(ranked_passages(org, plate, window, data["limit"]), many=True).data,
        })

    @extend_schema(parameters=[s.PassageExportQuerySerializer], filters=True, responses={
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One line per passage, newest first.")})
    @action(detail=False, methods=["get"], pagination_class=None)
    def export(self, request: Request) -> StreamingHttpResponse:
        """The passages the list's filters select, as CSV (streamed; newest first, at most
        ``max_rows``): id, camera, site, visit, first_seen, last_seen, label, plate, confidence,
        votes, agreeing, runner_ups (plates, space-separated), final, watchlists (kind:name),
        crop_key, snapshot_key. Audited with its filters."""
        params = s.PassageExportQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        queryset = self.filter_queryset(Passage.objects.filter(org_id=caller_org_id(request)))
        plate = normalise_plate(request.query_params.get("plate"))
        audit_note(request, AuditAction.PASSAGES_EXPORTED, target=("plate", plate) if plate else None)
        response = StreamingHttpResponse(csv_rows(queryset, max_rows=params.validated_data["max_rows"]),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="passages.csv"'
        return response


class PlateHistoryView(AutocommitReadsMixin, APIView):
    """A plate's history across cameras: what each camera saw of it, then its passages, newest
    first, a page at a time (``cursor``, ``limit``). ``look_alikes=true`` also counts plates that
    differ from it only by OCR look-alikes. A plate the organization never saw (in the window) is a
    404. Audited like a plate search."""

    renderer_classes = (FastJSONRenderer,)

    @extend_schema(parameters=[
        s.PlateHistoryQuerySerializer,
        OpenApiParameter("plate", OpenApiTypes.STR, OpenApiParameter.PATH,
                         description="The plate (case and separators ignored)."),
        OpenApiParameter("cursor", OpenApiTypes.STR, description="The pagination cursor value."),
        OpenApiParameter("limit", OpenApiTypes.INT, description="Passages per page (at most 500)."),
    ], responses={200: s.PlateHistorySerializer,
                  404: error_response("The organization has no passage of this plate (in the window), "
                                      "or an unknown page cursor.")})
    def get(self, request: Request, plate: str) -> Response:
        params = s.PlateHistoryQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        plate = _search_plate(plate)
        audit_note(request, AuditAction.PLATE_SEARCHED, target=("plate", plate))
        org = caller_org_id(request)
        queryset = Passage.objects.filter(org_id=org)
        queryset = queryset.filter(plate_folded=look_alike_key(plate)) if data["look_alikes"] \
            else queryset.filter(plate_text=plate)
        queryset = PassageWindow(since=data.get("since"), until=data.get("until")).apply(queryset)
        cameras = history_by_camera(org, queryset)
        if not cameras:  # like any object of another organization (or of none): not found
            raise NotFound("no passage of this plate")
        paginator = PassageCursorPagination()
        page: list[Any] | None = paginator.paginate_queryset(queryset.values(*PASSAGE_COLUMNS), request, view=self)
        paged = paginator.get_paginated_response(s.PassageSerializer(page, many=True).data).data
        return Response({"plate": plate, "passages": sum(c["passages"] for c in cameras),
                         "cameras": s.PlateCameraHistorySerializer(cameras, many=True).data, **paged})


class EventViewSet(ObservationViewSet):
    """Incidents. Filters: severity, status, classification, site, event_type, camera, device, since,
    until.
    Operators acknowledge, classify and resolve them, one by one or in bulk (each change audited:
    who, when, which event, and announced to the other operators' screens: ``event.triaged``)."""

    queryset = Event.objects.all()
    serializer_class = s.EventSerializer
    filterset_class = EventFilterSet
    required_roles = {"acknowledge": Role.OPERATOR, "classify": Role.OPERATOR, "resolve": Role.OPERATOR,
                      "bulk": Role.OPERATOR}

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        # Plain rows for the list, like detections: no model instance per event.
        if self.action == "list":
            return queryset.values(*s.EVENT_LIST_COLUMNS)
        return queryset.select_related("acknowledged_by", "resolved_by") if self.action == "retrieve" else queryset

    def get_serializer_class(self) -> Any:
        if self.action == "acknowledge":
            return s.AcknowledgeSerializer
        if self.action == "resolve":
            return s.ResolveSerializer
        if self.action == "bulk":
            return s.BulkActionSerializer
        if self.action == "classify":
            return s.ClassifySerializer
        if self.action == "evidence":
            return s.EvidenceSerializer
        return s.EventSerializer

    @extend_schema(parameters=[s.EvidenceQuerySerializer], responses={
        200: s.EvidenceSerializer, 503: error_response("The object store is unavailable; retry later.")})
    @action(detail=True, methods=["get"])
    def evidence(self, request: Request, pk: str | None = None) -> Response:
        """The event's evidence bundle (video, audio, sensor table, metadata, manifest), each file
        with a URL that downloads it without a token until ``expires_in`` seconds from now.
        ``ready`` turns true once the correlator has written the whole bundle."""
        event = self.get_object()  # first: another org's event is a 404
        params = s.EvidenceQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            bundle = evidence_files(event.org_id, event.pk, timedelta(seconds=params.validated_data["expires_in"]),
                                    absolute=request.build_absolute_uri)
        except StorageError as exc:
            raise ServiceUnavailable(f"the object store is unavailable: {exc}") from exc
        return Response(bundle)

    @extend_schema(request=s.AcknowledgeSerializer, responses={200: s.EventSerializer})
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Mark the event as seen by the caller, with an optional note. The first acknowledgement
        is kept (who, when, note); acknowledging again, or a resolved event, changes nothing."""
        return self._decide("acknowledge", request, s.AcknowledgeSerializer)

    @extend_schema(request=s.ResolveSerializer, responses={200: s.EventSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        """Close the event for good, with an optional note (what was found or done); it also
        counts as acknowledged if nobody had. The first resolution is kept. A resolved event is
        never reopened by a repeat of its cause: the correlator raises a new one."""
        return self._decide("resolve", request, s.ResolveSerializer)

    @extend_schema(request=s.BulkActionSerializer, responses={
        200: s.BulkResultSerializer, 404: error_response("Some ids are no event of the caller's organization; "
                                                         "nothing was changed.")})
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        """Acknowledge or resolve many events at once, all or nothing: if any id is not an event of
        the caller's organization the answer is 404 naming those ids and nothing changes. Events
        already in that state are listed as ``unchanged``. One audit row per changed event."""
        body = s.BulkActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = list(dict.fromkeys(body.validated_data["ids"]))
        # Rows locked in id order, so two overlapping bulk requests cannot deadlock. The users come
        # along (not locked) for the announcements: no query per event.
        events = list(Event.objects.select_for_update(of=("self",)).select_related("acknowledged_by", "resolved_by")
                      .filter(org_id=caller_org_id(request), id__in=ids).order_by("id"))
        found = {event.pk for event in events}
        missing = [str(ident) for ident in ids if ident not in found]
        if missing:
            raise NotFound({"ids": [f"no such event: {ident}" for ident in missing]})
        user, now, verb = signed_in_user(request), timezone.now(), body.validated_data["action"]
        changed, unchanged = [], []
        for event in events:
            fields = triage.apply(verb, event, user, body.validated_data["note"], now)
            if not fields:
                unchanged.append(event.pk)
                continue
            event.save(update_fields=[*fields, "updated_at"])
            audit_note(request, triage.AUDIT_ACTIONS[verb], target=("event", str(event.pk)))
            triage.announce(event, triage.CHANGES[verb])
            changed.append(event.pk)
        order = {ident: n for n, ident in enumerate(ids)}
        return Response({"action": verb, "changed": sorted(changed, key=order.__getitem__),
                         "unchanged": sorted(unchanged, key=order.__getitem__)})

    def _decide(self, verb: triage.Action, request: Request, serializer: type[StrictSerializer]) -> Response:
        event = self._locked_event()  # first: another org's event is a 404 whatever the body
        body = serializer(data=request.data if request.data is not None else {})
        body.is_valid(raise_exception=True)
        fields = triage.apply(verb, event, signed_in_user(request), body.validated_data["note"], timezone.now())
        if fields:
            event.save(update_fields=[*fields, "updated_at"])
            audit_note(request, triage.AUDIT_ACTIONS[verb], target=("event", str(event.pk)))
            triage.announce(event, triage.CHANGES[verb])
        return Response(s.EventSerializer(event).data)

    @extend_schema(request=s.ClassifySerializer, responses={200: s.EventSerializer})
    @action(detail=True, methods=["post"])
    def classify(self, request: Request, pk: str | None = None) -> Response:
        """Record the operator's verdict (true/false positive, test) and notes. Classifying an
        open event also acknowledges it, by the caller."""
        event = self._locked_event()  # first: another org's event is a 404 whatever the body
        body = s.ClassifySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        verdict = (body.validated_data["classification"], body.validated_data.get("notes", ""))
        changed = verdict != (event.classification, event.notes) or event.status == EventStatus.OPEN
        event.classification, event.notes = verdict
        fields = ["classification", "notes", "updated_at"]
        if event.status == EventStatus.OPEN:
            event.status = EventStatus.ACKNOWLEDGED
            event.acknowledged_by = signed_in_user(request)
            event.acknowledged_at = timezone.now()
            fields += ["status", "acknowledged_by", "acknowledged_at"]
        event.save(update_fields=fields)
        if changed:  # the same verdict again is no news for the other screens
            triage.announce(event, "classified")
        return Response(s.EventSerializer(event).data)

    def _locked_event(self) -> Event:
        # Row lock: a concurrent recorder update or second operator waits instead of clobbering.
        # Its users come along (not locked): the answer and the announcement name them.
        event = self.get_object()
        return (Event.objects.select_for_update(of=("self",)).select_related("acknowledged_by", "resolved_by")
                .get(pk=event.pk, org_id=event.org_id))


class AnomalyViewSet(ObservationViewSet):
    """Device signals out of range. Filters: device, kind, severity, since, until."""

    queryset = Anomaly.objects.all()
    serializer_class = s.AnomalySerializer
    filterset_class = AnomalyFilterSet


class TelemetryViewSet(AutocommitReadsMixin, OrgScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Sensor readings of one device: ``?device=<id>`` (required), since, until."""

    renderer_classes = (FastJSONRenderer,)
    queryset = Telemetry.objects.all()
    serializer_class = s.TelemetrySerializer
    filterset_class = TelemetryFilterSet
    pagination_class = TimeCursorPagination


class DeviceStatusHistoryView(AutocommitReadsMixin, OrgScopedMixin, ListAPIView):
    """Status transitions of one device, newest first (history outlives the device)."""

    renderer_classes = (FastJSONRenderer,)
    queryset = DeviceStatusChange.objects.all()
    serializer_class = s.DeviceStatusChangeSerializer
    filterset_class = DeviceStatusChangeFilterSet
    pagination_class = TimeCursorPagination

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(device_id=self.kwargs["device_id"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Another org's device answers 404 like every detail route; a deleted device of this org
        # still has its history, so the rows themselves also count as proof of ownership.
        org = caller_org_id(request)
        if not (Device.objects.filter(org_id=org, id=kwargs["device_id"]).exists()
                or self.get_queryset().exists()):
            raise NotFound("no such device")
        return super().list(request, *args, **kwargs)


class AnalyticsView(AutocommitReadsMixin, APIView):
    """The dashboard's numbers for the last ``hours`` hours (default 24, at most 744)."""

    @extend_schema(parameters=[s.AnalyticsQuerySerializer], responses={200: s.AnalyticsSerializer})
    def get(self, request: Request) -> Response:
        params = s.AnalyticsQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        return Response(dashboard_analytics(caller_org_id(request), params.validated_data["hours"],
                                            timezone.now()))
