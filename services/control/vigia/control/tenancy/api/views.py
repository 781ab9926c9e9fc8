"""Sign-in (login, refresh, logout, me, accept-invite), the JWKS document and user management."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer, ValidationError
from rest_framework.views import APIView

from vigia.control.audit import events
from vigia.control.audit.choices import AuditAction
from vigia.control.audit.client import request_client_address
from vigia.control.core.api.views import OrgScopedMixin
from vigia.control.core.choices import Role
from vigia.control.core.errors import error_body
from vigia.control.core.permissions import signed_in_user
from vigia.control.core.schema import error_response
from vigia.control.tenancy import keys, lockouts, refresh_cookie, tokens
from vigia.control.tenancy.api.serializers import (
    AcceptInviteSerializer,
    LoginSerializer,
    RefreshSerializer,
    TokenPairSerializer,
    UserCreatedSerializer,
    UserCreateSerializer,
    UserSerializer,
    validate_new_password,
)
from vigia.control.tenancy.models import User
from vigia.control.tenancy.organizations import refuse_disabled_organization

INVALID_CREDENTIALS = "invalid email or password"
BEARER_CHALLENGE = 'Bearer realm="vigia"'


SESSION_HEADER = OpenApiParameter(
    refresh_cookie.HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, enum=[refresh_cookie.COOKIE_MODE],
    description="`cookie`: the refresh token travels in the httpOnly `vigia_refresh` cookie (path "
                "/api/v1/auth) instead of the JSON body (browser clients).")


def _token_response(request: Request, user: User, pair: tokens.TokenPair,
                    code: int = status.HTTP_200_OK) -> Response:
    response = Response({**pair.as_response(), "user": UserSerializer(user).data}, status=code)
    if refresh_cookie.wants_cookie(request):
        refresh_cookie.hand_over(response, pair.refresh)
    return response


def _refresh_token(request: Request) -> str:
    """The refresh token of the body, else of the cookie (cookie clients); 400 when neither has one."""
    body = RefreshSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    raw = body.validated_data.get("refresh") or refresh_cookie.token_from_cookie(request)
    if not raw:
        raise ValidationError({"refresh": ["This field is required."]})
    return str(raw)


class PublicAPIView(APIView):
    """An endpoint callers reach without an access token (a stale Authorization header is ignored)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return BEARER_CHALLENGE  # so a refused credential is a 401 with a challenge, not a 403


class LoginView(PublicAPIView):
    """Exchange email + password for an access/refresh token pair.

    Too many failures lock the account out from the client's address, or the address out of every
    account (429 with Retry-After; see :mod:`vigia.control.tenancy.lockouts`). Each sign-in,
    failure, lock-out and refusal is an audit row naming the account (when it exists).
    """

    @extend_schema(request=LoginSerializer, parameters=[SESSION_HEADER], responses={
        200: TokenPairSerializer, 401: error_response("Wrong e-mail or password (or an inactive account)."),
        403: error_response("Right password, but the account's organization is disabled."),
        429: error_response("Too many failed sign-ins; retry after the delay in Retry-After."),
        503: error_response("Redis, which keeps the lock-out counts, is unavailable: sign-in fails closed; "
                            "retry after Retry-After.")})
    def post(self, request: Request) -> Response:
        body = LoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        email = body.validated_data["email"].strip().lower()
        password = body.validated_data["password"]
        address = request_client_address(request)
        user = User.objects.select_related("org").filter(email=email).first()
        wait = lockouts.retry_after(email, address)
        if wait is not None:
            events.note(request, AuditAction.SIGN_IN_REFUSED, subject=user)
            raise exceptions.Throttled(wait=wait, detail="too many failed sign-ins; try again later")
        if user is None:
            make_password(password)  # spend the same hashing time: no user enumeration by timing
            ok = False
        else:
            ok = user.check_password(password) and user.is_active
        if not ok or user is None:
            locks = lockouts.note_failure(email, address)
            events.note(request, AuditAction.SIGN_IN_FAILED, subject=user)
            if locks.account:
                events.note(request, AuditAction.ACCOUNT_LOCKED_OUT, subject=user)
            if locks.address:
                events.note(request, AuditAction.ADDRESS_LOCKED_OUT, subject=user)
            raise exceptions.AuthenticationFailed(INVALID_CREDENTIALS, code="invalid_credentials")
        lockouts.note_success(email, address)
        refuse_disabled_organization(user)  # 403 only after the right password: no probing for it
        events.note(request, AuditAction.SIGN_IN, actor=user, subject=user)
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        return _token_response(request, user, tokens.issue_token_pair(user))


class RefreshView(PublicAPIView):
    """Spend a refresh token for a new pair; a reused one revokes its whole family (401).

    Mounted with ``non_atomic_requests``: the family revocation must commit although it answers 401.
    """

    @extend_schema(request=RefreshSerializer, parameters=[SESSION_HEADER], responses={
        200: TokenPairSerializer, 401: error_response("Unknown, expired, revoked or reused refresh token.")})
    def post(self, request: Request) -> Response:
        raw = _refresh_token(request)
        try:
            user, pair = tokens.rotate_refresh_token(raw)
        except tokens.TokenError as exc:
            refused = Response(error_body(exc.code, str(exc)), status=status.HTTP_401_UNAUTHORIZED,
                               headers={"WWW-Authenticate": BEARER_CHALLENGE})
            return refresh_cookie.forget(refused) if refresh_cookie.wants_cookie(request) else refused
        return _token_response(request, user, pair)


