"""Face recognition's data: the people an organization enrolled (with consent), their photos and
embeddings (both encrypted at rest), and the sightings of them the cameras published."""

from __future__ import annotations

from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models.functions import Now

from vigia.common.ids import uuid7
from vigia.control.core.models import OrgScopedModel


class EnrolledPerson(OrgScopedModel):
    """Someone an organization's cameras recognise: enrolled by an admin with a note of the consent
    (or other legal basis, LGPD art. 11) it rests on. Deleting them erases their photos, embeddings
    and sightings."""

    name = models.CharField(max_length=200)
    consent_note = models.TextField(max_length=2000, help_text="The consent (or other legal basis) the "
                                    "enrolment rests on: who agreed, when, to what.")

    class Meta:
        db_table = "face_people"
        ordering = ("-id",)


class FacePhoto(models.Model):
    """One enrolment photo of a person: the photo (JPEG, at most 1024 px) and its face's 128-d
    embedding, each a Fernet token (VIGIA_FERNET_KEYS); vision reads the embeddings."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(EnrolledPerson, on_delete=models.CASCADE, related_name="photos")
    photo_encrypted = models.TextField(help_text="Fernet token of the photo's JPEG bytes (base64).")
    embedding_encrypted = models.TextField(help_text="Fernet token of the face's embedding (128 float32, base64).")
    face_box = models.JSONField(help_text="{x1, y1, x2, y2}: the face in the stored photo's pixels.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "face_photos"
        ordering = ("id",)
        indexes = [models.Index(fields=("org", "created_at"), name="face_photos_org_created")]


class FaceSighting(models.Model):
    """A face a camera saw (a ``face`` detection.created, same id), of an enrolled person or, where
    the organization keeps unknown faces, of nobody enrolled; the face search reads these. Kept
    the organization's ``faces.sightings_days``."""

    id = models.UUIDField(primary_key=True, help_text="The detection's id.")
    org = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+",
                            db_constraint=False)
    person_id = models.UUIDField(null=True, blank=True, help_text="The enrolled person; null: unknown.")
    camera_id = models.UUIDField()
    time = models.DateTimeField(help_text="When the frame was captured.")
    distance = models.FloatField(null=True, blank=True, help_text="Embedding distance to the nearest enrolled face.")
    box = models.JSONField(help_text="{x1, y1, x2, y2} in frame pixels.")
    track = models.CharField(max_length=64, null=True, blank=True)
    snapshot_key = models.CharField(max_length=512, null=True, blank=True)
    crop_key = models.CharField(max_length=512, null=True, blank=True)
    received_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "face_sightings"
        ordering = ("-time", "-id")
        indexes = [
            models.Index(fields=("org", "person_id", "-time"), name="face_sightings_org_person"),
            models.Index(fields=("org", "camera_id", "-time"), name="face_sightings_org_camera"),
            BrinIndex(fields=("time",), name="face_sightings_time_brin"),
        ]
