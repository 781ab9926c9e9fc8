"""bootstrap_demo: idempotent demo org + admin whose printed credentials work."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from vigia.control.tenancy.models import Organization, SigningKey, User

EMAIL = "admin@demo.vigia.local"


def run(*args: str) -> str:
    out = StringIO()
    call_command("bootstrap_demo", *args, stdout=out)
    return out.getvalue()


def can_log_in(password: str) -> bool:
    response = APIClient().post("/api/v1/auth/login", {"email": EMAIL, "password": password}, format="json")
    return response.status_code == 200


def test_generated_password_is_printed_and_works(db, monkeypatch):
    monkeypatch.delenv("VIGIA_DEMO_PASSWORD", raising=False)
    output = run()
    password = re.search(r"password:\s+(\S+)", output).group(1)
    assert EMAIL in output and "organization: demo" in output
    assert can_log_in(password)
    user = User.objects.get(email=EMAIL)
    assert user.role == "admin" and user.org.slug == "demo"
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1


def test_running_twice_changes_nothing_and_keeps_the_password(db, monkeypatch):
    monkeypatch.delenv("VIGIA_DEMO_PASSWORD", raising=False)
    first = re.search(r"password:\s+(\S+)", run()).group(1)
    second = run()
    assert "(unchanged)" in second and "(exists)" in second
    assert Organization.objects.filter(slug="demo").count() == 1
    assert User.objects.filter(email=EMAIL).count() == 1
    assert SigningKey.objects.count() == 1
    assert can_log_in(first)


def test_password_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("VIGIA_DEMO_PASSWORD", "demo-password-from-env")
    assert "demo-password-from-env" in run()
    assert can_log_in("demo-password-from-env")


def test_explicit_password_resets_an_existing_admin(db, monkeypatch):
    monkeypatch.delenv("VIGIA_DEMO_PASSWORD", raising=False)
    run()
    run("--password", "a-brand-new-demo-password")
    assert can_log_in("a-brand-new-demo-password")


def test_weak_password_is_refused(db, monkeypatch):
    monkeypatch.delenv("VIGIA_DEMO_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="refused"):
        run("--password", "12345")
    assert not User.objects.filter(email=EMAIL).exists()
