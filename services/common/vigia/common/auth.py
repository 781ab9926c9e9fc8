"""Who is calling: operators' access tokens (RS256 JWT) and devices' tokens.

Operators: control signs short-lived RS256 access tokens and publishes its public keys at
``/.well-known/jwks.json``. :class:`JWKSClient` verifies them anywhere (gateways, live) without
calling control per request: keys are cached, an unknown ``kid`` triggers one refresh (so a key
rotation is picked up at once), and refreshes are rate-limited so forged ``kid``s cannot make us
hammer control. Every refusal is one :class:`InvalidToken`; failing to fetch keys at all is
:class:`KeySetUnavailable` (a 503, not a 401).

Devices: ``vdt_`` + 43 base64url characters (32 random bytes). Only the SHA-256 of a token is
stored; the lookup by hash lives in :mod:`vigia.common.db`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("iss", "aud", "sub", "org", "role", "jti", "iat", "exp")
ROLES = ("admin", "operator", "viewer")
#: The role claim of a platform operator's token (whose org claim is null): it manages organizations
#: at control and reaches no organization's data, so every verifier here refuses it.
PLATFORM_OPERATOR_ROLE = "platform_operator"
MIN_RSA_BITS = 2048
MAX_TOKEN_CHARS = 8192  # far above a real access token; bounds the work a junk header can cause

Role = Literal["admin", "operator", "viewer"]


class InvalidToken(Exception):
    """An access token was refused; ``reason`` says why (safe to return to the caller)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeySetUnavailable(Exception):
    """No verification keys could be obtained (control unreachable and nothing cached)."""


@dataclass(frozen=True)
class AccessClaims:
    """The verified identity carried by an operator's access token."""

    sub: uuid.UUID
    org: uuid.UUID
    role: Role
    exp: datetime
    jti: str
    kid: str
    iat: datetime
    email: str | None = None

    @property
    def user_id(self) -> uuid.UUID:
        return self.sub


