"""Serializer bases shared by every API area."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from rest_framework import serializers

UNKNOWN_FIELD = "unknown field"


def iso_datetime(moment: datetime | None) -> str | None:
    """An instant as DRF's ``DateTimeField`` renders it (ISO 8601, ``Z`` for UTC), for the rows a
    list renders by hand."""
    if moment is None:
        return None
    if moment.tzinfo is UTC:  # what the database gives: orjson writes it alike, at a quarter of the cost
        return orjson.dumps(moment, option=orjson.OPT_UTC_Z)[1:-1].decode()
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


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


class QueryParamsSerializer(serializers.Serializer):
    """The query parameters of a read (a search, an export): a plain serializer whose fields are
    shallow copies of one deep copy per class. DRF deep-copies every declared field (each one
    re-instantiated) for every instance, which cost a plate search as much as one of its queries;
    these fields hold no per-request state but what ``bind`` sets on each copy."""

    _templates: dict[type[Any], dict[str, serializers.Field]] = {}

    def get_fields(self) -> dict[str, serializers.Field]:
        template = self._templates.get(type(self))
        if template is None:
            template = self._templates[type(self)] = super().get_fields()
        return {name: copy.copy(field) for name, field in template.items()}
