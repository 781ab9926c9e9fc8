"""Fixtures shared by every control-plane test: organizations, users of each role, and API clients
authenticated with real RS256 access tokens issued by :mod:`vigia.control.tenancy.tokens`.

* ``org`` / ``other_org``: two tenants; ``outsider`` is an admin of ``other_org``.
* ``make_user(role=..., org=..., email=..., password=...)``: a user (default: viewer of ``org``).
* ``admin``, ``operator``, ``viewer``: users of ``org``.
* ``api(user)``: a DRF ``APIClient`` with ``Authorization: Bearer <access token>``;
  ``api()`` (no user) is anonymous.
* ``user_password``: the password every ``make_user`` user has unless told otherwise.

Hashes stay Argon2 (the configured hasher); the default password is hashed once per session and
the RSA signing key generated once per session, to keep tests fast.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from vigia.control.core.choices import Role
from vigia.control.tenancy.keys import create_signing_key
from vigia.control.tenancy.models import Organization, SigningKey, User
from vigia.control.tenancy.tokens import issue_access_token

DEFAULT_PASSWORD = "correct-horse-battery-staple-42"
_sequence = itertools.count(1)


@lru_cache(maxsize=1)
def _default_password_hash() -> str:
    return make_password(DEFAULT_PASSWORD)


@lru_cache(maxsize=1)
def _session_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def user_password() -> str:
    return DEFAULT_PASSWORD


@pytest.fixture
def signing_key(db: Any) -> SigningKey:
    """The active signing key (created from a per-session RSA key if the database has none)."""
    existing = SigningKey.objects.filter(retired_at__isnull=True).order_by("-created_at").first()
    return existing or create_signing_key(_session_rsa_key())


@pytest.fixture
def org(db: Any) -> Organization:
    return Organization.objects.create(name="Acme Security", slug="acme")


@pytest.fixture
def other_org(db: Any) -> Organization:
    return Organization.objects.create(name="Rival Corp", slug="rival")


@pytest.fixture
def make_user(db: Any, org: Organization) -> Callable[..., User]:
    def _make(role: str = Role.VIEWER, org: Organization = org, email: str | None = None,
              password: str | None = DEFAULT_PASSWORD, **extra: Any) -> User:
        email = email or f"{role}-{next(_sequence)}@{org.slug}.example.com"
        user = User(email=email.lower(), org=org, role=role, **extra)
        if password == DEFAULT_PASSWORD:
            user.password = _default_password_hash()
        else:
            user.set_password(password)
        user.save()
        return user

    return _make


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.ADMIN)


@pytest.fixture
def operator(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.OPERATOR)


@pytest.fixture
def viewer(make_user: Callable[..., User]) -> User:
    return make_user(role=Role.VIEWER)


@pytest.fixture
def outsider(make_user: Callable[..., User], other_org: Organization) -> User:
    return make_user(role=Role.ADMIN, org=other_org)


@pytest.fixture
def api(signing_key: SigningKey) -> Callable[..., APIClient]:
    def _api(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            token, _ = issue_access_token(user)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return _api


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Each test starts with an empty cache (login throttling state lives there)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
