"""Per-camera frame rate limit in Redis, shared by every gateway replica.

**The rule.** A camera may push ``limit`` frames per window; a window opens with the camera's
first frame and lasts one second (a Redis key with a 1 s expiry counts the window's frames). A
burst straddling two windows can reach twice the limit for an instant; the limit exists to protect
the vision workers from a runaway camera, which this does.

**Reservations.** Asking Redis once per frame would cost the gateway more than anything but
publishing (a round trip is two system calls and two parses, ~0.1 ms of CPU on this machine), so a
gateway process *reserves* frames in blocks: one Lua script call (atomic) adds up to ``block``
frames to the window's counter, never past the limit, takes as many sequence numbers, and returns
the window's remaining time; the process then admits that many frames of the camera locally until
the window ends. Once Redis grants less than asked the window is full, and the process refuses the
camera's frames locally (429 with the window's remaining time as Retry-After) until it ends: a
flooding camera costs one Redis call per window, not one per refused frame. Calls for frames that
arrive while another call is in flight are group-committed: one script call carries the
reservations of every camera waiting.

The block grows with the camera's rate: a quarter of the frames it pushed through this process in
its previous window (or so far in this one), at least 1 and at most a tenth of the limit. A 1 fps
camera reserves one frame at a time (one call per frame, no waste); a 40 fps camera reserves 10
(four calls a second).

**Tolerance, across any number of replicas.** Every admitted frame was counted in Redis before it
was admitted, so a camera never gets more than ``limit`` frames in a window, whichever replicas
its frames reach (the same bound as one call per frame). It can get fewer: frames a replica
reserved and did not use before the window ended are lost to the others, at most ``block - 1`` per
replica per window, so with R replicas sharing one camera's frames the camera gets at least
``limit - (R - 1) * (limit // 10)`` frames per window before refusals (90 % of the limit with two
replicas). A camera normally keeps one keep-alive connection, i.e. one process, and then it gets
exactly ``limit``.

**Sequence numbers** (``seq`` in frame.captured) come with the reservations: unique per camera,
increasing through one process, but unused reserved numbers are skipped when a window ends, and
frames of one camera spread over replicas are not numbered in arrival order across them.

If Redis is unreachable the limiter lets frames through (``seq`` 0) and counts it: Redis holds
nothing the gateway cannot do without, and refusing every frame during a Redis outage would turn
a cache failure into a total outage.
"""

from __future__ import annotations

import asyncio
import logging
import math
import uuid
from dataclasses import dataclass

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

RATE_LIMIT_UNAVAILABLE = Counter(
    "vigia_frames_rate_limit_unavailable_total",
    "Frames let through without a rate-limit decision because Redis did not answer")
RATE_LIMIT_CALLS = Counter(
    "vigia_frames_rate_limit_redis_calls_total",
    "Redis calls of the frame rate limiter (each reserves frames for one or more cameras)")

WINDOW_MS = 1000
SEQ_TTL_S = 86_400  # a camera silent for a day restarts its sequence at 1
MAX_CAMERAS_PER_CALL = 256  # more wait for the next call
BLOCK_RATE_DIVISOR = 4  # a block is a quarter of the camera's frames per window...
BLOCK_LIMIT_DIVISOR = 10  # ...and at most a tenth of the limit
MAX_BUDGETS = 100_000  # cameras remembered by one process; expired ones are pruned past this

# KEYS: rate and seq key of each camera, in pairs. ARGV: limit, window ms, seq TTL s, then the
# number of frames wanted for each camera. Returns, per camera: frames granted, the last seq taken
# (the granted frames own the ``granted`` numbers ending there) and the window's remaining ms.
_SCRIPT = """
local limit = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS / 2 do
  local rate, seqkey = KEYS[2 * i - 1], KEYS[2 * i]
  local want = tonumber(ARGV[3 + i])
  local count = tonumber(redis.call('GET', rate) or '0')
  local grant = math.max(0, math.min(want, limit - count))
  local seq = 0
  if grant > 0 then
    if redis.call('INCRBY', rate, grant) == grant then redis.call('PEXPIRE', rate, ARGV[2]) end
    seq = redis.call('INCRBY', seqkey, grant)
    redis.call('EXPIRE', seqkey, ARGV[3])
  end
  local ttl = redis.call('PTTL', rate)
  if ttl < 0 then redis.call('PEXPIRE', rate, ARGV[2]); ttl = tonumber(ARGV[2]) end
  out[3 * i - 2] = grant
  out[3 * i - 1] = seq
  out[3 * i] = ttl
end
return out
"""


@dataclass(frozen=True, slots=True)
class RateDecision:
    """``allowed`` with the frame's per-camera ``seq``, or refused with ``retry_after_s``."""

    allowed: bool
    seq: int = 0
    retry_after_s: int = 0


_UNDECIDED = RateDecision(True)


@dataclass(slots=True)
class _Budget:
    """What this process may still admit of one camera until its window ends (loop time)."""

    ends: float = 0.0
    left: int = 0  # reserved frames not used yet
    next_seq: int = 0
    full: bool = False  # Redis granted less than asked: refuse until the window ends
    used: int = 0  # frames admitted in this window
    previous: int = 0  # frames admitted in the camera's previous window, if it just ended
    waiting: int = 0  # frames waiting for Redis: later ones must not overtake them

    def roll(self, now: float) -> None:
        """Forget the window if it has ended (remembering its use to size the next block)."""
        if self.ends and now >= self.ends:
            self.previous = self.used if now - self.ends < WINDOW_MS / 1000 else 0
            self.ends, self.left, self.full, self.used = 0.0, 0, False, 0

    def take(self, now: float) -> RateDecision | None:
        """A local decision, or None when Redis must be asked."""
        self.roll(now)
        if not self.ends:
            return None
        if self.left > 0:
            self.left -= 1
            self.used += 1
            self.next_seq += 1
            return RateDecision(True, seq=self.next_seq - 1)
        if self.full:
            return RateDecision(False, retry_after_s=max(1, math.ceil(self.ends - now)))
        return None


