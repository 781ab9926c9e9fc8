"""Organizations (tenants) and the people who work in them."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models

from vigia.common.ids import uuid7
from vigia.control.core.choices import Role

#: A Brazilian product: an organization's reports and console read in São Paulo time unless it says.
DEFAULT_TIME_ZONE = "America/Sao_Paulo"


class Organization(models.Model):
    """A customer of Vigia. Everything — cameras, devices, detections, users — belongs to exactly
    one organization, and nobody sees another organization's data. Platform operators create
    organizations and may disable one: its people can no longer sign in and its devices no longer
    push, until it is enabled again (nothing is deleted)."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    # The data plane inserts organizations with SQLAlchemy too: new columns carry database defaults.
    is_active = models.BooleanField(default=True, db_default=True,
                                    help_text="False once a platform operator disabled it.")
    disabled_at = models.DateTimeField(null=True, blank=True, help_text="When it was last disabled.")
    time_zone = models.CharField(max_length=64, default=DEFAULT_TIME_ZONE, db_default=DEFAULT_TIME_ZONE,
                                 help_text="IANA time zone its console and reports show times in.")
    settings = models.JSONField(default=dict, blank=True, help_text=(
        "Per-org tunables. Under \"correlation\": overrides of the correlator's defaults, "
        "{\"window_ms\", \"threshold\", \"person_min_confidence\", \"weights\": {kind: weight}}; "
        "edited through /api/v1/organization/settings."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "organizations"
        ordering = ("name",)

    def __str__(self) -> str:
        return self.slug


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, org: Organization | None, password: str | None = None,
                    role: str = Role.VIEWER, **extra: Any) -> User:
        """A member of ``org`` (the database refuses a member of none: see ``User.Meta.constraints``)."""
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), org=org, role=role, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_platform_operator(self, email: str, password: str, **extra: Any) -> User:
        """A platform operator: no organization, so no organization's data (see :class:`User`)."""
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), org=None, is_platform_operator=True,
                          **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    """A person who signs in to an organization's console or API, with one role there:
    viewer (read), operator (act on cameras, devices, pipelines, events) or admin (also users).

    A platform operator belongs to no organization and holds none of their roles: they create,
    list, disable and enable organizations, and every organization's data answers them 403."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    org = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="users",
                            help_text="Null exactly for platform operators.")
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER,
                            help_text="Role in the organization; ignored for platform operators.")
    is_active = models.BooleanField(default=True)
    is_platform_operator = models.BooleanField(default=False, db_default=False, help_text=(
        "Runs the platform (organizations), outside every organization."))
    created_at = models.DateTimeField(auto_now_add=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()

    class Meta:
        db_table = "users"
        ordering = ("email",)
        constraints = [
            # Exactly one of: a member of one organization, or a platform operator of none.
            models.CheckConstraint(
                condition=models.Q(is_platform_operator=False, org__isnull=False)
                | models.Q(is_platform_operator=True, org__isnull=True),
                name="users_org_or_platform_operator"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def org_slug(self) -> str | None:
        return self.org.slug if self.org is not None else None


class SigningKey(models.Model):
    """An RSA key pair the control plane signs access tokens with. Exactly one key signs at a time
    (the newest unretired one); a retired key keeps verifying until every token it could have signed
    has expired, so rotating keys never logs anybody out. The private half is stored encrypted."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kid = models.CharField(max_length=64, unique=True, help_text="RFC 7638 thumbprint; the JWT `kid`.")
    private_key_encrypted = models.TextField(help_text="MultiFernet token of the PKCS#8 PEM.")
    public_jwk = models.JSONField(help_text="Public key as published in the JWKS.")
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True, help_text="When it stopped signing.")

    class Meta:
        db_table = "signing_keys"
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.kid


class RefreshToken(models.Model):
    """One refresh token handed to a client. Each refresh spends the token and hands out its child
    in the same family; spending a token twice means it was stolen, so the whole family dies."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    family = models.UUIDField(db_index=True, help_text="Shared by every token descended from one login.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the opaque token.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True, help_text="When it was exchanged for a child.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "refresh_tokens"
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.user_id}/{self.family}"


class Invitation(models.Model):
    """An admin's invitation of a person into their organization: a one-time token the invitee
    exchanges, with a password of their choosing, for a working account."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="invitation")
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the one-time token.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "invitations"

    def __str__(self) -> str:
        return str(self.user_id)
