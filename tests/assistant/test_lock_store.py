"""The atomic Redis lock store: one holder per conversation across workers (needs Redis:
SUPPORTBOT_TEST_REDIS_URL, which .ci/run sets when a local server answers)."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from urllib.parse import urlsplit

import pytest

from assistant.lock_store import AtomicRedisLockStore

REDIS_URL = os.environ.get("SUPPORTBOT_TEST_REDIS_URL", "")


@pytest.fixture
def two_workers() -> tuple[AtomicRedisLockStore, AtomicRedisLockStore]:
    if not REDIS_URL:
        pytest.skip("needs SUPPORTBOT_TEST_REDIS_URL (.ci/run sets it when Redis answers)")
    redis = urlsplit(REDIS_URL)
    stores = [AtomicRedisLockStore(host=redis.hostname, port=redis.port or 6379) for _ in "ab"]
    return stores[0], stores[1]


def test_one_conversation_has_one_holder_at_a_time_across_workers(two_workers):
    """Two workers (each a thread with its own event loop and Redis client) take turns on one
    conversation; Rasa's own RedisLockStore lets their turns overlap here."""
    conversation = f"c-{uuid.uuid4().hex}"
    inside: list[str] = []
    overlaps: list[list[str]] = []
    guard = threading.Lock()

    async def turn(store: AtomicRedisLockStore, name: str) -> None:
        async with store.lock(conversation):
            with guard:
                inside.append(name)
                if len(inside) > 1:
                    overlaps.append(list(inside))
            await asyncio.sleep(0.002)
            with guard:
                inside.remove(name)

    async def worker(store: AtomicRedisLockStore, name: str) -> None:
        await asyncio.gather(*(turn(store, f"{name} {n}") for n in range(20)))

    threads = [
        threading.Thread(target=asyncio.run, args=(worker(store, name),))
        for store, name in zip(two_workers, ("a", "b"), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert overlaps == []
    assert inside == []


def test_a_lock_is_released_after_its_turn_even_when_the_turn_fails(two_workers):
    store, _ = two_workers
    conversation = f"c-{uuid.uuid4().hex}"

    async def failing_turn() -> None:
        async with store.lock(conversation):
            raise RuntimeError("the turn failed")

    with pytest.raises(RuntimeError):
        asyncio.run(failing_turn())
    assert store.red.get(f"{store.key_prefix}mutex:{conversation}") is None
