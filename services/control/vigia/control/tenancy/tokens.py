"""Access tokens (RS256 JWT, short-lived), refresh tokens (opaque, rotating, in families) and
invitation tokens (opaque, one-time).

Opaque tokens are 256 random bits; only their SHA-256 is stored, so a database leak yields nothing
usable.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from vigia.common.ids import uuid7
from vigia.control.tenancy import keys
from vigia.control.tenancy.models import Invitation, RefreshToken, User

INVITATION_TTL = timedelta(days=7)
REQUIRED_CLAIMS = ["iss", "aud", "sub", "org", "role", "jti", "iat", "exp"]
#: The ``role`` claim of a platform operator's token, whose ``org`` claim is null: no gateway or
#: service that serves an organization's data accepts either (see :func:`issue_access_token`).
PLATFORM_OPERATOR_ROLE = "platform_operator"
CLOCK_SKEW_SECONDS = 30
MAX_TOKEN_CHARS = 8192  # ours are ~700; refuse megabyte "tokens" before parsing them
VERIFIED_CACHE_SIZE = 4096  # access tokens whose signature this process has already checked


ORGANIZATION_DISABLED = "your organization is disabled; ask the platform's operators to enable it"


class TokenError(Exception):
    """A token was refused. ``code`` goes into the error body (``token_expired``...)."""

    def __init__(self, message: str, code: str = "invalid_token") -> None:
        super().__init__(message)
        self.code = code


class RefreshReuseDetected(TokenError):
    """A spent refresh token came back: its family has been revoked."""


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int
    refresh_expires_in: int

    def as_response(self) -> dict[str, Any]:
        return {"access": self.access, "refresh": self.refresh, "token_type": "Bearer",
                "expires_in": self.expires_in, "refresh_expires_in": self.refresh_expires_in}


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


# -- access tokens ---------------------------------------------------------------------------

def issue_access_token(user: User) -> tuple[str, int]:
    """Sign a new access token for ``user`` with the active key; returns it and its lifetime (s).

    A member's token carries ``org`` (their organization's id) and ``role`` (admin, operator or
    viewer). A platform operator's carries ``"org": null`` and ``"role": "platform_operator"``, so
    a verifier of organization tokens (vigia.common.auth, live) refuses it however it checks."""
    cfg = settings.VIGIA
    key = keys.active_signing_key()
    now = int(timezone.now().timestamp())
    org, role = ((None, PLATFORM_OPERATOR_ROLE) if user.is_platform_operator else (str(user.org_id), user.role))
    claims = {
        "iss": cfg.jwt_issuer, "aud": cfg.jwt_audience, "sub": str(user.pk), "org": org,
        "role": role, "email": user.email, "jti": uuid7().hex, "iat": now,
        "exp": now + cfg.access_token_ttl,
    }
    token = jwt.encode(claims, keys.private_key_of(key), algorithm=keys.ALGORITHM,
                       headers={"kid": key.kid, "typ": "JWT"})
    return token, cfg.access_token_ttl


# token -> (kid, claims) of tokens that passed full verification. A hit skips only the parsing
# and signature check of the very same bytes; expiry and the key's window are checked every time.
_verified: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = {}


def decode_access_token(token: str) -> dict[str, Any]:
    """Verify an access token: RS256 only, known and still-verifying ``kid``, signature, ``exp``,
    ``iss``, ``aud`` and every required claim. Returns the claims; raises :class:`TokenError`.

    The first verification of a token is remembered per process (bounded), so a client reusing
    its token costs a dictionary lookup, an ``exp`` comparison and a key-window check."""
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError("malformed token")
    cfg = settings.VIGIA
    cache_key = (token, cfg.jwt_audience, cfg.jwt_issuer)
    hit = _verified.get(cache_key)
    if hit is not None:
        kid, claims = hit
        if claims["exp"] <= time.time() - CLOCK_SKEW_SECONDS:
            _verified.pop(cache_key, None)
            raise TokenError("token expired", code="token_expired")
        if keys.verifying_public_key(kid) is None:
            _verified.pop(cache_key, None)
            raise TokenError("unknown signing key", code="unknown_key")
        return dict(claims)
    claims = _verify_access_token(token)
    if len(_verified) >= VERIFIED_CACHE_SIZE:
        _verified.clear()  # simple bound: at worst the next requests verify their token again
    _verified[cache_key] = (claims.pop("_kid"), claims)
    return dict(claims)


def _verify_access_token(token: str) -> dict[str, Any]:
    """Full verification of :func:`decode_access_token`; the claims carry the ``_kid`` used."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError("malformed token") from exc
    if header.get("alg") != keys.ALGORITHM:
        # Refuse alg=none and HS256 (HMAC keyed with our public key) before touching any key.
        raise TokenError(f"algorithm {header.get('alg')!r} is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("token has no kid")
    public_key = keys.verifying_public_key(kid)
    if public_key is None:
        raise TokenError("unknown signing key", code="unknown_key")
    cfg = settings.VIGIA
    try:
        claims: dict[str, Any] = jwt.decode(
            token, public_key, algorithms=[keys.ALGORITHM], audience=cfg.jwt_audience,
            issuer=cfg.jwt_issuer, leeway=CLOCK_SKEW_SECONDS,
            # PyJWT counts a null claim as missing; a platform operator's org is null (checked below).
            options={"require": [c for c in REQUIRED_CLAIMS if c != "org"], "verify_signature": True})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token expired", code="token_expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise TokenError("token audience is wrong") from exc
    except jwt.InvalidIssuerError as exc:
        raise TokenError("token issuer is wrong") from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from exc
    if "org" not in claims or (claims["org"] is None) != (claims["role"] == PLATFORM_OPERATOR_ROLE):
        raise TokenError("invalid token: the org claim is missing or does not fit the role")
    return {**claims, "_kid": kid}


# -- refresh tokens --------------------------------------------------------------------------

def _issue_refresh(user: User, family: uuid.UUID, parent: RefreshToken | None) -> str:
    raw = new_opaque_token()
    RefreshToken.objects.create(
        user=user, family=family, parent=parent, token_hash=hash_token(raw),
        expires_at=timezone.now() + timedelta(seconds=settings.VIGIA.refresh_token_ttl))
    return raw


def issue_token_pair(user: User, family: uuid.UUID | None = None,
                     parent: RefreshToken | None = None) -> TokenPair:
    """A fresh access token and a refresh token, in a new family unless ``family`` is given."""
    access, expires_in = issue_access_token(user)
    refresh = _issue_refresh(user, family or uuid7(), parent)
    return TokenPair(access, refresh, expires_in, settings.VIGIA.refresh_token_ttl)


def revoke_family(family: uuid.UUID) -> int:
    """Revoke every live token of ``family``; returns how many were revoked."""
    live = RefreshToken.objects.filter(family=family, revoked_at__isnull=True)
    return live.update(revoked_at=timezone.now())


def revoke_user_tokens(user: User) -> int:
    """Revoke every live refresh token of ``user`` (deactivation, role loss)."""
    return RefreshToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def rotate_refresh_token(raw: str) -> tuple[User, TokenPair]:
    """Spend ``raw`` and hand out its successor in the same family.

    A spent token presented again revokes the whole family (committed even though the caller
    answers 401) and raises :class:`RefreshReuseDetected`. Unknown, revoked or expired tokens and
    tokens of inactive users raise :class:`TokenError`.
    """
    with transaction.atomic():
        token = (RefreshToken.objects.select_for_update(of=("self", "user")).select_related("user", "user__org")
                 .filter(token_hash=hash_token(raw)).first())
        if token is None:
            raise TokenError("unknown refresh token")
        if token.revoked_at is not None:
            raise TokenError("refresh token revoked", code="token_revoked")
        if token.used_at is not None:
            revoke_family(token.family)
            reuse = RefreshReuseDetected("refresh token reused; every session of this login is revoked",
                                         code="token_reused")
        elif token.expires_at <= timezone.now():
            raise TokenError("refresh token expired", code="token_expired")
        elif not token.user.is_active:
            raise TokenError("user is inactive", code="user_inactive")
        elif token.user.org is not None and not token.user.org.is_active:
            raise TokenError(ORGANIZATION_DISABLED, code="organization_disabled")
        else:
            token.used_at = timezone.now()
            token.save(update_fields=["used_at"])
            return token.user, issue_token_pair(token.user, family=token.family, parent=token)
    raise reuse  # outside the atomic block: the family revocation is committed first


def revoke_organization_tokens(org_id: uuid.UUID) -> int:
    """Revoke every live refresh token of the organization's users (it was disabled)."""
    return (RefreshToken.objects.filter(user__org_id=org_id, revoked_at__isnull=True)
            .update(revoked_at=timezone.now()))


def revoke_refresh_token_family(raw: str) -> bool:
    """Log out: revoke the family of ``raw``. Returns whether the token was known."""
    token = RefreshToken.objects.filter(token_hash=hash_token(raw)).first()
    if token is None:
        return False
    revoke_family(token.family)
    return True


# -- invitations -----------------------------------------------------------------------------

def create_invitation(user: User, invited_by: User | None) -> str:
    """Attach a one-time invitation to ``user`` (replacing any previous one); returns the token."""
    raw = new_opaque_token()
    Invitation.objects.update_or_create(
        user=user, defaults={"invited_by": invited_by, "token_hash": hash_token(raw),
                             "expires_at": timezone.now() + INVITATION_TTL, "accepted_at": None})
    return raw


def pending_invitation(raw: str) -> Invitation | None:
    """The unexpired, unaccepted invitation ``raw`` opens, locked for update, or ``None``."""
    return (Invitation.objects.select_for_update(of=("self", "user")).select_related("user", "user__org")
            .filter(token_hash=hash_token(raw), accepted_at__isnull=True, expires_at__gt=timezone.now(),
                    user__is_active=True, user__org__is_active=True).first())