class CameraRateLimiter:
    """``limit`` frames per second per camera; see the module docstring."""

    def __init__(self, redis: Redis, limit: int, *, prefix: str = "frames") -> None:
        self._redis = redis
        self._limit = limit
        self._prefix = prefix
        self._max_block = max(1, limit // BLOCK_LIMIT_DIVISOR)
        self._script = redis.register_script(_SCRIPT)
        self._budgets: dict[uuid.UUID, _Budget] = {}
        self._pending: list[tuple[uuid.UUID, asyncio.Future[RateDecision]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def admit(self, camera: uuid.UUID) -> RateDecision:
        """Count one frame of ``camera`` and say whether it may go through."""
        loop = asyncio.get_running_loop()
        budget = self._budgets.get(camera)
        if budget is None:
            budget = self._budgets[camera] = _Budget()
        elif not budget.waiting:  # else behind this camera's frames already waiting: keep the order
            decision = budget.take(loop.time())
            if decision is not None:
                return decision
        future: asyncio.Future[RateDecision] = loop.create_future()
        self._pending.append((camera, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="rate-limit-flush")
        budget.waiting += 1
        try:
            return await future
        finally:
            budget.waiting -= 1

    async def _flush(self) -> None:
        """Decide the waiting frames, one Redis call at a time, until none wait."""
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                # Frames that the reservation just made can serve are decided here; the rest,
                # up to MAX_CAMERAS_PER_CALL cameras, go to Redis together.
                wanting: dict[uuid.UUID, list[asyncio.Future[RateDecision]]] = {}
                later: list[tuple[uuid.UUID, asyncio.Future[RateDecision]]] = []
                now = loop.time()
                for camera, future in self._pending:
                    if future.done():
                        continue
                    if camera in wanting:
                        wanting[camera].append(future)
                        continue
                    budget = self._budgets.get(camera)
                    decision = budget.take(now) if budget is not None else None
                    if decision is not None:
                        future.set_result(decision)
                    elif len(wanting) < MAX_CAMERAS_PER_CALL:
                        wanting[camera] = [future]
                    else:
                        later.append((camera, future))
                self._pending = later
                if not wanting:
                    continue
                try:
                    await self._reserve(wanting)
                except asyncio.CancelledError:
                    for futures in wanting.values():
                        for future in futures:
                            future.cancel()
                    raise
                except Exception as exc:  # a bug, not Redis being down: fail these frames, go on
                    for futures in wanting.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
        finally:
            self._flusher = None
            for _, future in self._pending:  # cancelled with frames still waiting: they must not hang
                future.cancel()
            self._pending = []

    def _block(self, camera: uuid.UUID, frames: int) -> int:
        budget = self._budgets.get(camera)
        rate = max(budget.previous, budget.used) if budget is not None else 0
        return max(frames, min(self._max_block, rate // BLOCK_RATE_DIVISOR))

    async def _reserve(self, wanting: dict[uuid.UUID, list[asyncio.Future[RateDecision]]]) -> None:
        """One script call reserving frames for every camera in ``wanting``; decides its frames
        (in arrival order) and keeps what is left for the next ones."""
        keys: list[str] = []
        wants: list[int] = []
        for camera, futures in wanting.items():
            keys += (f"{self._prefix}:{camera}:rate", f"{self._prefix}:{camera}:seq")
            wants.append(self._block(camera, len(futures)))
        RATE_LIMIT_CALLS.inc()
        loop = asyncio.get_running_loop()
        try:
            result = await self._script(keys=keys, args=[self._limit, WINDOW_MS, SEQ_TTL_S, *wants])
        except (RedisError, OSError) as exc:
            frames = sum(len(futures) for futures in wanting.values())
            RATE_LIMIT_UNAVAILABLE.inc(frames)
            log.warning("rate limit unavailable, frames let through", extra={"error": str(exc), "frames": frames})
            for futures in wanting.values():
                for future in futures:
                    if not future.done():
                        future.set_result(_UNDECIDED)
            return
        now = loop.time()
        if len(self._budgets) >= MAX_BUDGETS:
            self._budgets = {c: b for c, b in self._budgets.items() if b.ends > now or b.waiting}
        for index, (camera, futures) in enumerate(wanting.items()):
            granted, last_seq, ttl_ms = (int(v) for v in result[3 * index:3 * index + 3])
            budget = self._budgets.get(camera)
            if budget is None:
                budget = self._budgets[camera] = _Budget()
            budget.roll(now)  # its window may have ended while we asked (nothing is left of it)
            # PTTL says 0 in the window's last millisecond: the frames granted in it still pass.
            budget.ends = now + max(ttl_ms, 1) / 1000
            budget.left, budget.next_seq = granted, last_seq - granted + 1
            budget.full = granted < wants[index]
            for future in futures:
                if future.done():  # its request was cancelled meanwhile
                    continue
                decision = budget.take(now)
                future.set_result(decision if decision is not None
                                  else RateDecision(False, retry_after_s=max(1, math.ceil(ttl_ms / 1000))))