class JWKSClient:
    """Verifies control's RS256 access tokens against its JWKS.

    * Keys are cached for ``cache_seconds``; after that the next verification refetches them.
    * A token whose ``kid`` is not cached triggers one refetch, but at most one fetch happens per
      ``min_refresh_seconds`` whatever the tokens say, so unknown ``kid``s cost nothing after it.
    * If a refetch fails, the keys already cached keep verifying (control may be restarting).

    ``clock`` (monotonic seconds) is a constructor argument so tests can move time; ``leeway`` is
    the clock skew allowed on ``exp``/``iat``. Thread-safe; :meth:`verify` fetches with httpx's
    sync client, :meth:`averify` with the async one.
    """

    def __init__(self, jwks_url: str, issuer: str, audience: str, cache_seconds: float = 300,
                 *, min_refresh_seconds: float = 30, leeway: float = 30, timeout: float = 5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.leeway = leeway
        self.timeout = timeout
        self._clock = clock
        self._keys: dict[str, RSAPublicKey] = {}
        self._loaded_at: float | None = None  # when keys were last fetched successfully
        self._attempted_at: float | None = None  # when a fetch was last started (rate limit)
        self._lock = threading.Lock()
        self.fetches = 0  # how many times the JWKS was requested (observability and tests)

    # -- verification --------------------------------------------------------------------------

    def verify(self, token: str) -> AccessClaims:
        """Verify ``token`` and return its claims; raises :class:`InvalidToken`."""
        kid = _checked_header(token)
        key = self._keys.get(kid) if self._fresh() else None
        if key is None and self._claim_fetch(kid):
            self._store(self._fetch_sync())
        return self._decode(token, kid, self._keys.get(kid))

    async def averify(self, token: str) -> AccessClaims:
        """:meth:`verify` for asyncio code: fetches with httpx's async client."""
        kid = _checked_header(token)
        key = self._keys.get(kid) if self._fresh() else None
        if key is None and self._claim_fetch(kid):
            self._store(await self._fetch_async())
        return self._decode(token, kid, self._keys.get(kid))

    def _decode(self, token: str, kid: str, key: RSAPublicKey | None) -> AccessClaims:
        if key is None:
            if self._loaded_at is None:
                raise KeySetUnavailable(f"no keys could be fetched from {self.jwks_url}")
            raise InvalidToken("unknown signing key")
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], audience=self.audience,
                                issuer=self.issuer, leeway=self.leeway,
                                # PyJWT counts a null claim as missing: org is checked in _claims, so a
                                # platform operator's token (org null) is refused by name.
                                options={"require": [c for c in REQUIRED_CLAIMS if c != "org"],
                                         "verify_signature": True})
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("wrong issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad signature") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"missing claim {exc.claim}") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from None
        return _claims(claims, kid)

    # -- the key cache -------------------------------------------------------------------------

    def _fresh(self) -> bool:
        return self._loaded_at is not None and self._clock() - self._loaded_at < self.cache_seconds

    def _claim_fetch(self, kid: str) -> bool:
        """Whether this caller should fetch now: the cache is stale, or ``kid`` is unknown and no
        fetch was started in the last ``min_refresh_seconds``. Claiming is atomic, so concurrent
        requests with forged kids cause one fetch, not one each."""
        with self._lock:
            now = self._clock()
            if self._fresh() and kid in self._keys:
                return False  # another caller's refresh brought it in
            if self._attempted_at is not None and now - self._attempted_at < self.min_refresh_seconds:
                return False
            self._attempted_at = now
            self.fetches += 1
            return True

    def _store(self, keys: dict[str, RSAPublicKey] | None) -> None:
        if keys is None:
            return  # fetch failed: keep what we had
        with self._lock:
            self._keys = keys
            self._loaded_at = self._clock()

    def _fetch_sync(self) -> dict[str, RSAPublicKey] | None:
        try:
            response = httpx.get(self.jwks_url, timeout=self.timeout, follow_redirects=False)
            response.raise_for_status()
            return parse_jwks(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS fetch failed", extra={"url": self.jwks_url, "error": str(exc)})
            return None

    async def _fetch_async(self) -> dict[str, RSAPublicKey] | None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.get(self.jwks_url)
            response.raise_for_status()
            return parse_jwks(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS fetch failed", extra={"url": self.jwks_url, "error": str(exc)})
            return None


def parse_jwks(document: Any) -> dict[str, RSAPublicKey]:
    """The usable RSA signing keys of a JWK set, by ``kid``.

    Keys without a ``kid``, of another type, meant for encryption, declaring another algorithm or
    shorter than 2048 bits are skipped. A document that is not a JWK set raises ValueError.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS must be an object with a 'keys' list")
    keys: dict[str, RSAPublicKey] = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, Mapping):
            continue
        kid = jwk.get("kid")
        if (not isinstance(kid, str) or not kid or jwk.get("kty") != "RSA"
                or jwk.get("use", "sig") != "sig" or jwk.get("alg", ALGORITHM) != ALGORITHM):
            continue
        try:
            key = RSAAlgorithm.from_jwk(dict(jwk))
        except (jwt.InvalidKeyError, ValueError, TypeError, KeyError):
            log.warning("skipping malformed JWK", extra={"kid": kid})
            continue
        if isinstance(key, RSAPublicKey) and key.key_size >= MIN_RSA_BITS:
            keys[kid] = key
    return keys


def _checked_header(token: str) -> str:
    """The ``kid`` of a token whose header is acceptable; refuses anything but RS256 before any
    key is looked up, so ``alg: none`` and HS256 keyed with our public key never get verified."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("malformed token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("malformed token") from None
    if header.get("alg") != ALGORITHM:
        raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 256:
        raise InvalidToken("token has no kid")
    return kid


def _claims(claims: dict[str, Any], kid: str) -> AccessClaims:
    if claims.get("role") == PLATFORM_OPERATOR_ROLE:
        raise InvalidToken("a platform operator's token reaches no organization's data")
    if claims.get("org") is None:
        raise InvalidToken("missing claim org")
    try:
        sub, org = uuid.UUID(str(claims["sub"])), uuid.UUID(str(claims["org"]))
    except ValueError:
        raise InvalidToken("sub and org must be UUIDs") from None
    role = claims["role"]
    if role not in ROLES:
        raise InvalidToken(f"unknown role {role!r}")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti:
        raise InvalidToken("jti must be a non-empty string")
    email = claims.get("email")
    return AccessClaims(sub=sub, org=org, role=role, jti=jti, kid=kid,
                        exp=datetime.fromtimestamp(claims["exp"], UTC),
                        iat=datetime.fromtimestamp(claims["iat"], UTC),
                        email=email if isinstance(email, str) else None)


# -- device tokens -------------------------------------------------------------------------------

DEVICE_TOKEN_PREFIX = "vdt_"
DEVICE_TOKEN_BYTES = 32
DEVICE_TOKEN_DISPLAY_CHARS = 12  # "vdt_" + 8: enough to tell a device's tokens apart in the UI
_DEVICE_TOKEN = re.compile(r"^vdt_[A-Za-z0-9_-]{43}$")


class DeviceToken(NamedTuple):
    """A new device token: show ``token`` once, store ``prefix`` and ``token_hash``."""

    token: str
    prefix: str
    token_hash: str


def new_device_token() -> DeviceToken:
    """A fresh device token with its display prefix and its SHA-256 (hex) for storage."""
    body = base64.urlsafe_b64encode(secrets.token_bytes(DEVICE_TOKEN_BYTES)).rstrip(b"=").decode("ascii")
    token = DEVICE_TOKEN_PREFIX + body
    return DeviceToken(token, token[:DEVICE_TOKEN_DISPLAY_CHARS], hash_device_token(token))


def hash_device_token(token: str) -> str:
    """SHA-256 hex of the token.

    A plain fast hash is right here, unlike for passwords: the token carries 256 random bits, so
    no dictionary or brute-force attack on a leaked hash is feasible and a slow KDF would only
    slow down every device request (and make lookup by hash impossible with a salt).
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_well_formed_device_token(token: object) -> bool:
    """True for ``vdt_`` + the canonical base64url (no padding) of exactly 32 bytes."""
    if not isinstance(token, str) or not _DEVICE_TOKEN.match(token):
        return False
    body = token[len(DEVICE_TOKEN_PREFIX):]
    raw = base64.urlsafe_b64decode(body + "=")
    # 43 characters carry 258 bits: only encodings whose 2 spare bits are zero are canonical.
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == body


def constant_time_equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare secrets (or their hashes) without leaking where they differ through timing."""
    left = a.encode("utf-8") if isinstance(a, str) else a
    right = b.encode("utf-8") if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def device_token_matches(token: str, token_hash: str) -> bool:
    """True when ``token`` is well formed and hashes to ``token_hash`` (compared in constant time)."""
    return is_well_formed_device_token(token) and constant_time_equals(hash_device_token(token), token_hash)


# --- device tokens against the database ---------------------------------------------------------


class DeviceIdentity(NamedTuple):
    """Who a valid device token speaks for: one device of one organization."""

    device: uuid.UUID
    org: uuid.UUID
    credential: uuid.UUID


class DeviceTokenVerifier:
    """Verify device tokens against ``device_credentials`` (gateways: ingest-frames, ingest-sensors).

    A token is valid while its credential is not revoked, its device exists and its organization
    is not disabled (by a platform operator). The lookup is by
    the token's SHA-256, which is unique and indexed, so no timing oracle leaks the stored hash.
    ``last_used_at`` is refreshed at most once per ``touch_seconds`` per credential.
    """

    def __init__(self, engine: Any, touch_seconds: float = 60.0) -> None:
        self._engine = engine
        self._touch_seconds = touch_seconds
        self._touched: dict[uuid.UUID, float] = {}

    def verify(self, token: str) -> DeviceIdentity:
        """The identity behind ``token``; raises :class:`InvalidToken` for any bad token."""
        from sqlalchemy import func, select, update

        from vigia.common.db import device_credentials, devices, organizations

        if not is_well_formed_device_token(token):
            raise InvalidToken("malformed device token")
        query = (
            select(device_credentials.c.id, device_credentials.c.device_id, devices.c.org_id,
                   organizations.c.is_active.label("org_is_active"))
            .join(devices, devices.c.id == device_credentials.c.device_id)
            .join(organizations, organizations.c.id == devices.c.org_id)
            .where(device_credentials.c.token_hash == hash_device_token(token),
                   device_credentials.c.revoked_at.is_(None),
                   devices.c.org_id == device_credentials.c.org_id)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
            if row is None:
                raise InvalidToken("unknown or revoked device token")
            if not row.org_is_active:
                raise InvalidToken("the device's organization is disabled")
            now = time.monotonic()
            if now - self._touched.get(row.id, float("-inf")) >= self._touch_seconds:
                conn.execute(update(device_credentials).where(device_credentials.c.id == row.id)
                             .values(last_used_at=func.now()))
                conn.commit()
                self._touched[row.id] = now
        return DeviceIdentity(device=row.device_id, org=row.org_id, credential=row.id)
