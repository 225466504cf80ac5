"""The verification guard's rules and its counts on real databases (SQLite, and PostgreSQL when
configured): growing waits, the lock, keyed hashes, and tries that race on one email.
(The attacks through the form: tests/actions/test_verification_lockout.py.)"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from actions.verification import verify_order_owner
from supportbot.crm.verification_guard import FORGET_AFTER, GuardRules, guard_keys
from supportbot.store import crm_session

SECRET = "identity-secret-for-guard-tests-0123456789"
GRACE = "grace@example.com"


def test_the_wait_doubles_then_locks_then_doubles_up_to_a_day():
    rules = GuardRules(max_failures=5, delay=timedelta(seconds=2), lock=timedelta(minutes=15))
    waits = [rules.wait_after(n).total_seconds() for n in range(10)]
    assert waits == [0, 2, 4, 8, 16, 900, 1800, 3600, 7200, 14400]
    assert rules.wait_after(1000) == FORGET_AFTER


def test_keys_are_keyed_hashes_one_per_kind():
    keys = guard_keys(SECRET, email=GRACE, order_number="100002", client="sender:c-1")
    assert len({keys.email, keys.order, keys.client}) == 3
    assert all(len(key) == 64 and GRACE not in key for key in keys.by_kind().values())
    assert keys == guard_keys(SECRET, email=GRACE, order_number="100002", client="sender:c-1")
    other_secret = guard_keys(SECRET[::-1], email=GRACE, order_number="100002", client="x")
    assert other_secret.email != keys.email


# Each guesser has a connection of its own, which must see the others' commits.
@pytest.mark.committed
def test_guesses_racing_on_one_email_are_checked_one_at_a_time(crm_url: str):
    """Eight conversations send a wrong order number for Grace at the same moment: the first
    is checked and fails, and the others, waiting on its lock, are then too soon after it."""
    guessers = 8
    start = threading.Barrier(guessers)
    outcomes: dict[int, str | Exception] = {}

    def guess(n: int) -> None:
        order = str(100100 + n)
        keys = guard_keys(SECRET, email=GRACE, order_number=order, client=f"sender:race-{n}")
        start.wait()
        try:
            with crm_session(crm_url) as crm:
                outcomes[n] = verify_order_owner(crm, f"race-{n}", order, GRACE, keys)
        except Exception as error:  # (collected and checked below)
            outcomes[n] = error

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guessers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(map(str, outcomes.values())) == ["failed"] + ["refused"] * (guessers - 1)
