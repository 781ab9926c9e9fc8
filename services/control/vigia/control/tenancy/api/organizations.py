"""Organizations, for the platform's operators, and an organization's settings, for its admins.

* ``/api/v1/organizations/``: platform operators list, create (with a first admin invited),
  read, ``disable`` and ``enable`` organizations. Everyone else gets 403, admins included.
* ``/api/v1/organization/settings``: the caller's own organization's time zone, correlation
  overrides (weights, severity thresholds, folding of repeats), escalation delay, retention of
  passages and snapshots (LGPD, :mod:`vigia.common.privacy`) and the console's idle session
  time-out; every member
  reads them, admins change them (PATCH). A platform operator gets 403.

Every POST and PATCH here is an audit row (:mod:`vigia.control.audit.middleware`).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from vigia.control.core.api.views import UUID_PATTERN
from vigia.control.core.choices import Role
from vigia.control.core.permissions import (
    PLATFORM_OPERATOR_REFUSED,
    PlatformOperatorPermission,
    signed_in_user,
)
from vigia.control.tenancy.api.organization_serializers import (
    RETENTION_VALUES,
    SEVERITY_DEFAULTS,
    SEVERITY_SCORES,
    SIGNAL_KINDS,
    OrganizationCreatedSerializer,
    OrganizationCreateSerializer,
    OrganizationSerializer,
    OrganizationSettingsSerializer,
)
from vigia.control.tenancy.api.serializers import UserSerializer
from vigia.control.tenancy.models import Organization
from vigia.control.tenancy.organizations import create_organization, disable_organization, enable_organization

CORRELATION_VALUES = ("window_ms", "threshold", "person_min_confidence", "fold_window_s", "false_alarm_threshold")


class OrganizationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every organization of the platform; platform operators only. Creating one invites its first
    admin: the answer carries the invitation's one-time token. Disabling one stops its people
    signing in and its tokens working (see :mod:`vigia.control.tenancy.organizations`)."""

    queryset = Organization.objects.all()
    serializer_class = OrganizationSerializer
    permission_classes = [PlatformOperatorPermission]
    filterset_fields = ("is_active", "slug")
    lookup_value_regex = UUID_PATTERN

    @extend_schema(request=OrganizationCreateSerializer, responses={201: OrganizationCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = OrganizationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        created = create_organization(**body.validated_data, invited_by=signed_in_user(request))
        answer = {**OrganizationSerializer(created.organization).data, "admin": UserSerializer(created.admin).data,
                  "invitation_token": created.invitation_token}
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="organizations_disable", request=None, responses={200: OrganizationSerializer})
    @action(detail=True, methods=["post"])
    def disable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Disable the organization (idempotent): sign-ins, refresh tokens and device tokens refused."""
        return Response(OrganizationSerializer(disable_organization(self.get_object())).data)

    @extend_schema(operation_id="organizations_enable", request=None, responses={200: OrganizationSerializer})
    @action(detail=True, methods=["post"])
    def enable(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Enable the organization again (idempotent); revoked sessions stay revoked."""
        return Response(OrganizationSerializer(enable_organization(self.get_object())).data)


class OrganizationSettingsView(APIView):
    """The caller's organization's settings: members read them, admins change them.

    PATCH changes only what the body names, in one transaction with the organization row locked
    (two admins' changes never lose one another); a null correlation value removes that override.
    """

    required_roles = {"GET": Role.VIEWER, "PATCH": Role.ADMIN}
    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(responses={200: OrganizationSettingsSerializer})
    def get(self, request: Request) -> Response:
        return Response(OrganizationSettingsSerializer(Organization.objects.get(pk=_callers_org_id(request))).data)

    @extend_schema(request=OrganizationSettingsSerializer, responses={200: OrganizationSettingsSerializer})
    def patch(self, request: Request) -> Response:
        body = OrganizationSettingsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changes = body.validated_data
        with transaction.atomic():
            org = Organization.objects.select_for_update().get(pk=_callers_org_id(request))
            changed = []
            if "time_zone" in changes:
                org.time_zone = changes["time_zone"]
                changed.append("time_zone")
            current = org.settings if isinstance(org.settings, dict) else {}
            if "correlation" in changes:
                current = {**current, "correlation": _merged(current.get("correlation"), changes["correlation"])}
                _check_severity_order(current["correlation"])
            if "escalation_delay_s" in changes:
                current = {key: value for key, value in current.items() if key != "escalation_delay_s"}
                if changes["escalation_delay_s"] is not None:
                    current["escalation_delay_s"] = changes["escalation_delay_s"]
            if "retention" in changes:
                old = current.get("retention")
                old = old if isinstance(old, dict) else {}
                kept = {key: old[key] for key in RETENTION_VALUES if old.get(key) is not None}
                _apply(kept, changes["retention"])
                current = {key: value for key, value in current.items() if key != "retention"}
                if kept:
                    current["retention"] = kept
            if "session_idle_minutes" in changes:
                current = {key: value for key, value in current.items() if key != "session_idle_minutes"}
                if changes["session_idle_minutes"] is not None:
                    current["session_idle_minutes"] = changes["session_idle_minutes"]
            if changes.keys() & {"correlation", "escalation_delay_s", "retention", "session_idle_minutes"}:
                org.settings = current
                changed.append("settings")
            if changed:
                org.save(update_fields=changed)
        return Response(OrganizationSettingsSerializer(org).data)


def _callers_org_id(request: Request) -> uuid.UUID:
    org_id = signed_in_user(request).org_id
    if org_id is None:  # a platform operator: RolePermission refused them already
        raise PermissionDenied(PLATFORM_OPERATOR_REFUSED)
    return org_id


def _merged(current: Any, change: dict[str, Any]) -> dict[str, Any]:
    """The correlation overrides ``current`` with ``change`` applied (null removes an override);
    only the keys the correlator reads are kept, so an old typo in the JSON does not survive."""
    current = current if isinstance(current, dict) else {}
    merged = {key: current[key] for key in CORRELATION_VALUES if current.get(key) is not None}
    old_weights = current.get("weights") if isinstance(current.get("weights"), dict) else {}
    weights = {kind: old_weights[kind] for kind in SIGNAL_KINDS if old_weights.get(kind) is not None}
    _apply(merged, {key: change[key] for key in CORRELATION_VALUES if key in change})
    _apply(weights, change.get("weights", {}))
    if weights:
        merged["weights"] = weights
    old_grades = current.get("severity") if isinstance(current.get("severity"), dict) else {}
    grades = {name: old_grades[name] for name in SEVERITY_DEFAULTS if old_grades.get(name) is not None}
    _apply(grades, change.get("severity", {}))
    if grades:
        merged["severity"] = grades
    return merged


def _check_severity_order(correlation: dict[str, Any]) -> None:
    """medium ≤ high ≤ critical once the overrides are applied to the defaults (the correlator
    ignores an organization's overrides that break it)."""
    grades = {**SEVERITY_DEFAULTS, **correlation.get("severity", {})}
    medium, high, critical = (grades[name] for name in SEVERITY_SCORES)
    if not medium <= high <= critical:
        raise ValidationError({"correlation": {"severity": [
            f"scores must satisfy medium <= high <= critical once applied to the defaults "
            f"(here medium {medium}, high {high}, critical {critical})"]}})


def _apply(values: dict[str, Any], change: dict[str, Any]) -> None:
    for key, value in change.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
