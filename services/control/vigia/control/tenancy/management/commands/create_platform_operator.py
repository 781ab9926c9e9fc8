"""Create a platform operator (or reset one's password):
``python -m vigia.control create_platform_operator --email ops@example.com``.

A platform operator manages organizations and sees no organization's data. The password is never
an argument (it would sit in the shell history and the process list): it comes from
``--password-file`` (its first line), else ``VIGIA_PLATFORM_OPERATOR_PASSWORD``, else a prompt
(twice) when standard input is a terminal. Run again for an existing operator, it sets the new
password and re-activates them; an e-mail that belongs to an organization's member is refused.
"""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from vigia.control.tenancy import tokens
from vigia.control.tenancy.models import User

PASSWORD_ENV = "VIGIA_PLATFORM_OPERATOR_PASSWORD"


class Command(BaseCommand):
    help = ("Create a platform operator, who creates, lists, disables and enables organizations and sees "
            f"no organization's data. Password from --password-file, ${PASSWORD_ENV} or a prompt.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", required=True, help="The operator's e-mail (their sign-in name).")
        parser.add_argument("--name", default="", help="The operator's name.")
        parser.add_argument("--password-file", type=Path,
                            help="A file whose first line is the password (e.g. a mounted secret).")

    def handle(self, *args: Any, **options: Any) -> None:
        email = str(options["email"]).strip().lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"--email: {email!r} is not an e-mail address") from exc
        password = self._password(options.get("password_file"))
        with transaction.atomic():
            user = User.objects.select_for_update().filter(email=email).first()
            if user is not None and not user.is_platform_operator:
                raise CommandError(f"{email} is a member of organization {user.org}; choose another e-mail")
            probe = user or User(email=email, name=options["name"], is_platform_operator=True)
            try:
                password_validation.validate_password(password, probe)
            except ValidationError as exc:
                raise CommandError("password refused: " + " ".join(exc.messages)) from exc
            if user is None:
                user = User.objects.create_platform_operator(email, password, name=options["name"])
                state = "created"
            else:
                user.set_password(password)
                user.is_active = True
                user.name = options["name"] or user.name
                user.save()
                tokens.revoke_user_tokens(user)  # a reset password ends the sessions opened with the old one
                state = "password reset"
        self.stdout.write(f"platform operator: {user.email} ({state})")

    def _password(self, path: Path | None) -> str:
        if path is not None:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise CommandError(f"--password-file: cannot read {path}: {exc.strerror}") from exc
            if not lines or not lines[0]:
                raise CommandError(f"--password-file: {path} has no password on its first line")
            return lines[0]
        if os.environ.get(PASSWORD_ENV):
            return os.environ[PASSWORD_ENV]
        if not sys.stdin.isatty():
            raise CommandError(f"no password: give --password-file or ${PASSWORD_ENV}, or run in a terminal")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("the two passwords differ")
        return first
