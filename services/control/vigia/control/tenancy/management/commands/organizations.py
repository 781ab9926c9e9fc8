"""Organizations from the command line, for the platform's operators:
``python -m vigia.control organizations create|list|disable|enable``.

``create --slug acme --name "Acme" --admin-email ana@acme.com.br [--time-zone America/Manaus]``
validates like ``POST /api/v1/organizations/`` (the same serializer), creates the organization and
prints the one-time invitation token its first admin accepts with a password of their choosing.
``disable SLUG`` and ``enable SLUG`` behave as the API's actions of the same names.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vigia.control.tenancy.api.organization_serializers import OrganizationCreateSerializer
from vigia.control.tenancy.models import Organization
from vigia.control.tenancy.organizations import create_organization, disable_organization, enable_organization


class Command(BaseCommand):
    help = "Create, list, disable or enable organizations (the first admin of a new one is invited)."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="create|list|disable|enable")
        create = verbs.add_parser("create", help="Create an organization and invite its first admin.")
        create.add_argument("--slug", required=True, help="Unique short name (lowercase, digits, hyphens).")
        create.add_argument("--name", required=True, help="Display name.")
        create.add_argument("--admin-email", required=True, help="E-mail of the first admin, who is invited.")
        create.add_argument("--admin-name", default="", help="Name of the first admin.")
        create.add_argument("--time-zone", help="IANA time zone (default America/Sao_Paulo).")
        listing = verbs.add_parser("list", help="List organizations.")
        listing.add_argument("--disabled", action="store_true", help="Only the disabled ones.")
        for verb in ("disable", "enable"):
            sub = verbs.add_parser(verb, help=f"{verb.capitalize()} an organization.")
            sub.add_argument("slug", help="The organization's slug.")

    def handle(self, *args: Any, **options: Any) -> None:
        verb = options["verb"]
        if verb == "create":
            self._create(options)
        elif verb == "list":
            self._list(disabled_only=options["disabled"])
        else:
            org = Organization.objects.filter(slug=options["slug"]).first()
            if org is None:
                raise CommandError(f"no organization with slug {options['slug']!r}")
            org = disable_organization(org) if verb == "disable" else enable_organization(org)
            self.stdout.write(f"{org.slug}: {'active' if org.is_active else 'disabled'}")

    def _create(self, options: dict[str, Any]) -> None:
        fields = {"slug": options["slug"], "name": options["name"], "admin_email": options["admin_email"],
                  "admin_name": options["admin_name"]}
        if options.get("time_zone"):
            fields["time_zone"] = options["time_zone"]
        body = OrganizationCreateSerializer(data=fields)
        if not body.is_valid():
            problems = "; ".join(f"--{name.replace('_', '-')}: {' '.join(str(m) for m in messages)}"
                                 for name, messages in body.errors.items())
            raise CommandError(problems)
        created = create_organization(**body.validated_data)
        self.stdout.write(f"organization:     {created.organization.slug} ({created.organization.id})")
        self.stdout.write(f"time zone:        {created.organization.time_zone}")
        self.stdout.write(f"admin (invited):  {created.admin.email}")
        self.stdout.write(f"invitation token: {created.invitation_token}")
        self.stdout.write("the admin chooses a password with POST /api/v1/auth/accept-invite "
                          '{"token": "<invitation token>", "password": "..."}')

    def _list(self, disabled_only: bool) -> None:
        orgs = Organization.objects.order_by("slug")
        if disabled_only:
            orgs = orgs.filter(is_active=False)
        self.stdout.write(f"{'slug':<24} {'state':<9} {'time zone':<22} name")
        for org in orgs:
            state = "active" if org.is_active else "disabled"
            self.stdout.write(f"{org.slug:<24} {state:<9} {org.time_zone:<22} {org.name}")
