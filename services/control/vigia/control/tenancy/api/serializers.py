"""Representations of users and the request bodies of the auth endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from vigia.control.core.choices import Role
from vigia.control.core.serializers import StrictModelSerializer, StrictSerializer
from vigia.control.tenancy.models import User


def validate_new_password(password: str, user: User | None = None) -> str:
    """Apply AUTH_PASSWORD_VALIDATORS (length ≥ 12, not common, not numeric-only...)."""
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(list(exc.messages)) from exc
    return password


class OrganizationBriefSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    slug = serializers.SlugField(read_only=True)
    name = serializers.CharField(read_only=True)


class UserSerializer(StrictModelSerializer):
    """A user as admins see it (and as everyone sees themselves); admins may change ``name``,
    ``role`` and ``is_active`` through it."""

    org = OrganizationBriefSerializer(read_only=True, allow_null=True, help_text=(
        "Null for a platform operator, who belongs to no organization."))
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    invitation_pending = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields: tuple[str, ...] = ("id", "email", "name", "role", "is_active", "org", "is_platform_operator",
                                   "invitation_pending", "created_at", "last_login")
        read_only_fields = ("id", "email", "org", "is_platform_operator", "invitation_pending", "created_at",
                            "last_login")

    def get_invitation_pending(self, user: User) -> bool:
        invitation = getattr(user, "invitation", None)
        return invitation is not None and invitation.accepted_at is None


class UserCreatedSerializer(UserSerializer):
    """Answer of creating a user: the user, and for an invitation its one-time token (shown once)."""

    # Not read_only: drf-spectacular documents read-only fields as always present, and this one is not.
    invitation_token = serializers.CharField(required=False, help_text=(
        "Present when the user was invited (created without a password): give it to them for "
        "POST /api/v1/auth/accept-invite."))

    class Meta(UserSerializer.Meta):
        fields = (*UserSerializer.Meta.fields, "invitation_token")


class UserCreateSerializer(StrictModelSerializer):
    """An admin adds a person to their org: with a password, or (without one) by invitation."""

    password = serializers.CharField(write_only=True, required=False, trim_whitespace=False,
                                     style={"input_type": "password"})
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)

    class Meta:
        model = User
        fields = ("email", "name", "role", "password")

    def validate_email(self, value: str) -> str:
        value = value.strip().lower()
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("a user with this email already exists")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        password = attrs.get("password")
        if password is not None:
            probe = User(email=attrs["email"], name=attrs.get("name", ""))
            try:
                validate_new_password(password, probe)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"password": exc.detail}) from exc
        return attrs


class LoginSerializer(StrictSerializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, max_length=1024)


class RefreshSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=512, required=False, help_text=(
        "The refresh token. Required unless the request carries `X-Vigia-Session: cookie` and the "
        "`vigia_refresh` cookie holds it."))


class AcceptInviteSerializer(StrictSerializer):
    token = serializers.CharField(max_length=512)
    password = serializers.CharField(trim_whitespace=False, max_length=1024)


class TokenPairSerializer(serializers.Serializer):
    """Response of login, refresh and accept-invite."""

    access = serializers.CharField()
    refresh = serializers.CharField(required=False, help_text=(
        "The refresh token; absent when the request carried `X-Vigia-Session: cookie` (it is then in "
        "the httpOnly `vigia_refresh` cookie, path /api/v1/auth)."))
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    refresh_expires_in = serializers.IntegerField()
    user = UserSerializer()
