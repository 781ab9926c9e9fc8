"""Role-based access, declared once per view.

Defaults: safe methods need ``viewer``, everything else ``operator``. A view narrows it with
``required_roles = {"create": "admin", ...}`` keyed by DRF action (or HTTP method for APIViews).

A platform operator holds no organization role: :class:`RolePermission` (every view's default)
refuses them (403), unless the view says ``platform_operators_allowed = True`` (about the caller
only, such as ``/auth/me``). The platform's own views use :class:`PlatformOperatorPermission`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from vigia.control.core.choices import Role, role_at_least

if TYPE_CHECKING:
    from vigia.control.tenancy.models import User

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def required_role(view: Any, request: Request) -> str:
    mapping: dict[str, str] = getattr(view, "required_roles", {})
    action = getattr(view, "action", None)
    if action and action in mapping:
        return mapping[action]
    if request.method in mapping:
        return mapping[request.method]
    if request.method in SAFE_METHODS:
        return mapping.get("read", Role.VIEWER)
    return mapping.get("write", Role.OPERATOR)


def signed_in_user(request: Request) -> User:
    """The authenticated caller of a view. Raises ``NotAuthenticated`` (401) when there is none;
    behind ``RolePermission`` that never happens, so this mostly narrows the type."""
    user = request.user
    # UNAUTHENTICATED_USER is None in settings, so an anonymous caller is None, not AnonymousUser.
    if user is None or not user.is_authenticated:
        raise NotAuthenticated()
    return user


PLATFORM_OPERATOR_REFUSED = "a platform operator sees no organization's data"


def caller_org_id(request: Request) -> uuid.UUID:
    """The organization of the authenticated caller. A platform operator has none: 403 (behind
    ``RolePermission`` that never happens, so this mostly narrows the type)."""
    org_id = signed_in_user(request).org_id
    if org_id is None:
        raise PermissionDenied(PLATFORM_OPERATOR_REFUSED)
    return org_id


class RolePermission(BasePermission):
    message = "your role does not allow this action"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return False
        if user.is_platform_operator or user.org_id is None:
            if getattr(view, "platform_operators_allowed", False):
                return True
            self.message = PLATFORM_OPERATOR_REFUSED
            return False
        return role_at_least(user.role, required_role(view, request))


class PlatformOperatorPermission(BasePermission):
    """Only platform operators: the platform's own endpoints (organizations). 403 for everyone
    else, admins of any organization included."""

    message = "only a platform operator may do this"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active
                    and user.is_platform_operator)
