"""StrictSerializerMixin: unknown input keys are errors naming the key, merged with other errors."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from vigia.control.core.serializers import StrictSerializer


class Zone(StrictSerializer):
    name = serializers.CharField()


class Camera(StrictSerializer):
    name = serializers.CharField()
    fps = serializers.FloatField(required=False)
    id = serializers.UUIDField(read_only=True)
    zones = Zone(many=True, required=False)


def errors_of(data: object) -> dict:
    body = Camera(data=data)
    assert not body.is_valid()
    return body.errors


def test_known_fields_pass():
    body = Camera(data={"name": "gate", "fps": 2})
    assert body.is_valid(), body.errors
    assert body.validated_data == {"name": "gate", "fps": 2.0}


def test_unknown_field_is_named():
    assert errors_of({"name": "gate", "fsp": 2}) == {"fsp": ["unknown field"]}


def test_unknown_and_invalid_fields_are_reported_together():
    errors = errors_of({"fps": "fast", "colour": "red"})
    assert set(errors) == {"name", "fps", "colour"}


def test_read_only_fields_are_accepted_and_ignored():
    body = Camera(data={"name": "gate", "id": "not even a uuid"})
    assert body.is_valid(), body.errors
    assert "id" not in body.validated_data


def test_nested_unknown_fields_are_named_with_their_path():
    errors = errors_of({"name": "gate", "zones": [{"name": "a"}, {"name": "b", "points": []}]})
    assert errors["zones"][1] == {"points": ["unknown field"]}


@pytest.mark.parametrize("data", [[1, 2], "text", 3])
def test_non_object_input_is_an_error_not_a_crash(data):
    assert "non_field_errors" in errors_of(data)
