"""Role-based access, declared once per view.

Defaults: safe methods need ``viewer``, everything else ``operator``. A view narrows it with
``required_roles = {"create": "admin", ...}`` keyed by DRF action (or HTTP method for APIViews).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.exceptions import NotAuthenticated
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


class RolePermission(BasePermission):
    message = "your role does not allow this action"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
            return False
        return role_at_least(user.role, required_role(view, request))
