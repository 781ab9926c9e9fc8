"""Representations of detections, events, anomalies, telemetry and status history (read-only:
the data plane writes them through the recorder), and the bodies of the event actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from vigia.control.core.serializers import QueryParamsSerializer, StrictSerializer, iso_datetime
from vigia.control.observations.models import (
    Anomaly,
    Detection,
    DeviceStatusChange,
    Event,
    EventClassification,
    Passage,
    Telemetry,
)
from vigia.control.observations.passages import PASSAGE_COLUMNS
from vigia.control.observations.queries import DETECTION_COLUMNS

_iso = iso_datetime  # DRF's DateTimeField rendering: ISO 8601, "Z" for UTC


def _cast(kind: Callable[[Any], Any], value: Any) -> Any:
    """A value as DRF's CharField (str), IntegerField (int) or FloatField (float) renders it; None
    stays None, as a serializer leaves it."""
    return None if value is None else kind(value)




class DetectionSerializer(serializers.ModelSerializer):
    """A detection. The hottest list of the API: rendered by hand (same output as the declared
    fields, which document the schema) because per-field DRF rendering dominated its latency. It
    renders a model instance or a ``values(*DETECTION_COLUMNS)`` row alike."""

    camera = serializers.UUIDField(source="camera_id", read_only=True)
    frame = serializers.UUIDField(source="frame_id", read_only=True, allow_null=True)

    class Meta:
        model = Detection
        fields = ("id", "camera", "frame", "time", "label", "confidence", "box", "plate_text",
                  "plate_confidence", "track", "snapshot_key", "crop_key", "received_at")
        read_only_fields = fields

    def to_representation(self, instance: Detection | dict[str, Any]) -> dict[str, Any]:
        row = instance if isinstance(instance, dict) else {c: getattr(instance, c) for c in DETECTION_COLUMNS}
        # Ids stay UUIDs: the JSON renderers write them as str() does (orjson natively, in C).
        return {
            "id": row["id"], "camera": row["camera_id"], "frame": row["frame_id"],
            "time": _iso(row["time"]), "label": row["label"], "confidence": row["confidence"],
            "box": row["box"], "plate_text": row["plate_text"],
            "plate_confidence": row["plate_confidence"], "track": row["track"],
            "snapshot_key": row["snapshot_key"], "crop_key": row["crop_key"],
            "received_at": _iso(row["received_at"]),
        }


class PlateMatchSerializer(DetectionSerializer):
    similarity = serializers.FloatField(read_only=True)

    class Meta(DetectionSerializer.Meta):
        fields = (*DetectionSerializer.Meta.fields, "similarity")  # type: ignore[assignment]
        read_only_fields = fields  # type: ignore[assignment]

    def to_representation(self, instance: Detection | dict[str, Any]) -> dict[str, Any]:
        similarity = instance.get("similarity") if isinstance(instance, dict) else getattr(instance, "similarity", None)
        return {**super().to_representation(instance), "similarity": similarity}


class PlateCandidateSerializer(serializers.Serializer):
    """One distinct plate that matched a search, with how often and when it was last seen."""

    plate_text = serializers.CharField()
    similarity = serializers.FloatField()
    detections = serializers.IntegerField()
    last_seen = serializers.DateTimeField()

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        # By hand, as the declared fields render it (a search answers up to 200 of these).
        return {"plate_text": _cast(str, instance["plate_text"]), "similarity": _cast(float, instance["similarity"]),
                "detections": _cast(int, instance["detections"]), "last_seen": _iso(instance["last_seen"])}


class PlateSearchResultSerializer(serializers.Serializer):
    """Answer of /detections/search: the normalised query, the threshold applied, the distinct plates
    that matched and the matching detections, best first."""

    query = serializers.CharField(help_text="The plate searched for, normalised (upper case, letters and digits).")
    threshold = serializers.FloatField(help_text="Minimum trigram similarity applied.")
    plates = PlateCandidateSerializer(many=True)
    results = PlateMatchSerializer(many=True)


class PlateSearchQuerySerializer(QueryParamsSerializer):
    """Query parameters of /detections/search (unknown parameters are ignored, as for lists)."""

    plate = serializers.CharField(max_length=32, help_text="Plate as read; case and separators ignored.")
    threshold = serializers.FloatField(required=False, min_value=0.1, max_value=1.0,
                                       help_text="Minimum trigram similarity (default from settings).")
    camera = serializers.UUIDField(required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


# What an event's representation reads, by column (attribute) name.
EVENT_COLUMNS = ("id", "time", "ended_at", "event_type", "severity", "score", "site", "sources", "description",
                 "occurrences", "status", "classification", "notes", "acknowledged_by_id", "acknowledged_at",
                 "acknowledgement_note", "resolved_by_id", "resolved_at", "resolution_note", "updated_at",
                 "false_alarm_score", "false_alarm_model_id", "likely_false_alarm")
# The list's rows also read who acknowledged and resolved (one join each), so operators and viewers,
# who cannot list users, see a name rather than an id.
EVENT_LIST_COLUMNS = (*EVENT_COLUMNS, "acknowledged_by__email", "resolved_by__email")


class EventSerializer(serializers.ModelSerializer):
    """An incident. Rendered by hand like detections (the same output as the declared fields, which
    document the schema: DRF's per-field rendering of twenty fields was most of a page's CPU); it
    renders a model instance or a ``values(*EVENT_COLUMNS)`` row alike."""

    acknowledged_by = serializers.UUIDField(source="acknowledged_by_id", read_only=True, allow_null=True)
    resolved_by = serializers.UUIDField(source="resolved_by_id", read_only=True, allow_null=True)
    acknowledged_by_email = serializers.EmailField(
        source="acknowledged_by.email", read_only=True, allow_null=True,
        help_text="E-mail of who acknowledged it (null while open, or when that user was deleted).")
    resolved_by_email = serializers.EmailField(
        source="resolved_by.email", read_only=True, allow_null=True,
        help_text="E-mail of who resolved it (null while unresolved, or when that user was deleted).")
    false_alarm_model = serializers.UUIDField(source="false_alarm_model_id", read_only=True, allow_null=True,
                                              help_text="The classifier version that scored it (null: not scored).")

    class Meta:
        model = Event
        fields = ("id", "time", "ended_at", "event_type", "severity", "score", "site", "sources",
                  "description", "occurrences", "status", "classification", "notes", "acknowledged_by",
                  "acknowledged_by_email", "acknowledged_at", "acknowledgement_note", "resolved_by",
                  "resolved_by_email", "resolved_at", "resolution_note", "updated_at", "false_alarm_score",
                  "false_alarm_model", "likely_false_alarm")
        read_only_fields = fields

    def to_representation(self, instance: Event | dict[str, Any]) -> dict[str, Any]:
        row = instance if isinstance(instance, dict) else _event_row(instance)
        score, occurrences = row["score"], row["occurrences"]
        # Ids stay UUIDs (the JSON renderers write them as str() does); numbers as DRF's fields cast them.
        return {
            "id": row["id"], "time": _iso(row["time"]), "ended_at": _iso(row["ended_at"]),
            "event_type": row["event_type"], "severity": row["severity"],
            "score": None if score is None else float(score), "site": row["site"], "sources": row["sources"],
            "description": row["description"], "occurrences": None if occurrences is None else int(occurrences),
            "status": row["status"], "classification": row["classification"], "notes": row["notes"],
            "acknowledged_by": row["acknowledged_by_id"], "acknowledged_by_email": row["acknowledged_by__email"],
            "acknowledged_at": _iso(row["acknowledged_at"]), "acknowledgement_note": row["acknowledgement_note"],
            "resolved_by": row["resolved_by_id"], "resolved_by_email": row["resolved_by__email"],
            "resolved_at": _iso(row["resolved_at"]), "resolution_note": row["resolution_note"],
            "updated_at": _iso(row["updated_at"]),
            "false_alarm_score": None if row["false_alarm_score"] is None else float(row["false_alarm_score"]),
            "false_alarm_model": row["false_alarm_model_id"], "likely_false_alarm": bool(row["likely_false_alarm"]),
        }


def _event_row(event: Event) -> dict[str, Any]:
    """An instance as a ``values(*EVENT_LIST_COLUMNS)`` row (the users are read if not cached)."""
    row = {c: getattr(event, c) for c in EVENT_COLUMNS}
    row["acknowledged_by__email"] = event.acknowledged_by.email if event.acknowledged_by is not None else None
    row["resolved_by__email"] = event.resolved_by.email if event.resolved_by is not None else None
    return row


def _note() -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class AcknowledgeSerializer(StrictSerializer):
    """POST /events/{id}/acknowledge: an optional note (an empty body or ``{}`` is fine)."""

    note = _note()


class ResolveSerializer(StrictSerializer):
    """POST /events/{id}/resolve: an optional note saying what was found or done."""

    note = _note()


class BulkActionSerializer(StrictSerializer):
    """POST /events/bulk: one action on up to 500 events of the caller's organization, all or nothing."""

    ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=500,
                                help_text="The events (duplicates count once).")
    action = serializers.ChoiceField(choices=("acknowledge", "resolve"))
    note = _note()


