"""DRF authentication by RS256 access token (``Authorization: Bearer <jwt>``).

A missing header leaves the request anonymous (the permission then answers 401); a header that is
present but wrong always answers 401 with ``WWW-Authenticate: Bearer``. The user is re-read from
the database on every request, so deactivation and org moves take effect before tokens expire;
the role applied is the current one in the database, not the one in the token: one primary-key
query per request, which also reads whether the user's organization is still enabled (a disabled
organization's access tokens stop working at once, not when they expire). Signature keys and
already verified tokens are cached per process (see
:func:`tokens.decode_access_token`).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection
from django.db.models import DEFERRED
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from vigia.control.tenancy.models import User
from vigia.control.tenancy.tokens import (
    ORGANIZATION_DISABLED,
    PLATFORM_OPERATOR_ROLE,
    TokenError,
    decode_access_token,
)

# One primary-key lookup of what requests read of the caller, written out (and read with a plain
# cursor, not RawQuerySet) because the ORM's machinery cost more than the query itself; the password
# hash and the org load lazily in the few views that use them.
_USER_SQL = ("SELECT u.id, u.org_id, u.email, u.name, u.role, u.is_active, u.is_platform_operator, u.created_at, "
             "u.last_login, o.is_active AS org_is_active FROM users u LEFT JOIN organizations o ON o.id = u.org_id "
             "WHERE u.id = %s")


class JWTAuthentication(BaseAuthentication):
    """Authenticate with an access token issued by :func:`tokens.issue_access_token`."""

    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[User, dict[str, Any]] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'",
                                                  code="invalid_token")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("token is not ASCII", code="invalid_token") from exc
        try:
            claims = decode_access_token(token)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc), code=exc.code) from exc
        user_id = _uuid_or_none(claims["sub"])
        user, org_is_active = _load_user(user_id) if user_id is not None else (None, False)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("user is unknown or inactive", code="user_inactive")
        if str(user.org_id) != str(claims["org"]) or user.is_platform_operator != (
                claims["role"] == PLATFORM_OPERATOR_ROLE):
            raise exceptions.AuthenticationFailed("user no longer belongs to the token's organization",
                                                  code="invalid_token")
        if user.org_id is not None and not org_is_active:
            raise exceptions.AuthenticationFailed(ORGANIZATION_DISABLED, code="organization_disabled")
        return user, claims

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="vigia"'


def _load_user(user_id: str) -> tuple[User | None, bool]:
    """The user of :data:`_USER_SQL` (other fields deferred) and whether its organization is enabled."""
    with connection.cursor() as cursor:
        cursor.execute(_USER_SQL, [user_id])
        row = cursor.fetchone()
        names = [column.name for column in cursor.description]
    if row is None:
        return None, False
    values = dict(zip(names, row, strict=True))
    user = User.from_db(connection.alias, list(values),
                        [values.get(field.attname, DEFERRED) for field in User._meta.concrete_fields])
    return user, bool(values["org_is_active"])


def _uuid_or_none(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


class JWTAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents :class:`JWTAuthentication` as an HTTP bearer JWT scheme in the OpenAPI schema."""

    target_class = "vigia.control.tenancy.authentication.JWTAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
