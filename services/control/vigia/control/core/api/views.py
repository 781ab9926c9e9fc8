"""Shared ViewSet bases: tenancy scoping, roles and pagination live here, once.

A concrete ViewSet sets ``queryset``, ``serializer_class`` and maybe ``filterset_class`` and
``required_roles``; it never filters by org itself. Another org's object is simply not in the
queryset, so it answers 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import mixins, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.serializers import BaseSerializer

from vigia.control.core.permissions import PLATFORM_OPERATOR_REFUSED

UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class OrgScopedMixin:
    """Scope every query to the caller's organization and stamp it on every new row. A caller of
    no organization (a platform operator, whom :class:`RolePermission` already refuses) sees an
    empty queryset and can create nothing: the scoping never depends on the permission alone."""

    request: Any
    org_field = "org"
    # Only well-formed ids reach the database; anything else is a plain 404 route miss.
    lookup_value_regex = UUID_PATTERN

    def get_queryset(self) -> QuerySet[Any]:
        queryset = super().get_queryset()  # type: ignore[misc]
        user = self.request.user
        if user is None or not getattr(user, "is_authenticated", False) or user.org_id is None:
            return queryset.none()
        return queryset.filter(**{self.org_field: user.org_id})

    def perform_create(self, serializer: BaseSerializer[Any]) -> None:
        if self.request.user.org_id is None:
            raise PermissionDenied(PLATFORM_OPERATOR_REFUSED)
        serializer.save(**{self.org_field + "_id": self.request.user.org_id})


class OrgScopedViewSet(OrgScopedMixin, viewsets.ModelViewSet):
    """CRUD of an org-owned resource. PUT is full update, PATCH partial."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]


class OrgScopedReadOnlyViewSet(OrgScopedMixin, viewsets.ReadOnlyModelViewSet):
    """List and retrieve of an org-owned resource (time series written by the data plane)."""


class OrgScopedCreateReadViewSet(OrgScopedMixin, mixins.CreateModelMixin,
                                 viewsets.ReadOnlyModelViewSet):
    pass


def org_of(instance: Model) -> Any:
    return getattr(instance, "org_id", None)
