"""Rotate the access-token signing key: ``python -m vigia.control rotate_signing_key``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from vigia.control.tenancy import keys


class Command(BaseCommand):
    help = ("Create a new RS256 signing key that signs from now on; the previous key retires but keeps "
            "verifying tokens until they expire. --prune deletes keys past that window.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--prune", action="store_true",
                            help="Also delete retired keys that no longer verify anything.")

    def handle(self, *args: Any, **options: Any) -> None:
        key, retired = keys.rotate_signing_key()
        self.stdout.write(f"signing key: {key.kid}")
        for kid in retired:
            self.stdout.write(f"retired (still verifies for {keys.verification_window()}): {kid}")
        if options["prune"]:
            deleted, _ = keys.expired_keys().delete()
            self.stdout.write(f"pruned keys: {deleted}")
