"""Camera representations. The RTSP URL goes in (``rtsp_url``, write-only) and never comes out:
responses carry ``rtsp_url_masked`` instead."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, serializers

from vigia.control.cameras import geometry, rtsp
from vigia.control.cameras.models import Camera
from vigia.control.core import crypto
from vigia.control.core.choices import Role
from vigia.control.core.serializers import StrictModelSerializer, StrictSerializer

MAX_FPS = 30.0
MAX_ZONES = 50
MAX_LINES = 50
MAX_ZONE_POINTS = 200


def _normalised_point() -> serializers.ListField:
    coordinate = serializers.FloatField(min_value=0, max_value=1)
    return serializers.ListField(child=coordinate, min_length=2, max_length=2)


class _Shape(StrictSerializer):
    """A zone or a line, replaced whole even by PATCH: a partial update of the camera makes nested
    serializers partial too, so the fields every shape needs are checked here."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        missing = {name: [serializers.Field.default_error_messages["required"]]
                   for name in ("name", "points") if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


class ZoneSerializer(_Shape):
    """A named area of the image: a simple polygon (at least three ``[x, y]`` points, edges that
    do not cross) in normalised coordinates — x from the left edge (0) to the right (1), y from
    the top (0) to the bottom (1)."""

    name = serializers.CharField(min_length=1, max_length=64)
    points = serializers.ListField(child=_normalised_point(), min_length=3, max_length=MAX_ZONE_POINTS)

    def validate_points(self, value: list[list[float]]) -> list[list[float]]:
        problem = geometry.polygon_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


class LineSerializer(_Shape):
    """A named line across the image, two distinct ``[x, y]`` points in normalised coordinates.
    Its side A is on the right hand of someone walking on the screen from ``points[0]`` to
    ``points[1]``, side B on the left (line_crossing's ``a_to_b`` / ``b_to_a``)."""

    name = serializers.CharField(min_length=1, max_length=64)
    points = serializers.ListField(child=_normalised_point(), min_length=2, max_length=2)

    def validate_points(self, value: list[list[float]]) -> list[list[float]]:
        problem = geometry.line_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value


def _unique_names(shapes: list[dict[str, Any]], what: str) -> None:
    names = [shape["name"] for shape in shapes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise serializers.ValidationError(f"{what} names must be unique: {', '.join(duplicates)}")


class CameraSerializer(StrictModelSerializer):
    """A camera as operators see and edit it."""

    rtsp_url = serializers.CharField(write_only=True, max_length=rtsp.MAX_LENGTH, trim_whitespace=False,
                                     help_text="rtsp:// or rtsps:// URL, credentials included; never "
                                     "returned.")
    rtsp_url_masked = serializers.SerializerMethodField(help_text="The URL with credentials hidden.")
    # many=True builds a ListSerializer, which takes max_length; the stubs type only ZoneSerializer.
    zones = ZoneSerializer(many=True, required=False, max_length=MAX_ZONES)  # type: ignore[call-arg]
    lines = LineSerializer(many=True, required=False, max_length=MAX_LINES)  # type: ignore[call-arg]
    latitude = serializers.FloatField(min_value=-90, max_value=90, required=False, allow_null=True)
    longitude = serializers.FloatField(min_value=-180, max_value=180, required=False, allow_null=True)

    class Meta:
        model = Camera
        fields = ("id", "name", "rtsp_url", "rtsp_url_masked", "fps", "zones", "lines", "location", "site",
                  "latitude", "longitude", "enabled", "faces", "status", "last_frame_at", "status_changed_at",
                  "version", "created_at", "updated_at")
        read_only_fields = ("id", "status", "last_frame_at", "status_changed_at", "version", "created_at",
                            "updated_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None:
            # Clients cannot read the URL back, so an update (even PUT) may leave it out.
            self.fields["rtsp_url"].required = False

    def get_rtsp_url_masked(self, camera: Camera) -> str:
        return rtsp.mask(camera.rtsp_url)

    def validate_rtsp_url(self, value: str) -> str:
        try:
            rtsp.parse(value)
        except rtsp.InvalidRtspUrl as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate_fps(self, value: float) -> float:
        if not 0 < value <= MAX_FPS:
            raise serializers.ValidationError(f"must be greater than 0 and at most {MAX_FPS:g}")
        return value

    def validate_zones(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _unique_names(value, "zone")
        return value

    def validate_lines(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _unique_names(value, "line")
        return value

    def validate_faces(self, value: bool) -> bool:
        # Face recognition processes biometric data (LGPD art. 11): switching it is an admin's decision.
        current = self.instance.faces if self.instance is not None else False
        if value != current and self.context["request"].user.role != Role.ADMIN:
            raise exceptions.PermissionDenied("only an admin may switch face recognition on a camera")
        return value

    def validate_name(self, value: str) -> str:
        org_id = self.context["request"].user.org_id
        taken = Camera.objects.filter(org_id=org_id, name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("a camera with this name already exists")
        return value

    def _apply_url(self, validated: dict[str, Any]) -> dict[str, Any]:
        url = validated.pop("rtsp_url", None)
        if url is not None:
            validated["rtsp_url_encrypted"] = crypto.encrypt(url)
        return validated

    def create(self, validated_data: dict[str, Any]) -> Camera:
        return super().create(self._apply_url(validated_data))

    def update(self, instance: Camera, validated_data: dict[str, Any]) -> Camera:
        return super().update(instance, self._apply_url(validated_data))


class RestartSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=256, required=False, allow_blank=True, default="")


class ProbeResultSerializer(serializers.Serializer):
    """The answer of a reachability check."""

    reachable = serializers.BooleanField()
    detail = serializers.CharField()
    elapsed_ms = serializers.IntegerField()
    codec = serializers.CharField(allow_null=True)
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
