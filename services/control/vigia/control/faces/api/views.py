"""Face recognition endpoints (admins; the face search also for operators), every one audited:

* ``/api/v1/faces/people``: enrol a person (name, consent note), list, read, rename or renew the
  consent (PATCH), delete (erases their photos, embeddings and sightings);
* ``/api/v1/faces/people/{id}/photos``: add a photo (multipart ``image``): its one face's embedding
  is computed here, with the model vision uses; a photo with no face or several is a 400 on ``image``;
* ``/api/v1/faces/people/{id}/export``: everything held about the person, photos included;
* ``/api/v1/faces/matches``: the face search over the sightings the cameras published;
* ``/api/v1/faces/settings``: the organization's policy (unknown faces, sightings' and enrolments'
  retention).

Vision reads the enrolled embeddings from the database (``face_photos``) every few seconds, so a
change reaches the cameras without a message (docs/flows.md, "Faces").
"""

from __future__ import annotations

import base64
from typing import Any

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from vigia.common.faces import faces_policy
from vigia.control.audit.choices import AuditAction
from vigia.control.audit.events import note as audit_note
from vigia.control.core.api.views import OrgScopedMixin
from vigia.control.core.choices import Role
from vigia.control.core.pagination import IdCursorPagination
from vigia.control.core.permissions import caller_org_id
from vigia.control.faces.api import serializers as s
from vigia.control.faces.enrolment import add_photo, photo_jpeg
from vigia.control.faces.filtersets import FaceSightingFilterSet
from vigia.control.faces.models import EnrolledPerson, FacePhoto, FaceSighting
from vigia.control.tenancy.models import Organization

EXPORT_SIGHTINGS = 10_000
ADMIN_ONLY = {"read": Role.ADMIN, "write": Role.ADMIN}


class EnrolledPersonViewSet(OrgScopedMixin, mixins.CreateModelMixin, mixins.ListModelMixin,
                            mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Enrolled people of the caller's organization (admins only). PATCH renames a person or renews
    their consent note (which restarts the organization's ``enrolment_days``)."""

    queryset = EnrolledPerson.objects.prefetch_related("photos")
    serializer_class = s.EnrolledPersonSerializer
    required_roles = ADMIN_ONLY

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        super().perform_create(serializer)
        audit_note(self.request, AuditAction.FACE_ENROLLED,
                   target=("enrolledperson", str(serializer.instance.pk)))  # type: ignore[union-attr]

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Rename the person or renew their consent note (no PUT: photos are added, not replaced)."""
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(serializer.data)

    def perform_destroy(self, instance: EnrolledPerson) -> None:
        # The photos and embeddings go with the row (cascade); the sightings name the person by id.
        FaceSighting.objects.filter(org_id=instance.org_id, person_id=instance.pk).delete()
        audit_note(self.request, AuditAction.FACE_ERASED, target=("enrolledperson", str(instance.pk)))
        instance.delete()

    @extend_schema(request={"multipart/form-data": s.PhotoUploadSerializer}, responses={201: s.FacePhotoSerializer})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def photos(self, request: Request, pk: str | None = None) -> Response:
        """Add a photo of the person (multipart/form-data, field ``image``): the face in it is found
        and embedded here; the photo (at most 1024 px) and the embedding are stored encrypted. 400
        on ``image`` when it is no image, shows no face or several."""
        person = self.get_object()
        body = s.PhotoUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        photo = add_photo(person, body.validated_data["image"].read())
        EnrolledPerson.objects.filter(pk=person.pk).update(updated_at=photo.created_at)
        audit_note(request, AuditAction.FACE_ENROLLED, target=("enrolledperson", str(person.pk)))
        return Response(s.FacePhotoSerializer(photo).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.PersonExportSerializer})
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: str | None = None) -> Response:
        """Everything held about the person: the enrolment, each photo (JPEG, base64) and their
        sightings, newest first (at most 10 000). Audited."""
        person = self.get_object()
        audit_note(request, AuditAction.FACES_EXPORTED, target=("enrolledperson", str(person.pk)))
        photos = [{**s.FacePhotoSerializer(photo).data,
                   "jpeg_base64": base64.b64encode(photo_jpeg(photo)).decode("ascii")}
                  for photo in FacePhoto.objects.filter(person=person)]
        sightings = _named(FaceSighting.objects.filter(org_id=person.org_id, person_id=person.pk))[:EXPORT_SIGHTINGS]
        return Response({"person": s.EnrolledPersonSerializer(person).data, "photos": photos,
                         "sightings": s.FaceSightingSerializer(sightings, many=True,
                                                               context={"request": request}).data})


def _named(sightings: QuerySet[FaceSighting]) -> QuerySet[FaceSighting]:
    return sightings.annotate(person_name=Subquery(
        EnrolledPerson.objects.filter(pk=OuterRef("person_id"), org_id=OuterRef("org_id")).values("name")[:1]))


class SightingCursorPagination(IdCursorPagination):
    """Newest first by the frame's capture time (ties broken by id)."""

    ordering = ("-time", "-id")


class FaceSightingViewSet(OrgScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The face search: sightings of the caller's organization, newest first, filtered by person,
    camera and time (operators and admins). Every search is audited with its query."""

    queryset = FaceSighting.objects.all()
    serializer_class = s.FaceSightingSerializer
    filterset_class = FaceSightingFilterSet
    pagination_class = SightingCursorPagination
    required_roles = {"read": Role.OPERATOR}

    def get_queryset(self) -> QuerySet[FaceSighting]:
        return _named(super().get_queryset())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        person = request.query_params.get("person")
        # Noted first: a refused search (a bad filter) is recorded too, with its query.
        audit_note(request, AuditAction.FACES_SEARCHED, target=("enrolledperson", person[:64]) if person else None)
        return super().list(request, *args, **kwargs)


class FacesSettingsView(APIView):
    """The organization's face recognition policy (admins): whether faces matching nobody enrolled
    are published and kept, and how long sightings are kept."""

    required_roles = {"GET": Role.ADMIN, "PATCH": Role.ADMIN}
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(responses={200: s.FacesSettingsSerializer})
    def get(self, request: Request) -> Response:
        org = Organization.objects.get(pk=caller_org_id(request))
        return Response(s.FacesSettingsSerializer(faces_policy(org.settings)).data)

    @extend_schema(request=s.FacesSettingsSerializer, responses={200: s.FacesSettingsSerializer})
    def patch(self, request: Request) -> Response:
        body = s.FacesSettingsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            org = Organization.objects.select_for_update().get(pk=caller_org_id(request))
            current = org.settings if isinstance(org.settings, dict) else {}
            policy = faces_policy(current)
            merged = {"store_unknown": policy.store_unknown, "sightings_days": policy.sightings_days,
                      "enrolment_days": policy.enrolment_days, **body.validated_data}
            org.settings = {**current, "faces": merged}
            org.save(update_fields=["settings"])
        return Response(s.FacesSettingsSerializer(faces_policy(org.settings)).data)
