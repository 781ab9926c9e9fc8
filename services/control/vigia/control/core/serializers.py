"""Serializer bases shared by every API area."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers

UNKNOWN_FIELD = "unknown field"


class StrictSerializerMixin:
    """Refuse input keys the serializer does not declare: ``400 {"fields": {"<name>": ["unknown
    field"]}}`` instead of silently dropping a typo. Declared read-only fields are accepted and
    ignored, so a client may send back what it read.

    Put it first in the bases: ``class CameraSerializer(StrictSerializerMixin, ModelSerializer)``.
    """

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        unknown: list[str] = []
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
        errors: dict[str, Any] = {}
        value: Any = None
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, Mapping):
                raise
            errors.update(exc.detail)
        for name in unknown:
            errors[name] = [UNKNOWN_FIELD]
        if errors:
            raise serializers.ValidationError(errors)
        return value


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    """A plain serializer that refuses unknown fields."""


class StrictModelSerializer(StrictSerializerMixin, serializers.ModelSerializer):
    """A model serializer that refuses unknown fields."""