class BulkResultSerializer(serializers.Serializer):
    """What a bulk action did: the events it changed and those already in that state (unchanged)."""

    action = serializers.CharField()
    changed = serializers.ListField(child=serializers.UUIDField())
    unchanged = serializers.ListField(child=serializers.UUIDField())


class ClassifySerializer(StrictSerializer):
    classification = serializers.ChoiceField(choices=EventClassification.choices)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class AnomalySerializer(serializers.ModelSerializer):
    device = serializers.UUIDField(source="device_id", read_only=True)

    class Meta:
        model = Anomaly
        fields = ("id", "device", "time", "kind", "severity", "score", "value", "details")
        read_only_fields = fields


class TelemetrySerializer(serializers.ModelSerializer):
    device = serializers.UUIDField(source="device_id", read_only=True)

    class Meta:
        model = Telemetry
        fields = ("id", "device", "time", "seq", "mag_x", "mag_y", "mag_z", "mag_magnitude", "acc_x",
                  "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z", "roll", "pitch", "yaw", "audio_peak",
                  "humanoid", "bluetooth_devices")
        read_only_fields = fields


class DeviceStatusChangeSerializer(serializers.ModelSerializer):
    device = serializers.UUIDField(source="device_id", read_only=True)

    class Meta:
        model = DeviceStatusChange
        fields = ("id", "device", "time", "status", "previous", "reason")
        read_only_fields = fields


