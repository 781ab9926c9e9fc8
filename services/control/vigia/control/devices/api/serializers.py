"""Device (fleet) representations, their credentials, the status override and the fleet summary."""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework import serializers

from vigia.common.db import TELEMETRY_METRICS
from vigia.control.core.serializers import QueryParamsSerializer, StrictModelSerializer, StrictSerializer, iso_datetime
from vigia.control.devices.models import Device, DeviceCredential, DeviceStatus

MAX_CONFIG_BYTES = 16 * 1024
MAX_REPORTING_INTERVAL = 86_400.0


# What a device's representation reads, by column (attribute) name.
DEVICE_COLUMNS = ("id", "name", "kind", "status", "last_seen", "reporting_interval", "location", "site", "latitude",
                  "longitude", "config", "version", "created_at", "updated_at")


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


class DeviceSerializer(StrictModelSerializer):
    """A device as operators see and edit it. ``status`` and ``last_seen`` follow its reports.

    A ``values(*DEVICE_COLUMNS)`` row (the list) is rendered by hand, as DRF renders the declared
    fields (ids stay UUIDs: the JSON renderers write them as str() does); an instance goes through
    DRF."""

    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)
    config = serializers.JSONField(required=False, help_text=f"A JSON object of at most {MAX_CONFIG_BYTES} "
                                   "bytes, pushed to the device.")

    class Meta:
        model = Device
        # Widened so DeviceCreatedSerializer.Meta may extend it.
        fields: tuple[str, ...] = ("id", "name", "kind", "status", "last_seen", "reporting_interval",
                                   "location", "site", "latitude", "longitude", "config", "version",
                                   "created_at", "updated_at")
        read_only_fields = ("id", "status", "last_seen", "version", "created_at", "updated_at")

    def to_representation(self, instance: Device | dict[str, Any]) -> dict[str, Any]:
        if not isinstance(instance, dict):
            return dict(super().to_representation(instance))
        row = instance
        return {
            "id": row["id"], "name": row["name"], "kind": row["kind"], "status": row["status"],
            "last_seen": iso_datetime(row["last_seen"]), "reporting_interval": _float(row["reporting_interval"]),
            "location": row["location"], "site": row["site"], "latitude": _float(row["latitude"]),
            "longitude": _float(row["longitude"]), "config": row["config"],
            "version": None if row["version"] is None else int(row["version"]),
            "created_at": iso_datetime(row["created_at"]), "updated_at": iso_datetime(row["updated_at"]),
        }

    def validate_reporting_interval(self, value: float) -> float:
        if not 0 < value <= MAX_REPORTING_INTERVAL:
            raise serializers.ValidationError(
                f"must be greater than 0 and at most {MAX_REPORTING_INTERVAL:g} seconds")
        return value

    def validate_config(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        size = len(orjson.dumps(value))
        if size > MAX_CONFIG_BYTES:
            raise serializers.ValidationError(f"is {size} bytes encoded; at most {MAX_CONFIG_BYTES}")
        return value


class DeviceCreatedSerializer(DeviceSerializer):
    """The create response: the device plus its first token, shown this once."""

    token = serializers.CharField(read_only=True, help_text="Shown once; store it on the device.")
    credential = serializers.UUIDField(read_only=True, help_text="Id of the token's credential.")

    class Meta(DeviceSerializer.Meta):
        fields = (*DeviceSerializer.Meta.fields, "token", "credential")


class CredentialSerializer(serializers.ModelSerializer):
    """A device credential without its secret."""

    class Meta:
        model = DeviceCredential
        fields = ("id", "device", "prefix", "created_at", "revoked_at", "last_used_at")
        read_only_fields = fields


class NewCredentialSerializer(serializers.Serializer):
    """A freshly issued credential: the only time ``token`` is ever returned."""

    id = serializers.UUIDField()
    token = serializers.CharField()
    prefix = serializers.CharField()


class StatusSerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=DeviceStatus.choices)
    reason = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")


class SummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    online = serializers.IntegerField()
    offline = serializers.IntegerField()
    warning = serializers.IntegerField()


# -- forecasts (the forecast service's, read from table forecasts) ------------------------------

FORECAST_HISTORY_DEFAULT, FORECAST_HISTORY_MAX = 180, 2880


class ForecastQuerySerializer(QueryParamsSerializer):
    metric = serializers.ChoiceField(choices=TELEMETRY_METRICS, required=False, help_text=(
        "Only this metric (a telemetry column, e.g. mag_magnitude); default: every metric with a forecast."))
    history = serializers.IntegerField(required=False, min_value=0, max_value=FORECAST_HISTORY_MAX,
                                       default=FORECAST_HISTORY_DEFAULT, help_text=(
                                           "Steps of readings before the forecast's start to include."))


class ForecastPointSerializer(serializers.Serializer):
    t = serializers.DateTimeField(help_text="The step's start.")
    mean = serializers.FloatField(help_text="Expected value.")
    lower = serializers.FloatField(help_text="Lower edge of the band.")
    upper = serializers.FloatField(help_text="Upper edge of the band.")


class ResampledReadingSerializer(serializers.Serializer):
    t = serializers.DateTimeField(help_text="The step's start.")
    value = serializers.FloatField(help_text="Mean of the step's readings.")


class ForecastAnomalySerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The anomaly (GET /api/v1/anomalies).")
    t = serializers.DateTimeField(help_text="The step's start.")
    value = serializers.FloatField(allow_null=True)
    severity = serializers.CharField()
    score = serializers.FloatField(help_text="Distance from the mean in half-widths of the band.")
    expected = serializers.FloatField(allow_null=True)
    lower = serializers.FloatField(allow_null=True)
    upper = serializers.FloatField(allow_null=True)


class MetricForecastSerializer(serializers.Serializer):
    """One metric's forecast in force, the readings around it and its anomalies."""

    metric = serializers.CharField()
    model = serializers.CharField(help_text="The model that made it.")
    fallback = serializers.CharField(allow_null=True, help_text=(
        "Why the statistical model stood in for the configured one (a short history); null when it did not."))
    made_at = serializers.DateTimeField()
    step_s = serializers.IntegerField(help_text="Seconds between steps.")
    history_steps = serializers.IntegerField(help_text="Steps of history it was made from (at most 512).")
    start = serializers.DateTimeField(help_text="The first forecast step.")
    level = serializers.IntegerField(help_text="The band is this % prediction interval.")
    points = ForecastPointSerializer(many=True, help_text="The forecast steps, oldest first.")
    history = ResampledReadingSerializer(many=True, help_text=(
        "Readings resampled to the step, from `history` steps before `start` until now; steps without "
        "readings are absent."))
    anomalies = ForecastAnomalySerializer(many=True, help_text="Readings of that window found outside the band.")


class DeviceForecastSerializer(serializers.Serializer):
    """``GET /api/v1/devices/{id}/forecast``: the device's forecasts, one per metric."""

    device = serializers.UUIDField()
    forecasts = MetricForecastSerializer(many=True, help_text="By metric name; empty before the first forecast.")


class ForecastRefreshSerializer(StrictSerializer):
    metric = serializers.ChoiceField(choices=TELEMETRY_METRICS, required=False, allow_null=True, help_text=(
        "Only this metric; default: every metric the forecast service follows."))


class ForecastRefreshAcceptedSerializer(serializers.Serializer):
    request = serializers.UUIDField(help_text="Id of the forecast.requested message.")
    device = serializers.UUIDField()
    metric = serializers.CharField(allow_null=True)
