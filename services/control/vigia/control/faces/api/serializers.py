"""Representations of enrolled people, their photos, sightings and the organization's face settings.
Photos and embeddings never leave in a list or a detail: only the export returns a person's photos."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rest_framework import serializers

from vigia.common.privacy import ENROLMENT_DAYS_MAX, SIGHTINGS_DAYS_MAX, SNAPSHOTS
from vigia.control.core.serializers import StrictModelSerializer, StrictSerializer
from vigia.control.faces.models import EnrolledPerson, FacePhoto, FaceSighting
from vigia.control.observations.evidence import browser_url

#: Long enough to look at a page of matches, short enough that a copied link soon stops working.
IMAGE_URL_LIFETIME = timedelta(minutes=10)


class BoxSerializer(serializers.Serializer):
    x1 = serializers.FloatField()
    y1 = serializers.FloatField()
    x2 = serializers.FloatField()
    y2 = serializers.FloatField()


class FacePhotoSerializer(serializers.ModelSerializer):
    """An enrolment photo: where its face is, its size; never the photo or the embedding."""

    face_box = BoxSerializer(help_text="The face in the stored photo's pixels.")

    class Meta:
        model = FacePhoto
        fields: tuple[str, ...] = ("id", "person", "face_box", "width", "height", "created_at")
        read_only_fields: tuple[str, ...] = fields


class EnrolledPersonSerializer(StrictModelSerializer):
    """A person the organization's cameras recognise, with the consent it rests on."""

    name = serializers.CharField(max_length=200, help_text="How operators know them.")
    consent_note = serializers.CharField(max_length=2000, help_text=(
        "The consent (or other legal basis, LGPD art. 11) the enrolment rests on: who agreed, when, to what."))
    photos = FacePhotoSerializer(many=True, read_only=True)

    class Meta:
        model = EnrolledPerson
        fields = ("id", "name", "consent_note", "photos", "created_at", "updated_at")
        read_only_fields = ("id", "photos", "created_at", "updated_at")


class PhotoUploadSerializer(StrictSerializer):
    """One photo of the person alone (multipart/form-data): JPEG or PNG, one face in it."""

    image = serializers.FileField(help_text="The photo: JPEG or PNG showing one face, frontal and lit.")


class FaceSightingSerializer(serializers.ModelSerializer):
    """A face a camera saw: whose (``person`` null: nobody enrolled), where, when, how close, and
    short-lived URLs of the face's crop and its frame (no token needed, 10 minutes)."""

    person = serializers.UUIDField(source="person_id", allow_null=True)
    person_name = serializers.CharField(allow_null=True, help_text="The person's name (null: unknown or erased).")
    camera = serializers.UUIDField(source="camera_id")
    box = BoxSerializer()
    crop_url = serializers.SerializerMethodField(help_text="URL of the face's crop; null when none was stored.")
    snapshot_url = serializers.SerializerMethodField(help_text="URL of the frame; null when none was stored.")

    class Meta:
        model = FaceSighting
        fields = ("id", "person", "person_name", "camera", "time", "distance", "box", "track", "snapshot_key",
                  "crop_key", "crop_url", "snapshot_url")
        read_only_fields = fields

    def _url(self, key: str | None) -> str | None:
        if not key:
            return None
        path = browser_url(SNAPSHOTS, key, IMAGE_URL_LIFETIME)
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_crop_url(self, sighting: FaceSighting) -> str | None:
        return self._url(sighting.crop_key)

    def get_snapshot_url(self, sighting: FaceSighting) -> str | None:
        return self._url(sighting.snapshot_key)


class ExportedPhotoSerializer(FacePhotoSerializer):
    jpeg_base64 = serializers.CharField(help_text="The stored photo, JPEG in base64.")

    class Meta(FacePhotoSerializer.Meta):
        fields = (*FacePhotoSerializer.Meta.fields, "jpeg_base64")
        read_only_fields = fields


class PersonExportSerializer(serializers.Serializer):
    """Everything Vigia holds about an enrolled person (LGPD art. 18: the data subject's access)."""

    person = EnrolledPersonSerializer()
    photos = ExportedPhotoSerializer(many=True)
    sightings = FaceSightingSerializer(many=True, help_text="Newest first, at most 10 000.")


class FacesSettingsSerializer(StrictSerializer):
    """The organization's face recognition policy. PATCH changes what it names."""

    store_unknown = serializers.BooleanField(required=False, help_text=(
        "Publish and keep faces matching nobody enrolled too (default false: only enrolled people's sightings)."))
    sightings_days = serializers.IntegerField(min_value=1, max_value=SIGHTINGS_DAYS_MAX, required=False, help_text=(
        "Days sightings are kept (default 30)."))
    enrolment_days = serializers.IntegerField(min_value=1, max_value=ENROLMENT_DAYS_MAX, required=False,
                                              allow_null=True, help_text=(
        "Days an enrolled person is kept after their last renewal (a new consent note or photo); then the "
        "janitor erases them with their photos and sightings. Null (default): until deleted."))

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {"store_unknown": instance.store_unknown, "sightings_days": instance.sightings_days,
                "enrolment_days": instance.enrolment_days}
