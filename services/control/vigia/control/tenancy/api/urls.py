"""Routes of sign-in, JWKS, users, organizations and their settings. Mounted at the root (the JWKS
lives under /.well-known/)."""

from django.db import transaction
from django.urls import path
from rest_framework.routers import SimpleRouter

from vigia.control.tenancy.api import organizations, views

router = SimpleRouter()
router.register("api/v1/users", views.UserViewSet, basename="user")
router.register("api/v1/organizations", organizations.OrganizationViewSet, basename="organization")

urlpatterns = [
    path(".well-known/jwks.json", views.JWKSView.as_view(), name="jwks"),
    path("api/v1/auth/login", views.LoginView.as_view(), name="auth-login"),
    # Not one transaction: a reuse detection must commit the family revocation it answers 401 with.
    path("api/v1/auth/refresh", transaction.non_atomic_requests(views.RefreshView.as_view()),
         name="auth-refresh"),
    path("api/v1/auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("api/v1/auth/accept-invite", views.AcceptInviteView.as_view(), name="auth-accept-invite"),
    path("api/v1/auth/me", views.MeView.as_view(), name="auth-me"),
    path("api/v1/organization/settings", organizations.OrganizationSettingsView.as_view(),
         name="organization-settings"),
    *router.urls,
]
