"""``GET /api/v1/dashboard/summary``: the console dashboard's exact counts in one request.

Cameras online of all, devices online / warning / off of all, events still open, and passages
since midnight in the organization's time zone (a day starts at its midnight, not UTC's). Every
number is a ``COUNT`` over the organization's rows, not the length of a list page.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Count, Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from vigia.control.cameras.models import Camera, CameraStatus
from vigia.control.core.api.transactions import AutocommitReadsMixin
from vigia.control.core.permissions import caller_org_id
from vigia.control.devices.models import Device, DeviceStatus
from vigia.control.observations.models import Event, EventStatus, Passage
from vigia.control.tenancy.models import Organization


class CameraCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    online = serializers.IntegerField()


class DeviceCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    online = serializers.IntegerField()
    warning = serializers.IntegerField()
    offline = serializers.IntegerField()


class DashboardSummarySerializer(serializers.Serializer):
    """What the dashboard's cards show, counted now."""

    cameras = CameraCountsSerializer()
    devices = DeviceCountsSerializer()
    open_events = serializers.IntegerField(help_text="Events not yet acknowledged nor resolved.")
    passages_today = serializers.IntegerField(help_text="Passages first seen since `day_start`.")
    time_zone = serializers.CharField(help_text="The organization's time zone (IANA name).")
    day_start = serializers.DateTimeField(help_text="Today's midnight in that zone, as UTC.")


def local_midnight(now: datetime, time_zone: str) -> datetime:
    """The start of ``now``'s day in ``time_zone``."""
    local = now.astimezone(ZoneInfo(time_zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def dashboard_summary(org: Organization, now: datetime) -> dict[str, object]:
    day_start = local_midnight(now, org.time_zone)
    cameras = Camera.objects.filter(org_id=org.id).aggregate(
        total=Count("id"), online=Count("id", filter=Q(status=CameraStatus.ONLINE)))
    devices = Device.objects.filter(org_id=org.id).aggregate(
        total=Count("id"),
        online=Count("id", filter=Q(status=DeviceStatus.ON)),
        warning=Count("id", filter=Q(status=DeviceStatus.WARNING)),
        offline=Count("id", filter=Q(status=DeviceStatus.OFF)),
    )
    return {
        "cameras": cameras,
        "devices": devices,
        "open_events": Event.objects.filter(org_id=org.id, status=EventStatus.OPEN).count(),
        "passages_today": Passage.objects.filter(org_id=org.id, first_seen__gte=day_start).count(),
        "time_zone": org.time_zone,
        "day_start": day_start,
    }


class DashboardSummaryView(AutocommitReadsMixin, APIView):
    """The dashboard's exact counts (every member of the organization reads them)."""

    @extend_schema(operation_id="dashboard_summary", responses={200: DashboardSummarySerializer})
    def get(self, request: Request) -> Response:
        org = Organization.objects.only("id", "time_zone").get(pk=caller_org_id(request))
        return Response(DashboardSummarySerializer(dashboard_summary(org, timezone.now())).data)