class AnalyticsQuerySerializer(QueryParamsSerializer):
    hours = serializers.IntegerField(required=False, min_value=1, max_value=24 * 31, default=24)


class HourCountSerializer(serializers.Serializer):
    hour = serializers.CharField(help_text="The hour's start, UTC (ISO 8601, Z).")
    count = serializers.IntegerField()


class CameraCountSerializer(serializers.Serializer):
    camera = serializers.UUIDField()
    name = serializers.CharField(allow_null=True, help_text="null when the camera is gone.")
    count = serializers.IntegerField()


class AnalyticsSerializer(serializers.Serializer):
    """``GET /api/v1/dashboard/analytics``: the dashboard's numbers over the last ``hours`` whole UTC hours."""

    hours = serializers.IntegerField()
    since = serializers.CharField(help_text="The window's first hour, UTC (ISO 8601, Z).")
    until = serializers.CharField(help_text="The window's end (exclusive), UTC (ISO 8601, Z).")
    detections_total = serializers.IntegerField()
    detections_per_hour = HourCountSerializer(many=True, help_text="Every hour of the window, zeros included.")
    detections_per_camera = CameraCountSerializer(many=True, help_text="The 100 busiest cameras, busiest first.")
    events_total = serializers.IntegerField()
    events_by_severity = serializers.DictField(child=serializers.IntegerField(),
                                               help_text="Every severity, zeros included.")
    devices_total = serializers.IntegerField()
    devices_by_status = serializers.DictField(child=serializers.IntegerField(),
                                              help_text="Every device status, zeros included (now, not the window).")


