"""DRF authentication by RS256 access token (Authorization: Bearer ...). Completed by the auth work."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request


class JWTAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        return None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="vigia"'
