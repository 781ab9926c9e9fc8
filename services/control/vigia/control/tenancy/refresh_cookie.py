"""The refresh token in an httpOnly cookie, for the browser console.

A client opts in per request with the header ``X-Vigia-Session: cookie``. Login, accept-invite and
refresh then put the refresh token in an httpOnly, Secure, SameSite=Strict cookie scoped to
``/api/v1/auth`` (refresh and logout read it there) and leave it out of the JSON body, so page
scripts never see it; refresh and logout take it from the cookie when the body names none.
Without the header nothing changes: JSON clients send and receive the token in the body.

The header is also the CSRF guard: a cross-site form cannot set it, and a cross-site script must
pass a CORS preflight that control never grants; SameSite=Strict keeps the cookie off cross-site
requests in the first place.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

HEADER = "X-Vigia-Session"
COOKIE_MODE = "cookie"
COOKIE_NAME = "vigia_refresh"
#: Refresh and logout live under it; no other route ever receives the cookie.
COOKIE_PATH = "/api/v1/auth"


def wants_cookie(request: Request) -> bool:
    """Whether the caller asked for (and may spend) the refresh token as a cookie."""
    return request.headers.get(HEADER, "").strip().lower() == COOKIE_MODE


def token_from_cookie(request: Request) -> str | None:
    """The refresh token of the cookie, only for callers that sent the opt-in header."""
    if not wants_cookie(request):
        return None
    return request.COOKIES.get(COOKIE_NAME) or None


def hand_over(response: Response, refresh: str) -> Response:
    """Move ``refresh`` from the JSON body into the cookie."""
    if isinstance(response.data, dict):
        response.data.pop("refresh", None)
    response.set_cookie(COOKIE_NAME, refresh, max_age=settings.VIGIA.refresh_token_ttl, path=COOKIE_PATH,
                        secure=True, httponly=True, samesite="Strict")
    return response


def forget(response: Response) -> Response:
    """Tell the browser to drop the cookie (logout, or a refresh token that no longer works)."""
    response.set_cookie(COOKIE_NAME, "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT", path=COOKIE_PATH,
                        secure=True, httponly=True, samesite="Strict")
    return response
