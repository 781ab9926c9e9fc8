"""The fleet: phones, cameras, PLCs, sensors and gateways that report to Vigia."""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from vigia.common.ids import uuid7
from vigia.common.messages import DeviceChanged, DeviceDeleted, Strict
from vigia.control.core.models import OrgScopedModel


class DeviceKind(models.TextChoices):
    PHONE = "phone", "Phone"
    CAMERA = "camera", "Camera"
    PLC = "plc", "PLC"
    SENSOR = "sensor", "Sensor"
    GATEWAY = "gateway", "Gateway"


class DeviceStatus(models.TextChoices):
    ON = "ON", "Online"
    OFF = "OFF", "Offline"
    WARNING = "WARNING", "Warning"


class Device(OrgScopedModel):
    """A piece of equipment in the field. Its status follows how recently it reported:
    ON while it reports, WARNING after 2x its reporting interval of silence, OFF after 5x."""

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=DeviceKind.choices)
    status = models.CharField(max_length=8, choices=DeviceStatus.choices, default=DeviceStatus.OFF,
                              db_index=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    reporting_interval = models.FloatField(default=1.0, help_text="Expected seconds between reports.")
    location = models.CharField(max_length=200, blank=True, db_index=True)
    site = models.SlugField(max_length=64, blank=True, db_index=True,
                            help_text="Site/zone grouping shared with cameras, used by correlation.")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    config = models.JSONField(default=dict, blank=True,
                              help_text="Remote configuration pushed to the device.")
    version = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "devices"
        ordering = ("-id",)
        indexes = [models.Index(fields=("org", "status"), name="devices_org_status")]

    message_prefix: ClassVar[str] = "device"

    def __str__(self) -> str:
        return self.name

    def change_data(self, verb: str) -> Strict:
        """What the data plane hears about this device."""
        if verb == "deleted":
            return DeviceDeleted(device=self.id)
        return DeviceChanged(device=self.id, name=self.name, kind=self.kind,
                             site=self.site or None, config=self.config, version=self.version)


class DeviceCredential(models.Model):
    """A secret a device presents to the gateways. Only its SHA-256 is kept; the token itself is
    shown once, when it is created. Revoking it locks the device out at once."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="credentials")
    prefix = models.CharField(max_length=16, help_text="First characters of the token, to recognise it.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "device_credentials"
        ordering = ("-id",)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.device_id})"