class EvidenceQuerySerializer(QueryParamsSerializer):
    expires_in = serializers.IntegerField(required=False, min_value=1, max_value=7 * 24 * 3600, default=3600,
                                          help_text="Lifetime of the file URLs in seconds (at most 7 days).")


class EvidenceFileSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="video.mp4, audio.wav, sensors.csv, metadata.json, manifest.json...")
    size = serializers.IntegerField()
    content_type = serializers.CharField(allow_null=True)
    sha256 = serializers.CharField(allow_null=True, help_text="From the bundle's manifest.")
    url = serializers.CharField(help_text="Presigned (S3) or signed local URL; no token needed.")
    expires_at = serializers.IntegerField(help_text="Unix time after which the URL is refused.")


class EvidenceSerializer(serializers.Serializer):
    event = serializers.UUIDField()
    ready = serializers.BooleanField(help_text="True once the bundle's manifest is written (complete).")
    files = EvidenceFileSerializer(many=True)


# --- passages -----------------------------------------------------------------------------------


class RunnerUpSerializer(serializers.Serializer):
    """A plate the visit's readings also spelt, that lost the vote."""

    plate_text = serializers.CharField()
    readings = serializers.IntegerField(help_text="Readings that spelt it exactly.")
    confidence = serializers.FloatField(help_text="The best of those readings' confidences.")


class WatchlistMatchSerializer(serializers.Serializer):
    """A watch-list the passage's plate matched when it was recorded."""

    watchlist = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=("allow", "deny"))
    plate = serializers.CharField(help_text="The entry that matched (a look-alike of the plate read, or itself).")
    # DRF pops declared fields from the class; the stubs see Field.label.
    label = serializers.CharField(allow_blank=True)  # type: ignore[assignment]
    exact = serializers.BooleanField(help_text="The entry is the plate read, not a look-alike of it.")


class PassageSerializer(serializers.ModelSerializer):
    """A vehicle passage: one visit of one vehicle to one camera and its voted plate. Rendered by
    hand (plate searches return many), like detections; renders an instance or a
    ``values(*PASSAGE_COLUMNS)`` row alike."""

    camera = serializers.UUIDField(source="camera_id", read_only=True)
    runner_ups = RunnerUpSerializer(many=True, read_only=True)
    watchlists = WatchlistMatchSerializer(many=True, read_only=True, source="watchlist_matches")

    class Meta:
        model = Passage
        fields = ("id", "camera", "site", "visit", "first_seen", "last_seen", "label", "plate_text", "confidence",
                  "votes", "agreeing", "runner_ups", "crop_key", "snapshot_key", "final", "watchlists",
                  "received_at", "updated_at")
        read_only_fields = fields

    def to_representation(self, instance: Passage | dict[str, Any]) -> dict[str, Any]:
        row = instance if isinstance(instance, dict) else {c: getattr(instance, c) for c in PASSAGE_COLUMNS}
        return {
            "id": row["id"], "camera": row["camera_id"], "site": row["site"], "visit": row["visit"],
            "first_seen": _iso(row["first_seen"]), "last_seen": _iso(row["last_seen"]), "label": row["label"],
            "plate_text": row["plate_text"], "confidence": row["confidence"], "votes": row["votes"],
            "agreeing": row["agreeing"], "runner_ups": row["runner_ups"], "crop_key": row["crop_key"],
            "snapshot_key": row["snapshot_key"], "final": row["final"], "watchlists": row["watchlist_matches"],
            "received_at": _iso(row["received_at"]), "updated_at": _iso(row["updated_at"]),
        }