class LogoutView(PublicAPIView):
    """Revoke the family of the given refresh token (every token of that login). Idempotent: 204.
    A cookie client's cookie is cleared too, even when it held no token any more."""

    @extend_schema(request=RefreshSerializer, parameters=[SESSION_HEADER], responses={204: None})
    def post(self, request: Request) -> Response:
        if refresh_cookie.wants_cookie(request):
            body = RefreshSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            raw = body.validated_data.get("refresh") or refresh_cookie.token_from_cookie(request)
            if raw:
                tokens.revoke_refresh_token_family(raw)
            return refresh_cookie.forget(Response(status=status.HTTP_204_NO_CONTENT))
        tokens.revoke_refresh_token_family(_refresh_token(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AcceptInviteView(PublicAPIView):
    """An invitee chooses a password with their one-time token and is signed in."""

    @extend_schema(request=AcceptInviteSerializer, parameters=[SESSION_HEADER],
                   responses={200: TokenPairSerializer})
    def post(self, request: Request) -> Response:
        body = AcceptInviteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        invitation = tokens.pending_invitation(body.validated_data["token"])
        if invitation is None:
            raise ValidationError({"token": ["invitation is unknown, expired or already accepted"]})
        user = invitation.user
        try:
            validate_new_password(body.validated_data["password"], user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.detail}) from exc
        user.set_password(body.validated_data["password"])
        user.last_login = timezone.now()
        user.save(update_fields=["password", "last_login"])
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        return _token_response(request, user, tokens.issue_token_pair(user))


class MeView(APIView):
    """The signed-in user (a platform operator too)."""

    platform_operators_allowed = True

    @extend_schema(responses={200: UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)


class JWKSView(PublicAPIView):
    """Public keys that verify access tokens (RFC 7517), for Kong, live and vigia.common.auth."""

    @extend_schema(operation_id="jwks_retrieve", responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(keys.jwks(), headers={"Cache-Control": "public, max-age=300"})


class LastAdminConflict(exceptions.APIException):
    """The change would leave the organization with no admin who can sign in (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "last_admin"
    default_detail = ("the organization must keep an active admin who can sign in: make another admin "
                      "(and have them accept their invitation) first")


class UserViewSet(OrgScopedMixin, viewsets.ModelViewSet):
    """Users of the caller's organization; admins only. Creating one invites them: without a
    password the answer carries a one-time ``invitation_token`` (shown once). DELETE deactivates.
    A change that would leave the organization without an active admin who can sign in (invitation
    accepted) is refused with 409. ``POST .../unlock`` clears a user's sign-in lock-outs."""

    queryset = User.objects.select_related("org", "invitation")
    serializer_class = UserSerializer
    required_roles = {"read": Role.ADMIN, "write": Role.ADMIN}
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return UserCreateSerializer
        return UserSerializer

    @extend_schema(request=UserCreateSerializer, responses={201: UserCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        caller = signed_in_user(request)
        body = UserCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        password = data.pop("password", None)
        try:
            with transaction.atomic():
                user = User.objects.create_user(org=caller.org, password=password, **data)
        except IntegrityError as exc:  # lost a race on the unique email
            raise ValidationError({"email": ["a user with this email already exists"]}) from exc
        answer = UserSerializer(user).data
        if password is None:
            answer["invitation_token"] = tokens.create_invitation(user, invited_by=caller)
            answer["invitation_pending"] = True
        return Response(answer, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserSerializer, responses={200: UserSerializer})
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.get_object()
        body = UserSerializer(user, data=request.data, partial=kwargs.pop("partial", False))
        body.is_valid(raise_exception=True)
        changes = body.validated_data
        _keep_an_admin(user, role=changes.get("role", user.role),
                       is_active=changes.get("is_active", user.is_active))
        body.save()
        if not user.is_active:  # a deactivated user's sessions end now, not in 24 h
            tokens.revoke_user_tokens(user)
        return Response(UserSerializer(user).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = self.get_object()
        _keep_an_admin(user, role=user.role, is_active=False, name_the_field=False)
        user.is_active = False
        user.save(update_fields=["is_active"])
        tokens.revoke_user_tokens(user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None, 503: error_response(
        "Redis, which keeps the lock-out counts, is unavailable; retry after Retry-After.")})
    @action(detail=True, methods=["post"])
    def unlock(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Clear the user's sign-in lock-outs and failure counts, from every address (audited)."""
        user = self.get_object()
        lockouts.unlock_account(user.email)
        events.note(request, AuditAction.USER_UNLOCKED, subject=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _can_sign_in(user: User) -> bool:
    return user.is_active and bool(user.password) and user.has_usable_password()


def _keep_an_admin(user: User, role: str, is_active: bool, name_the_field: bool = True) -> None:
    """Refuse (409) a change that would leave ``user``'s organization without an admin who can sign in:
    active, with a usable password (an invited admin counts once they accepted). The error names the
    field (``role`` or ``is_active``) unless told not to (a DELETE has no field)."""
    if user.role != Role.ADMIN or not _can_sign_in(user) or (role == Role.ADMIN and is_active):
        return
    # Lock every active admin of the org in one order: two admins demoting each other serialize.
    admins = list(User.objects.select_for_update().filter(org_id=user.org_id, role=Role.ADMIN, is_active=True)
                  .order_by("pk").only("pk", "password", "is_active"))
    if any(admin.pk != user.pk and _can_sign_in(admin) for admin in admins):
        return
    if not name_the_field:
        raise LastAdminConflict()
    field = "role" if role != Role.ADMIN else "is_active"
    raise LastAdminConflict({field: [LastAdminConflict.default_detail]})
