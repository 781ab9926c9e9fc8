"""The hand-rendered representations (events; detections and passages have their own tests) read
exactly as DRF's ModelSerializer with the same declared fields would render them, for a model
instance and for a ``values()`` row, list and detail alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from vigia.control.core.renderers import FastJSONRenderer
from vigia.control.observations.api.serializers import EVENT_LIST_COLUMNS, EventSerializer
from vigia.control.observations.models import Event

pytestmark = pytest.mark.django_db


class ReferenceEventSerializer(serializers.ModelSerializer):
    """DRF's own rendering of EventSerializer's declared fields."""

    acknowledged_by = serializers.UUIDField(source="acknowledged_by_id", read_only=True, allow_null=True)
    resolved_by = serializers.UUIDField(source="resolved_by_id", read_only=True, allow_null=True)
    acknowledged_by_email = serializers.EmailField(source="acknowledged_by.email", read_only=True, allow_null=True)
    resolved_by_email = serializers.EmailField(source="resolved_by.email", read_only=True, allow_null=True)

    class Meta:
        model = Event
        fields = EventSerializer.Meta.fields
        read_only_fields = fields


@pytest.fixture
def events(org: Any, operator: Any) -> list[Event]:
    now = datetime.now(UTC).replace(microsecond=0)
    bare = Event.objects.create(org=org, time=now, event_type="intrusion", severity="high", score=1,
                                occurrences=1)
    full = Event.objects.create(
        org=org, time=now - timedelta(minutes=3, microseconds=5), ended_at=now, event_type="loitering",
        severity="critical", score=0.8125, site="gate \u2028 1", sources=[{"kind": "camera", "n": 2}],
        description="São Paulo \"quoted\"", occurrences=7, status="resolved", classification="true_positive",
        notes="n", acknowledged_by=operator, acknowledged_at=now, acknowledgement_note="seen",
        resolved_by=operator, resolved_at=now, resolution_note="done")
    return [bare, full]


def rendered(data: Any) -> bytes:
    return FastJSONRenderer().render(data)


def test_an_event_renders_as_drf_renders_it_from_an_instance_and_from_a_row(events):
    for event in events:
        event.refresh_from_db()
        reference = JSONRenderer().render(ReferenceEventSerializer(event).data)
        assert rendered(EventSerializer(event).data) == reference
        row = Event.objects.filter(pk=event.pk).values(*EVENT_LIST_COLUMNS).get()
        assert rendered(EventSerializer(row).data) == reference


def test_the_events_list_reads_like_the_detail(api, viewer, events):
    client = api(viewer)
    listed = client.get("/api/v1/events/").json()["results"]
    assert len(listed) == 2
    for row in listed:
        assert client.get(f"/api/v1/events/{row['id']}/").json() == row
    by_id = {str(e.pk): e for e in Event.objects.all()}
    for row in listed:
        assert row == json.loads(JSONRenderer().render(ReferenceEventSerializer(by_id[row["id"]]).data))
