"""The rate limit of webhook posts: signed posts are counted per node in a fixed window in Redis
(the Django cache, shared by every API process); past the limit the answer is 429 with
``Retry-After``. Only signed posts count, so someone without the secret cannot use up the
sender's allowance. No model imports here: the README's settings table reads :class:`HookSettings`.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import Any

from django.core.cache import cache
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HookSettings(BaseSettings):
    """Rate limit of webhook posts (environment prefix ``VIGIA_``)."""

    model_config = SettingsConfigDict(env_prefix="VIGIA_", extra="forbid")

    hook_max_posts: int = Field(60, ge=1, le=100_000, description="Signed posts one api_webhook node "
                                "accepts per window (VIGIA_HOOK_WINDOW_S); more answer 429 with Retry-After.")
    hook_window_s: int = Field(60, ge=1, le=86_400, description="The window of VIGIA_HOOK_MAX_POSTS (s).")


@lru_cache(maxsize=1)
def hook_settings() -> HookSettings:
    return HookSettings.model_validate({})


def throttle(pipeline: Any, node: str) -> int | None:
    """Count one post to the node; the seconds until the window ends if it is over the limit."""
    config = hook_settings()
    now = time.time()
    window = int(now // config.hook_window_s)
    key = f"hooks:{pipeline}:{node}:{window}"
    cache.add(key, 0, timeout=config.hook_window_s + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, count := 1, timeout=config.hook_window_s + 1)
    if count <= config.hook_max_posts:
        return None
    return max(1, math.ceil((window + 1) * config.hook_window_s - now))
