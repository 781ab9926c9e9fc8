"""The life of an organization, run by the platform's operators: creation with a first admin invited,
disabling and enabling. The API (:mod:`vigia.control.tenancy.api.organizations`) and the
``organizations`` management command both call these, so they behave alike.

Disabling an organization refuses, at once: its people's sign-ins (403 ``organization_disabled``
after a correct password), refresh tokens (401 ``organization_disabled``; every live one is also
revoked, so enabling the organization again does not revive old sessions), its access tokens at
the control API (401), its pending invitations, and its devices' tokens at the gateways (within
their token cache: VIGIA_DEVICE_CACHE_S, VIGIA_SENSORS_DEVICE_CACHE_S). An access token already
handed to the live feed keeps it open until it expires (15 minutes at most): live checks
signatures, not the database.
Nothing is deleted; enabling restores everything but the revoked sessions.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions, status

from vigia.control.core.choices import Role
from vigia.control.tenancy import tokens
from vigia.control.tenancy.models import Organization, User


class OrganizationDisabled(exceptions.APIException):
    """A member of a disabled organization signed in with the right password (403)."""

    status_code = status.HTTP_403_FORBIDDEN
    default_code = "organization_disabled"
    default_detail = tokens.ORGANIZATION_DISABLED


def refuse_disabled_organization(user: User) -> None:
    """Raise :class:`OrganizationDisabled` if ``user`` belongs to a disabled organization."""
    if user.org is not None and not user.org.is_active:
        raise OrganizationDisabled()


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """Every IANA time zone name this installation knows (system zoneinfo or the tzdata package)."""
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone (``America/Sao_Paulo``, ``UTC``); not a path or an offset."""
    return name in time_zones()


@dataclass(frozen=True)
class NewOrganization:
    """A created organization, its first admin and the one-time token of the admin's invitation."""

    organization: Organization
    admin: User
    invitation_token: str


def create_organization(*, name: str, slug: str, time_zone: str, admin_email: str, admin_name: str = "",
                        invited_by: User | None = None) -> NewOrganization:
    """Create an organization and invite its first admin (no password until they accept).

    The arguments must already be valid (the API's and the command's serializer checks them); a lost
    race on the slug or the e-mail raises ``IntegrityError`` and nothing is written."""
    with transaction.atomic():
        org = Organization.objects.create(name=name, slug=slug, time_zone=time_zone)
        admin = User.objects.create_user(admin_email, org=org, password=None, role=Role.ADMIN, name=admin_name)
        token = tokens.create_invitation(admin, invited_by=invited_by)
    return NewOrganization(org, admin, token)


def disable_organization(org: Organization) -> Organization:
    """Disable ``org`` (idempotent) and revoke its people's refresh tokens."""
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=org.pk)
        if org.is_active:
            org.is_active, org.disabled_at = False, timezone.now()
            org.save(update_fields=["is_active", "disabled_at"])
        tokens.revoke_organization_tokens(org.pk)
    return org


def enable_organization(org: Organization) -> Organization:
    """Enable ``org`` again (idempotent): its people sign in anew, its devices push again."""
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=org.pk)
        if not org.is_active:
            org.is_active, org.disabled_at = True, None
            org.save(update_fields=["is_active", "disabled_at"])
    return org
