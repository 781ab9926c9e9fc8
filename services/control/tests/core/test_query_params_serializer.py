"""QueryParamsSerializer validates exactly as a plain DRF serializer with the same fields, and
each instance binds fields of its own."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import QueryDict
from rest_framework import serializers

from vigia.control.core.serializers import QueryParamsSerializer


class Plain(serializers.Serializer):
    plate = serializers.CharField(max_length=32)
    threshold = serializers.FloatField(required=False, min_value=0.1, max_value=1.0)
    camera = serializers.UUIDField(required=False)
    since = serializers.DateTimeField(required=False)
    look_alikes = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


class Params(QueryParamsSerializer):
    plate = serializers.CharField(max_length=32)
    threshold = serializers.FloatField(required=False, min_value=0.1, max_value=1.0)
    camera = serializers.UUIDField(required=False)
    since = serializers.DateTimeField(required=False)
    look_alikes = serializers.BooleanField(required=False, default=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)


def outcome(serializer_class: type[serializers.Serializer], query: str) -> tuple[bool, Any]:
    serializer = serializer_class(data=QueryDict(query))
    valid = serializer.is_valid()
    return valid, serializer.validated_data if valid else serializer.errors


@pytest.mark.parametrize("query", [
    "plate=ABC1D23", "plate=abc-1d23&threshold=0.5&limit=7&look_alikes=true",
    "plate=X&camera=01a2467e-6540-7367-8bc0-49c0d8812647&since=2026-12-05T13:00:00Z",
    "", "plate=&limit=0&threshold=x&camera=1&since=y", "plate=" + "A" * 40 + "&limit=201&threshold=2",
    "plate=A&look_alikes=maybe&unknown=1",
])
def test_validates_and_refuses_exactly_as_a_plain_serializer(query):
    assert outcome(Params, query) == outcome(Plain, query)
    assert outcome(Params, query) == outcome(Params, query)  # and again, from the same template


def test_every_instance_binds_fields_of_its_own():
    first, second = Params(data=QueryDict("plate=A")), Params(data=QueryDict("plate=B"))
    assert first.fields["plate"] is not second.fields["plate"]
    assert first.fields["plate"].parent is first and second.fields["plate"].parent is second
    assert first.is_valid() and second.is_valid()
    assert (first.validated_data["plate"], second.validated_data["plate"]) == ("A", "B")
