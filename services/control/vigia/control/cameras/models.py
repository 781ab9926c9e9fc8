"""Cameras: the RTSP sources whose frames Vigia samples and analyses."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Value

from vigia.common.messages import CameraChanged, CameraDeleted, Strict
from vigia.control.core import crypto
from vigia.control.core.models import OrgScopedModel


class CameraStatus(models.TextChoices):
    """The values of vigia.common.messages.CameraStatus, the statuses camera.health announces."""

    PROVISIONING = "provisioning", "Provisioning"
    ONLINE = "online", "Online"
    OFFLINE = "offline", "Offline"
    ERROR = "error", "Error"


class Camera(OrgScopedModel):
    """An IP camera an organization watches. Its RTSP URL (with credentials) is stored encrypted
    and never shown again in clear; streamers read and decrypt it here, no message carries it."""

    name = models.CharField(max_length=200)
    rtsp_url_encrypted = models.TextField(help_text="MultiFernet token of the RTSP URL.")
    fps = models.FloatField(default=1.0, help_text="Frames sampled per second.")
    zones = models.JSONField(
        default=list, blank=True, help_text="Named simple polygons in normalised image coordinates (0-1, "
        "origin top left): [{name, points: [[x, y], ...]}].")
    lines = models.JSONField(
        default=list, blank=True, db_default=Value([], output_field=models.JSONField()),
        help_text="Named lines in normalised image coordinates: [{name, points: [[x, y], [x, y]]}].")
    location = models.CharField(max_length=200, blank=True, help_text="Human description of the place.")
    site = models.SlugField(max_length=64, blank=True, db_index=True,
                            help_text="Site/zone grouping shared with devices, used by correlation.")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    faces = models.BooleanField(
        default=False, db_default=False,
        help_text="Vision recognises faces on this camera's person boxes against the organization's enrolled "
                  "people (off by default; an admin switches it).")
    status = models.CharField(
        max_length=16, choices=CameraStatus.choices, default=CameraStatus.PROVISIONING, editable=False,
        help_text="Set by the watchdog: provisioning until the first frame, online while frames arrive, "
                  "offline when they stopped, error while the streamer cannot reach the camera. A disabled "
                  "camera keeps the status it had.")
    last_frame_at = models.DateTimeField(null=True, blank=True, editable=False,
                                         help_text="Time of the camera's last frame the watchdog saw.")
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False,
                                             help_text="When the status last changed.")
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every change; carried in messages.")

    class Meta:
        db_table = "cameras"
        ordering = ("-id",)
        constraints = [models.UniqueConstraint(fields=("org", "name"), name="cameras_unique_name_per_org")]

    message_prefix: ClassVar[str] = "camera"

    def __str__(self) -> str:
        return self.name

    @property
    def rtsp_url(self) -> str:
        """The RTSP URL in clear: only for the reachability check and MediaMTX's path source."""
        return crypto.decrypt(self.rtsp_url_encrypted)

    @rtsp_url.setter
    def rtsp_url(self, value: str) -> None:
        self.rtsp_url_encrypted = crypto.encrypt(value)

    def change_data(self, verb: str) -> Strict:
        """What streamers, the correlator and MediaMTX's sync hear about this camera: never its URL."""
        if verb == "deleted":
            return CameraDeleted(camera=self.id)
        return CameraChanged(camera=self.id, name=self.name, fps=self.fps, enabled=self.enabled,
                             site=self.site or None, zones=self.zones, lines=self.lines, version=self.version,
                             faces=self.faces)
