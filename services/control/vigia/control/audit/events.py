"""Views note the security events a request was (and each object a bulk action changed);
:class:`~vigia.control.audit.middleware.AuditMiddleware` writes them.

The middleware writes after the view's transaction ended, so an event noted by a request that
answers 401 or 429 (whose transaction rolled back) is still recorded. A request with notes gets
one audit row per note instead of its plain row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vigia.control.audit.choices import AuditAction

if TYPE_CHECKING:
    from vigia.control.tenancy.models import User

# A WSGI environ extension key (PEP 3333): the same dict under Django's and DRF's request.
ENVIRON_KEY = "vigia.audit_events"


@dataclass(frozen=True)
class AuditNote:
    """One event of a request. ``actor``: who acted, when it is not the request's authenticated
    user (a sign-in); ``subject``: the account it concerns (its org sees the row); ``target``:
    ``(object type, object id)`` of another object it concerns (each event of a bulk action)."""

    action: AuditAction
    actor: User | None = None
    subject: User | None = None
    target: tuple[str, str] | None = None


def note(request: Any, action: AuditAction, *, actor: User | None = None, subject: User | None = None,
         target: tuple[str, str] | None = None) -> None:
    """Record ``action`` for ``request`` (a Django ``HttpRequest`` or a DRF ``Request``)."""
    request.META.setdefault(ENVIRON_KEY, []).append(AuditNote(action, actor, subject, target))


def notes(request: Any) -> list[AuditNote]:
    """The events noted on ``request``, in order."""
    return list(request.META.get(ENVIRON_KEY, ()))
