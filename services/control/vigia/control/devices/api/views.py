"""Fleet endpoints: device CRUD, search and filters, ``summary``, the ``status`` override and
per-device credentials (issued once, listed without secrets, revoked)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from vigia.common.messages import DeviceStatusChanged, ForecastRequested
from vigia.control.core.api.transactions import AutocommitReadsMixin
from vigia.control.core.api.views import UUID_PATTERN, OrgScopedViewSet
from vigia.control.core.choices import Role
from vigia.control.core.renderers import FastJSONRenderer
from vigia.control.devices.api.serializers import (
    DEVICE_COLUMNS,
    CredentialSerializer,
    DeviceCreatedSerializer,
    DeviceForecastSerializer,
    DeviceSerializer,
    ForecastQuerySerializer,
    ForecastRefreshAcceptedSerializer,
    ForecastRefreshSerializer,
    NewCredentialSerializer,
    StatusSerializer,
    SummarySerializer,
)
from vigia.control.devices.credentials import issue_credential, revoke
from vigia.control.devices.filtersets import DeviceFilterSet
from vigia.control.devices.models import Device, DeviceStatus
from vigia.control.observations.forecasts import chart, latest_forecasts
from vigia.control.outbox.changes import ChangeEventsMixin
from vigia.control.outbox.enqueue import announce


class DeviceViewSet(AutocommitReadsMixin, ChangeEventsMixin, OrgScopedViewSet):
    queryset = Device.objects.all()
    serializer_class = DeviceSerializer
    filterset_class = DeviceFilterSet
    required_roles = {"destroy": Role.ADMIN}
    renderer_classes = (FastJSONRenderer,)

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        # The fleet page renders plain rows: no model instance per device.
        return queryset.values(*DEVICE_COLUMNS) if self.action == "list" else queryset

    @extend_schema(responses={201: DeviceCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Register a device; the response carries its first token, shown this once."""
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        super().perform_create(serializer)
        credential, token = issue_credential(serializer.instance)  # type: ignore[arg-type]
        serializer.instance.token = token  # type: ignore[union-attr]
        serializer.instance.credential = credential.id  # type: ignore[union-attr]

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return DeviceCreatedSerializer if self.action == "create" else DeviceSerializer

    @extend_schema(responses={200: SummarySerializer})
    @action(detail=False, methods=["get"])
    def summary(self, request: Request) -> Response:
        """How many of the caller's devices are online, offline and in warning."""
        counts = self.get_queryset().aggregate(
            total=Count("id"),
            online=Count("id", filter=Q(status=DeviceStatus.ON)),
            offline=Count("id", filter=Q(status=DeviceStatus.OFF)),
            warning=Count("id", filter=Q(status=DeviceStatus.WARNING)),
        )
        return Response(counts)

    @extend_schema(request=StatusSerializer, responses={200: DeviceSerializer})
    @action(detail=True, methods=["put"], url_path="status")
    def set_status(self, request: Request, pk: str | None = None) -> Response:
        """Set the status by hand (seed compatibility); announced as ``device.status``."""
        device = self.get_object()
        body = StatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        previous, new = device.status, body.validated_data["status"]
        device.status = new
        device.save(update_fields=["status", "updated_at"])
        if previous != new:
            announce("device.status", device.org_id, DeviceStatusChanged(
                device=device.id, status=new, previous=previous,
                reason=body.validated_data["reason"] or "set through the API"))
        return Response(DeviceSerializer(device, context=self.get_serializer_context()).data)

    @extend_schema(methods=["GET"], responses={200: CredentialSerializer(many=True)})
    @extend_schema(methods=["POST"], request=None, responses={201: NewCredentialSerializer})
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def credentials(self, request: Request, pk: str | None = None) -> Response:
        """GET: the device's credentials, without secrets. POST: a new token, returned this once."""
        device = self.get_object()
        if request.method == "GET":
            return Response(CredentialSerializer(device.credentials.order_by("-id"), many=True).data)
        credential, token = issue_credential(device)
        return Response({"id": str(credential.id), "token": token, "prefix": credential.prefix},
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: CredentialSerializer})
    @action(detail=True, methods=["delete"], url_path=f"credentials/(?P<credential_id>{UUID_PATTERN})")
    def revoke_credential(self, request: Request, pk: str | None = None,
                          credential_id: str | None = None) -> Response:
        """Revoke one credential: the device can no longer use that token."""
        device = self.get_object()
        credential = get_object_or_404(device.credentials.select_for_update(), pk=credential_id)
        revoke(credential)
        return Response(CredentialSerializer(credential).data)



    @extend_schema(parameters=[ForecastQuerySerializer], responses={200: DeviceForecastSerializer})
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def forecast(self, request: Request, pk: str | None = None) -> Response:
        """The device's forecasts (the forecast service's, refreshed every few minutes): per metric,
        the one in force with its model (and why the statistical model stood in, if it did), its
        points with the band, the readings resampled to its step and the forecast anomalies of that
        window. New forecasts are announced on the live feed (``forecast_updated``)."""
        device = self.get_object()  # first: another org's device is a 404
        params = ForecastQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        now = datetime.now(UTC)
        charts = [chart(forecast, params.validated_data["history"], now) for forecast in
                  latest_forecasts(device.org_id, device.id, params.validated_data.get("metric"))]
        return Response(DeviceForecastSerializer({"device": device.id, "forecasts": charts}).data)

    @extend_schema(request=ForecastRefreshSerializer, responses={202: ForecastRefreshAcceptedSerializer})
    @action(detail=True, methods=["post"], url_path="forecast/refresh", filterset_class=None)
    def refresh_forecast(self, request: Request, pk: str | None = None) -> Response:
        """Ask the forecast service to forecast the device's metrics (or one) now rather than at its
        next round: a ``forecast.requested`` message through the outbox; the new forecasts follow
        within seconds (``forecast_updated`` on the live feed)."""
        device = self.get_object()
        body = ForecastRefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        metric = body.validated_data.get("metric")
        row = announce("forecast.requested", device.org_id, ForecastRequested(device=device.id, metric=metric))
        return Response({"request": str(row.id), "device": str(device.id), "metric": metric},
                        status=status.HTTP_202_ACCEPTED)
