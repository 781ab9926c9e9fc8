"""Sign-in lock-outs: failed sign-ins counted per (account, client address) and per client address.

Behind the proxies every request would come from the proxy, so the address is the client's
(:mod:`vigia.control.audit.client`). Two locks, both in Redis (the Django cache), shared by every
API process:

* **account from an address**: ``signin_max_failures_per_account`` failures to one e-mail from one
  address lock that pair. Guessing from one place stops; the account's owner, elsewhere, still
  signs in — nobody can lock a colleague out from across the internet.
* **address**: ``signin_max_failures_per_address`` failures from one address, to any e-mails, lock
  the address (password spraying across accounts). Higher, since offices sit behind one NAT.

Failures are counted in a window of ``signin_failure_window_s`` from the first one; a lock lasts
that long from the failure that set it. A success clears the account's failures from that
address (not the address's count: one working account must not launder a spray). Unknown e-mails
are counted like known ones, so a lock-out tells nothing about which accounts exist. An admin's
unlock (:func:`unlock_account`) moves the account to a new generation of keys: every lock and
count of the old one is forgotten at once, without scanning Redis.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from functools import lru_cache

from django.core.cache import cache
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

UNKNOWN_ADDRESS = "unknown"


class SignInSettings(BaseSettings):
    """How many failed sign-ins lock what, for how long (environment prefix ``VIGIA_``)."""

    model_config = SettingsConfigDict(env_prefix="VIGIA_", extra="forbid")

    signin_max_failures_per_account: int = Field(
        10, ge=1, le=1000, description="Failed sign-ins to one account from one client address before "
        "that account is locked out from that address (other addresses are not affected).")
    signin_max_failures_per_address: int = Field(
        50, ge=1, le=100_000, description="Failed sign-ins from one client address, to any accounts, "
        "before that address is locked out of every account.")
    signin_failure_window_s: int = Field(
        900, ge=1, le=86_400, description="Failed sign-ins are counted over this window, and a lock-out "
        "lasts this long (s).")


@lru_cache(maxsize=1)
def signin_settings() -> SignInSettings:
    return SignInSettings.model_validate({})


@dataclass(frozen=True)
class NewLocks:
    """Which locks a failure set (each is set by exactly one failure)."""

    account: bool = False
    address: bool = False


def _account(email: str) -> str:
    # Hashed: an e-mail may hold characters a cache key must not, and Redis need not hold e-mails.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def _generation(account: str) -> int:
    return int(cache.get(f"signin:generation:{account}") or 0)


def _keys(email: str, address: str | None) -> tuple[str, str, str, str]:
    """Failure counter and lock of (account, address), then of the address."""
    account, where = _account(email), address or UNKNOWN_ADDRESS
    pair = f"{account}:{_generation(account)}:{where}"
    return (f"signin:failures:account:{pair}", f"signin:locked:account:{pair}",
            f"signin:failures:address:{where}", f"signin:locked:address:{where}")


def retry_after(email: str, address: str | None) -> int | None:
    """Seconds until ``email`` may try to sign in from ``address`` again, or None when it may now."""
    _, account_lock, _, address_lock = _keys(email, address)
    deadlines = cache.get_many([account_lock, address_lock]).values()
    if not deadlines:
        return None
    return max(1, math.ceil(max(float(deadline) for deadline in deadlines) - time.time()))


def _count(key: str, window: int) -> int:
    cache.add(key, 0, window)  # the window starts at the first failure
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr: this failure starts a new window
        cache.set(key, 1, window)
        return 1


def note_failure(email: str, address: str | None) -> NewLocks:
    """Count a failed sign-in; lock what reached its limit with this very failure."""
    policy = signin_settings()
    window = policy.signin_failure_window_s
    account_failures, account_lock, address_failures, address_lock = _keys(email, address)
    deadline = time.time() + window
    account = _count(account_failures, window) == policy.signin_max_failures_per_account
    address_hit = _count(address_failures, window) == policy.signin_max_failures_per_address
    if account:
        cache.set(account_lock, deadline, window)
    if address_hit:
        cache.set(address_lock, deadline, window)
    return NewLocks(account=account, address=address_hit)


def note_success(email: str, address: str | None) -> None:
    """A successful sign-in forgets the account's failures from ``address``."""
    cache.delete(_keys(email, address)[0])


def unlock_account(email: str) -> None:
    """Forget every lock-out and failure count of ``email``, from every address (an admin's unlock)."""
    key = f"signin:generation:{_account(email)}"
    cache.add(key, 0, None)
    cache.incr(key)
