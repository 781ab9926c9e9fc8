"""Render the kong.yml Kong loads: kong/kong.yml with the consumer's JWT credential set to control's
current signing key.

Kong's jwt plugin finds a credential by the token's ``iss`` (``key_claim_name``) and checks the
RS256 signature with that credential's ``rsa_public_key``; control signs with the newest unretired
key in its database (``vigia.control.tenancy.keys.active_signing_key``) and puts
``VIGIA_JWT_ISSUER`` in ``iss``. So the credential is ``key = VIGIA_JWT_ISSUER``,
``rsa_public_key = PEM of the active key``. Run after migrations and after every
``rotate_signing_key`` (then reload Kong)::

    VIGIA_DATABASE_URL=... python kong/render.py --out /kong/kong.yml

The key is read through control's own code (same settings, ``VIGIA_*``), which creates the first
key if there is none, exactly as control would on its first login. ``--jwks-url`` reads the
first key of a running control's JWKS instead (the signing key is listed first), without database
access.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TEMPLATE = Path(__file__).resolve().parent / "kong.yml"
CONSUMER = "vigia-control"


def pem_of_jwk(jwk: dict[str, Any]) -> str:
    """The SubjectPublicKeyInfo PEM of an RSA public JWK (what Kong's rsa_public_key takes)."""
    if jwk.get("kty") != "RSA":
        raise ValueError(f"signing key is not RSA: kty={jwk.get('kty')!r}")

    def uint(field: str) -> int:
        data = jwk[field]
        return int.from_bytes(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)), "big")

    public = rsa.RSAPublicNumbers(e=uint("e"), n=uint("n")).public_key()
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def current_key_from_db() -> tuple[str, dict[str, Any]]:
    """(issuer, public JWK) of control's active signing key, through control's code."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vigia.control.settings")
    import django

    django.setup()
    from django.conf import settings

    from vigia.control.tenancy import keys

    return settings.VIGIA.jwt_issuer, dict(keys.active_signing_key().public_jwk)


def current_key_from_jwks(url: str, issuer: str) -> tuple[str, dict[str, Any]]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (operator-given URL)
        document = json.load(response)
    if not document.get("keys"):
        raise ValueError(f"{url} lists no keys")
    return issuer, document["keys"][0]


def render(template: dict[str, Any], issuer: str, jwk: dict[str, Any]) -> dict[str, Any]:
    """``template`` with its consumers replaced by the one control consumer for ``jwk``."""
    if jwk.get("alg", "RS256") != "RS256":
        raise ValueError(f"signing key algorithm is {jwk.get('alg')!r}, Kong is set up for RS256")
    rendered = dict(template)
    rendered["consumers"] = [{
        "username": CONSUMER,
        "custom_id": jwk.get("kid", ""),
        "jwt_secrets": [{"key": issuer, "algorithm": "RS256", "rsa_public_key": pem_of_jwk(jwk)}],
    }]
    return rendered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="kong.yml to fill in")
    parser.add_argument("--out", type=Path, help="where to write the rendered file (default: stdout)")
    parser.add_argument("--jwks-url", help="read the key from a running control's JWKS instead of its database")
    parser.add_argument("--issuer", default=os.environ.get("VIGIA_JWT_ISSUER", "vigia-control"),
                        help="`iss` of control's tokens, with --jwks-url (default: $VIGIA_JWT_ISSUER)")
    args = parser.parse_args(argv)
    template = yaml.safe_load(args.template.read_text())
    issuer, jwk = current_key_from_jwks(args.jwks_url, args.issuer) if args.jwks_url else current_key_from_db()
    header = (f"# Rendered by kong/render.py from {args.template.name}: consumer key = control's signing key "
              f"{jwk.get('kid', '?')}.\n")
    text = header + yaml.safe_dump(render(template, issuer, jwk), sort_keys=False, width=120)
    if args.out is None:
        sys.stdout.write(text)
    else:
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(args.out)  # Kong never reads a half-written file
    return 0


if __name__ == "__main__":
    sys.exit(main())
