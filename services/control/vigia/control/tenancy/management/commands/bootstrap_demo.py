"""Create the demo organization and its admin, idempotently: ``python -m vigia.control bootstrap_demo``.

The password comes from ``--password``, else ``VIGIA_DEMO_PASSWORD``, else is generated. An existing
admin keeps their password unless one is given explicitly. Prints the credentials.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from vigia.control.core.choices import Role
from vigia.control.tenancy import keys
from vigia.control.tenancy.models import Organization, User

DEMO_ORG_SLUG = "demo"
DEMO_ORG_NAME = "Demo"
DEMO_ADMIN_EMAIL = "admin@demo.vigia.local"


class Command(BaseCommand):
    help = "Create the demo organization, its admin user and a signing key if missing; print credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", help="Admin password (default: $VIGIA_DEMO_PASSWORD or generated).")

    def handle(self, *args: Any, **options: Any) -> None:
        explicit = options.get("password") or os.environ.get("VIGIA_DEMO_PASSWORD") or None
        with transaction.atomic():
            org, _ = Organization.objects.get_or_create(slug=DEMO_ORG_SLUG, defaults={"name": DEMO_ORG_NAME})
            user = User.objects.select_for_update().filter(email=DEMO_ADMIN_EMAIL).first()
            if user is not None and user.org_id != org.id:
                raise CommandError(f"{DEMO_ADMIN_EMAIL} exists in another organization ({user.org})")
            password = explicit if user is not None or explicit else secrets.token_urlsafe(12)
            if password is not None:
                probe = user or User(email=DEMO_ADMIN_EMAIL, org=org)
                try:
                    password_validation.validate_password(password, probe)
                except ValidationError as exc:
                    raise CommandError("demo password refused: " + " ".join(exc.messages)) from exc
            if user is None:
                user = User.objects.create_user(DEMO_ADMIN_EMAIL, org=org, password=password, role=Role.ADMIN,
                                                name="Demo admin")
                state = "created"
            else:
                user.role, user.is_active = Role.ADMIN, True
                if password is not None:
                    user.set_password(password)
                user.save()
                state = "exists"
            key = keys.active_signing_key()
        self.stdout.write(f"organization: {org.slug}")
        self.stdout.write(f"admin email:  {user.email} ({state})")
        self.stdout.write(f"password:     {password if password is not None else '(unchanged)'}")
        self.stdout.write(f"signing key:  {key.kid}")
