"""What the data plane observed: detections, anomalies, device status history, telemetry and the
correlated events operators act on. Time-series tables; see docs/adr/0002-time-series-storage.md.

Rows written by the recorder use the message id as primary key, so a redelivered message stores
one row. Cameras and devices are referenced by id without foreign keys: history outlives them.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex, GinIndex
from django.db import models

from vigia.common.ids import uuid7


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Detection(models.Model):
    """An object (vehicle, person, plate) one camera saw in one frame."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    camera_id = models.UUIDField()
    frame_id = models.UUIDField(null=True, blank=True)
    time = models.DateTimeField(help_text="When the frame was captured.")
    label = models.CharField(max_length=64)
    confidence = models.FloatField()
    box = models.JSONField(help_text="{x1, y1, x2, y2} in frame pixels.")
    plate_text = models.CharField(max_length=16, null=True, blank=True)
    plate_confidence = models.FloatField(null=True, blank=True)
    track = models.CharField(max_length=64, null=True, blank=True)
    snapshot_key = models.CharField(max_length=512, null=True, blank=True)
    crop_key = models.CharField(max_length=512, null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "detections"
        ordering = ("-time", "-id")
        indexes = [
            models.Index(fields=("org", "-time"), name="detections_org_time"),
            models.Index(fields=("org", "camera_id", "-time"), name="detections_org_camera_time"),
            models.Index(fields=("org", "label", "-time"), name="detections_org_label_time"),
            BrinIndex(fields=("time",), name="detections_time_brin"),
            GinIndex(fields=("plate_text",), name="detections_plate_trgm", opclasses=("gin_trgm_ops",),
                     condition=models.Q(plate_text__isnull=False)),
        ]


class Anomaly(models.Model):
    """One device signal out of its normal range (magnetic spike, odd sound, sudden motion)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    device_id = models.UUIDField()
    time = models.DateTimeField()
    kind = models.CharField(max_length=32)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    score = models.FloatField()
    value = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "anomalies"
        ordering = ("-time", "-id")
        indexes = [
            models.Index(fields=("org", "device_id", "-time"), name="anomalies_org_device_time"),
            BrinIndex(fields=("time",), name="anomalies_time_brin"),
        ]


class EventStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class EventClassification(models.TextChoices):
    UNCLASSIFIED = "unclassified", "Unclassified"
    TRUE_POSITIVE = "true_positive", "True positive"
    FALSE_POSITIVE = "false_positive", "False positive"
    TEST = "test", "Test"


class Event(models.Model):
    """An incident: independent signals that agreed, with a severity, a score and its evidence.
    Repeats of the same cause at the same site are folded into it while it is unresolved
    (``occurrences``). Operators acknowledge it, classify it and resolve it, each with who, when
    and a note.

    Events still ``open`` (unacknowledged) some time after they started are what an escalation
    looks for: ``WHERE org_id = %s AND status = 'open' AND time <= now() - delay`` runs on the
    ``events_org_status_time`` index."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    time = models.DateTimeField(help_text="When the incident started.")
    ended_at = models.DateTimeField(null=True, blank=True)
    event_type = models.CharField(max_length=64)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    score = models.FloatField()
    site = models.CharField(max_length=128, null=True, blank=True)
    sources = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=EventStatus.choices, default=EventStatus.OPEN)
    classification = models.CharField(max_length=16, choices=EventClassification.choices,
                                      default=EventClassification.UNCLASSIFIED)
    notes = models.TextField(blank=True)
    acknowledged_by = models.ForeignKey("tenancy.User", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+", db_constraint=False)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement_note = models.TextField(blank=True, default="", db_default="")
    resolved_by = models.ForeignKey("tenancy.User", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", db_constraint=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True, default="", db_default="")
    occurrences = models.PositiveIntegerField(
        default=1, db_default=1, help_text="1 + the repeats of the same cause at the same site folded into it.")
    last_message_time = models.DateTimeField(
        null=True, blank=True, help_text="Time of the newest message applied (older updates are ignored).")
    updated_at = models.DateTimeField(auto_now=True)
    false_alarm_score = models.FloatField(null=True, blank=True, help_text=(
        "Probability of a false alarm by the organization's active classifier (null: not scored)."))
    false_alarm_model = models.ForeignKey("classifiers.ClassifierModel", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+", db_constraint=False,
                                          help_text="The classifier version that scored it.")
    likely_false_alarm = models.BooleanField(default=False, db_default=False, help_text=(
        "The score reached the organization's false_alarm_threshold: pipelines may hold its notifications."))

    class Meta:
        db_table = "events"
        ordering = ("-time", "-id")
        indexes = [
            models.Index(fields=("org", "-time"), name="events_org_time"),
            models.Index(fields=("org", "severity", "-time"), name="events_org_severity_time"),
            models.Index(fields=("org", "status", "time"), name="events_org_status_time"),
            BrinIndex(fields=("time",), name="events_time_brin"),
        ]


class DeviceStatusChange(models.Model):
    """One transition of a device between ON, WARNING and OFF."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    device_id = models.UUIDField()
    time = models.DateTimeField()
    status = models.CharField(max_length=8)
    previous = models.CharField(max_length=8, null=True, blank=True)
    reason = models.CharField(max_length=256, blank=True)

    class Meta:
        db_table = "device_status_changes"
        ordering = ("-time", "-id")
        indexes = [
            models.Index(fields=("org", "device_id", "-time"), name="dsc_org_device_time"),
            BrinIndex(fields=("time",), name="dsc_time_brin"),
        ]


class Telemetry(models.Model):
    """One sensor reading of one device (phones: magnetometer, IMU, orientation, audio peak...).
    Written in bulk by the fusion worker with COPY; (device, time, seq) makes redelivery harmless."""

    id = models.BigAutoField(primary_key=True)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    device_id = models.UUIDField()
    time = models.DateTimeField()
    seq = models.BigIntegerField()
    mag_x = models.FloatField(null=True)
    mag_y = models.FloatField(null=True)
    mag_z = models.FloatField(null=True)
    mag_magnitude = models.FloatField(null=True)
    acc_x = models.FloatField(null=True)
    acc_y = models.FloatField(null=True)
    acc_z = models.FloatField(null=True)
    gyro_x = models.FloatField(null=True)
    gyro_y = models.FloatField(null=True)
    gyro_z = models.FloatField(null=True)
    roll = models.FloatField(null=True)
    pitch = models.FloatField(null=True)
    yaw = models.FloatField(null=True)
    audio_peak = models.FloatField(null=True)
    humanoid = models.BooleanField(default=False)
    bluetooth_devices = models.IntegerField(null=True)

    class Meta:
        db_table = "telemetry"
        ordering = ("-time",)
        constraints = [models.UniqueConstraint(fields=("device_id", "time", "seq"),
                                               name="telemetry_unique_reading")]
        indexes = [
            models.Index(fields=("org", "device_id", "-time"), name="telemetry_org_device_time"),
            BrinIndex(fields=("time",), name="telemetry_time_brin"),
        ]


class Forecast(models.Model):
    """What one device metric is expected to do next: the forecast service's ``horizon`` steps of
    ``step_s`` seconds from ``start``, each with its mean and the band (``level`` % prediction
    interval) a reading is expected in; a reading outside the band is a ``forecast`` anomaly. A row
    per refresh (every few minutes): the latest per (device, metric) is the one in force and the
    one the device page shows. ``fallback`` says why another model than configured made it (a
    series with less history than the model needs gets the statistical model)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    device_id = models.UUIDField()
    metric = models.CharField(max_length=64, help_text="Telemetry column forecast, e.g. mag_magnitude.")
    model = models.CharField(max_length=64, help_text="Model that made it (the forecast registry's name).")
    fallback = models.TextField(null=True, blank=True, help_text="Why the statistical model stood in, if it did.")
    made_at = models.DateTimeField(help_text="When the forecast was made.")
    step_s = models.IntegerField(help_text="Seconds between steps (the metric's resampling step).")
    history_steps = models.IntegerField(help_text="Steps of history it was made from.")
    start = models.DateTimeField(help_text="Time of the first forecast step.")
    level = models.SmallIntegerField(help_text="The band: this % prediction interval.")
    mean = ArrayField(models.FloatField(), help_text="Expected value of each step.")
    lower = ArrayField(models.FloatField(), help_text="Lower edge of the band at each step.")
    upper = ArrayField(models.FloatField(), help_text="Upper edge of the band at each step.")

    class Meta:
        db_table = "forecasts"
        ordering = ("-made_at",)
        indexes = [
            # The latest forecast of a device metric: one index probe (LIMIT 1 on this order).
            models.Index(fields=("org", "device_id", "metric", "-made_at"), name="forecasts_latest"),
            BrinIndex(fields=("made_at",), name="forecasts_made_at_brin"),
        ]


class Passage(models.Model):
    """One vehicle's visit to one camera and the plate it was read as: when it was first and last
    seen, what carried the plate, the voted plate with its confidence and vote, the plates that
    lost the vote, the best crop and frame, and the watch-lists its plate is on (re-marked when a
    list changes: vigia.control.observations.marking).
    Plate searches and a plate's history read these: one row per visit, not one per frame.

    The id is derived from (camera, visit, first seen), so the several ``plate.read`` messages of
    one visit, and their redeliveries, keep one row: the newest message's view of the visit."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    camera_id = models.UUIDField()
    site = models.CharField(max_length=64, blank=True, default="", db_default="",
                            help_text="The camera's site when the passage was recorded.")
    visit = models.CharField(max_length=64, help_text="Vision's tracker id of the visit.")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    label = models.CharField(max_length=64, blank=True, default="", db_default="",
                             help_text="car, truck, bus, motorcycle; plate: seen without its vehicle.")
    plate_text = models.CharField(max_length=8, help_text="Upper case, letters and digits (ABC1D23).")
    plate_folded = models.CharField(max_length=8, help_text="plate_text with OCR look-alikes folded "
                                    "(vigia.common.plates.look_alike_key): what tolerant search looks up.")
    confidence = models.FloatField()
    votes = models.PositiveIntegerField(help_text="Readings that voted.")
    agreeing = models.PositiveIntegerField(null=True, blank=True,
                                           help_text="Readings that spelt the plate exactly.")
    runner_ups = models.JSONField(default=list, blank=True, help_text="[{plate_text, readings, confidence}]: "
                                  "plates the readings also spelt, most read first.")
    crop_key = models.CharField(max_length=512, null=True, blank=True)
    snapshot_key = models.CharField(max_length=512, null=True, blank=True)
    final = models.BooleanField(default=False, help_text="The visit ended; its plate will not change.")
    watchlist_ids = ArrayField(models.UUIDField(), default=list, blank=True,
                               help_text="Watch-lists with an entry for the plate, unexpired when it "
                               "was last seen (kept current as the lists change).")
    watchlist_matches = models.JSONField(default=list, blank=True, help_text=(
        "[{watchlist, name, kind, plate, label, exact}]: one per matching watch-list."))
    message_time = models.DateTimeField(help_text="Time of the newest plate.read applied (older are ignored).")
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "passages"
        ordering = ("-first_seen", "-id")
        indexes = [
            models.Index(fields=("org", "-first_seen", "-id"), name="passages_org_first_seen"),
            models.Index(fields=("org", "camera_id", "-first_seen"), name="passages_org_camera_first_seen"),
            models.Index(fields=("org", "plate_text", "-first_seen"), name="passages_org_plate"),
            models.Index(fields=("org", "plate_folded"), name="passages_org_plate_folded"),
            models.Index(fields=("org", "last_seen"), name="passages_org_last_seen"),
            BrinIndex(fields=("first_seen",), name="passages_first_seen_brin"),
            GinIndex(fields=("watchlist_ids",), name="passages_watchlists",
                     condition=models.Q(watchlist_ids__len__gt=0)),
        ]
