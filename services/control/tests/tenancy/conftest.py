"""Fixtures of the tenancy tests: a platform operator (no organization) with the default password."""

from __future__ import annotations

from typing import Any

import pytest

from vigia.control.tenancy.models import User


@pytest.fixture
def platform_operator(db: Any, user_password: str) -> User:
    return User.objects.create_platform_operator("ops@platform.example.com", user_password, name="Ops")
