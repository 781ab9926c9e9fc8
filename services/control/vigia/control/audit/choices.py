"""What an audit entry records beyond the request itself."""

from __future__ import annotations

from django.db import models


class AuditAction(models.TextChoices):
    """A security event a view noted on the request (``""`` for a plain mutating request). The
    personal-data reads (LGPD: who looked up which plate, who exported passages) are recorded like
    mutating requests, with their query; so are face enrolments, erasures, searches and exports."""

    SIGN_IN = "sign_in", "signed in"
    SIGN_IN_FAILED = "sign_in_failed", "wrong e-mail or password"
    SIGN_IN_REFUSED = "sign_in_refused", "sign-in refused: locked out"
    ACCOUNT_LOCKED_OUT = "account_locked_out", "too many failed sign-ins to this account from this address"
    ADDRESS_LOCKED_OUT = "address_locked_out", "too many failed sign-ins from this address"
    USER_UNLOCKED = "user_unlocked", "an admin cleared a user's sign-in lock-outs"
    EVENT_ACKNOWLEDGED = "event_acknowledged", "an operator acknowledged an event"
    EVENT_RESOLVED = "event_resolved", "an operator resolved an event"
    PLATE_SEARCHED = "plate_searched", "someone searched for a plate or read its history"
    PASSAGES_EXPORTED = "passages_exported", "someone exported passages (CSV)"
    FACE_ENROLLED = "face_enrolled", "an admin enrolled a person or a photo of them for face recognition"
    FACE_ERASED = "face_erased", "an admin deleted an enrolled person with their photos and sightings"
    FACES_SEARCHED = "faces_searched", "someone searched the face sightings"
    FACES_EXPORTED = "faces_exported", "someone exported what is held about an enrolled person"
