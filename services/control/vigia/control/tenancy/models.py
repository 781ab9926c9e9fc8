"""Organizations (tenants) and the people who work in them."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models

from vigia.common.ids import uuid7
from vigia.control.core.choices import Role


class Organization(models.Model):
    """A customer of Vigia. Everything — cameras, devices, detections, users — belongs to exactly
    one organization, and nobody sees another organization's data."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    settings = models.JSONField(default=dict, blank=True,
                                help_text="Per-org tunables (correlation weights, thresholds...).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "organizations"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.slug


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, org: Organization, password: str | None = None,
                    role: str = Role.VIEWER, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), org=org, role=role, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    """A person who signs in to an organization's console or API, with one role there:
    viewer (read), operator (act on cameras, devices, pipelines, events) or admin (also users)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="users")
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        db_table = "users"
        ordering = ("email",)

    def __str__(self) -> str:
        return self.email

    @property
    def org_slug(self) -> str:
        return self.org.slug
