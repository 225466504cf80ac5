"""Rasa's Redis lock store with a lock that is one atomic Redis key per conversation.

Rasa 3.6's RedisLockStore keeps a conversation's queue of tickets as one JSON value that each
worker reads, changes and writes back. Two workers issuing tickets at the same moment overwrite
each other's, both go ahead, and the turns they save clobber each other: on the scaled stack
(two Rasa workers) the same-sender burst test lost messages from the tracker about every other
run (tests/integration/test_burst.py). Here a conversation's lock is `SET key token NX PX`: one
holder at a time, gone by itself if the holder dies, released only by its holder
(compare-and-delete). Waiters poll every POLL_S rather than Rasa's 1 s.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

POLL_S = 0.01
_RELEASE = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""


class AtomicRedisLockStore(RedisLockStore):
    """A RedisLockStore whose `lock` is a Redis mutex (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._release = self.red.register_script(_RELEASE)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = POLL_S,
    ) -> AsyncIterator[TicketLock]:
        key = f"{self.key_prefix}mutex:{conversation_id}"
        token = uuid.uuid4().hex
        # A waiter gives up when it has waited a lock's lifetime, as Rasa's ticket expires.
        deadline = time.monotonic() + lock_lifetime
        while not self.red.set(key, token, nx=True, px=max(1, int(lock_lifetime * 1000))):
            if time.monotonic() > deadline:
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            await asyncio.sleep(min(wait_time_in_seconds, POLL_S))
        try:
            yield TicketLock(conversation_id)
        finally:
            self._release(keys=[key], args=[token])