LIKENESS_HELP = ("exact: the plate searched for; look_alike: differs only by OCR look-alikes (O/0/Q/D, I/1/J, "
                 "B/8, S/5, Z/2, G/6); edit: one character misread, missing or extra beyond those.")


class PassageMatchSerializer(PassageSerializer):
    likeness = serializers.ChoiceField(choices=("exact", "look_alike", "edit"), read_only=True, help_text=LIKENESS_HELP)

    class Meta(PassageSerializer.Meta):
        fields = (*PassageSerializer.Meta.fields, "likeness")  # type: ignore[assignment]
        read_only_fields = fields  # type: ignore[assignment]

    def to_representation(self, instance: Passage | dict[str, Any]) -> dict[str, Any]:
        likeness = instance.get("likeness") if isinstance(instance, dict) else getattr(instance, "likeness", None)
        return {**super().to_representation(instance), "likeness": likeness}


class PlateSightingsSerializer(serializers.Serializer):
    """One distinct plate that matched a search: how near, how often, where and when it was seen."""

    plate_text = serializers.CharField()
    likeness = serializers.ChoiceField(choices=("exact", "look_alike", "edit"), help_text=LIKENESS_HELP)
    sightings = serializers.IntegerField(help_text="Passages with this plate (within the search's window).")
    cameras = serializers.IntegerField(help_text="Distinct cameras that saw it.")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()

    def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
        # By hand, as the declared fields render it (likeness is already one of its choices).
        return {"plate_text": _cast(str, instance["plate_text"]), "likeness": instance["likeness"],
                "sightings": _cast(int, instance["sightings"]), "cameras": _cast(int, instance["cameras"]),
                "first_seen": _iso(instance["first_seen"]), "last_seen": _iso(instance["last_seen"])}


class PassageSearchQuerySerializer(QueryParamsSerializer):
    """Query parameters of /passages/search (unknown parameters are ignored, as for lists)."""

    plate = serializers.CharField(max_length=32, help_text="Plate as read (6 to 8 letters and digits once "
                                  "case and separators are dropped).")
    camera = serializers.UUIDField(required=False)
    site = serializers.CharField(required=False, max_length=64)
    since = serializers.DateTimeField(required=False, help_text="Passages still seen at or after this instant.")
    until = serializers.DateTimeField(required=False, help_text="Passages first seen before this instant.")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class PassageSearchResultSerializer(serializers.Serializer):
    """Answer of /passages/search: the normalised query, the distinct plates that matched (nearest,
    then most sighted, then latest) and the matching passages (nearest plate, then newest)."""

    query = serializers.CharField(help_text="The plate searched for, normalised (upper case, letters and digits).")
    plates = PlateSightingsSerializer(many=True)
    results = PassageMatchSerializer(many=True)


class PlateHistoryQuerySerializer(QueryParamsSerializer):
    look_alikes = serializers.BooleanField(required=False, default=False, help_text=(
        "Also passages whose plate differs from it only by OCR look-alikes."))
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class PlateCameraHistorySerializer(serializers.Serializer):
    """What one camera saw of the plate."""

    camera = serializers.UUIDField()
    name = serializers.CharField(allow_null=True, help_text="The camera's name (null once it was deleted).")
    site = serializers.CharField(allow_blank=True)
    passages = serializers.IntegerField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()


class PlateHistorySerializer(serializers.Serializer):
    """A plate's history across cameras: per camera (latest first), then its passages, newest first,
    a page at a time (``next``/``previous`` cursors)."""

    plate = serializers.CharField()
    passages = serializers.IntegerField(help_text="Passages in all (within since/until).")
    cameras = PlateCameraHistorySerializer(many=True)
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = PassageSerializer(many=True)


class PassageExportQuerySerializer(QueryParamsSerializer):
    max_rows = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000, default=100_000,
                                        help_text="Most passages exported (newest first).")
