"""Per-device credentials: opaque tokens (``vigia.common.auth``) shown once, stored as SHA-256,
revocable. The gateways verify them with the same module."""

from __future__ import annotations

from django.utils import timezone

from vigia.common.auth import new_device_token
from vigia.control.devices.models import Device, DeviceCredential


def issue_credential(device: Device) -> tuple[DeviceCredential, str]:
    """Create a credential for ``device``; returns it and the token, which is never stored."""
    token = new_device_token()
    credential = DeviceCredential.objects.create(org_id=device.org_id, device=device, prefix=token.prefix,
                                                 token_hash=token.token_hash)
    return credential, token.token


def revoke(credential: DeviceCredential) -> DeviceCredential:
    """Lock the credential out from now on (idempotent: the first revocation time is kept)."""
    if credential.revoked_at is None:
        credential.revoked_at = timezone.now()
        credential.save(update_fields=["revoked_at"])
    return credential
