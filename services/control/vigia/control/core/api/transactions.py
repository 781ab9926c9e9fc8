"""Request transactions of API views: which requests need one."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.decorators import method_decorator

# Not OPTIONS: DRF's metadata replays the view's PUT and POST (a PUT reads the object as the write
# would, row lock included), which needs the transaction a write has.
READS = frozenset({"GET", "HEAD"})


class AutocommitReadsMixin:
    """Reads run without a request transaction; writes keep one (``ATOMIC_REQUESTS``' contract).

    A read is one statement per query (each sees its own snapshot under READ COMMITTED, inside a
    transaction or not), so BEGIN and COMMIT only cost two round trips per request on the hottest
    lists. Any other method runs in one transaction, rolled back on an error response as before.
    A read called inside a caller's transaction (tests) gets a savepoint, so its error response
    marks only that savepoint for rollback, never the caller's transaction.
    """

    @method_decorator(transaction.non_atomic_requests)
    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method in READS and not transaction.get_connection().in_atomic_block:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
