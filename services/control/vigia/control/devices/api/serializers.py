"""Device (fleet) representations, their credentials, the status override and the fleet summary."""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework import serializers

from vigia.control.core.serializers import StrictModelSerializer, StrictSerializer, iso_datetime
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
