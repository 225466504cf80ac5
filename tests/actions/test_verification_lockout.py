"""Guessing order numbers for an email: issue 15's attacks on verification, replayed.

Failures are counted in the CRM per email, order number and client, so a forged tracker (the old
`verification_attempts: 0` slot) or a new conversation per try resets nothing. The clock is the
action's own (`actions.verification.utcnow`), moved by the test: no test waits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

import actions.verification
from actions.invoices import ActionShowInvoices
from actions.orders import ActionTrackOrder, ValidateTrackOrderForm
from supportbot.crm.models import VerificationFailure
from supportbot.store import crm_session
from tests.actions.conftest import get_tracker, slot_events, texts, with_new_slots

GRACE = "grace@example.com"
GRACES_ORDER = "100002"
# Order numbers that are not Grace's (the seed numbers orders from 100001 on).
NOT_GRACES = ["100001", "100003", "100004", *(str(n) for n in range(100006, 100030))]
REFUSAL = "I couldn't verify that the order is yours"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock()
    monkeypatch.setattr(actions.verification, "utcnow", lambda: clock.now)
    yield clock


@dataclass
class Try:
    slots: dict[str, Any]
    said: str

    @property
    def verified(self) -> bool:
        return "customer_name" in self.slots

    @property
    def refused(self) -> bool:
        """Not checked: the form ends without a word, for its submit action to refuse."""
        return self.slots.get("email") is not None and not self.verified


async def try_pair(
    domain: dict[str, Any],
    order: str,
    email: str = GRACE,
    *,
    sender_id: str = "conversation-1",
    metadata: dict[str, Any] | None = None,
) -> Try:
    """One forged (or real) webhook call validating `email` for `order`, with the old
    client-side counter reset to 0 as the attacker sent it."""
    tracker = with_new_slots(
        get_tracker(
            sender_id=sender_id,
            slots={"order_id": order, "requested_slot": "email", "verification_attempts": 0},
            active_loop="track_order_form",
            metadata=metadata,
        ),
        email=email,
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateTrackOrderForm().run(dispatcher, tracker, domain)
    return Try(slot_events(events), texts(dispatcher))


async def invoices_of(domain: dict[str, Any], sender_id: str = "conversation-1") -> str:
    dispatcher = CollectingDispatcher()
    await ActionShowInvoices().run(dispatcher, get_tracker(sender_id=sender_id), domain)
    return texts(dispatcher)


async def test_21_forged_calls_for_graces_email_end_locked_not_verified(crm_url, domain, clock):
    # The replay: 21 webhook calls, each from a fresh conversation with its counter at
    # 0, 30 s apart (past the short waits), the 21st with Grace's real order number.
    tries = []
    for attempt, order in enumerate([*NOT_GRACES[:20], GRACES_ORDER]):
        tries.append(await try_pair(domain, order, sender_id=f"attacker-{attempt}"))
        clock.advance(seconds=30)

    assert [t.refused for t in tries[:5]] == [False] * 5  # five wrong guesses checked...
    assert all(t.refused for t in tries[5:])  # ...then the email is locked, the last one too
    assert not any(t.verified for t in tries)
    assert "INV-500002" not in await invoices_of(domain, "attacker-20")


async def test_ten_wrong_orders_in_one_conversation_then_the_right_one_is_refused(
    crm_url, domain, clock
):
    for order in NOT_GRACES[:10]:
        await try_pair(domain, order)
        clock.advance(seconds=30)  # a patient attacker: each wait has passed

    last = await try_pair(domain, GRACES_ORDER)

    assert last.refused and not last.verified
    dispatcher = CollectingDispatcher()
    events = await ActionTrackOrder().run(
        dispatcher, get_tracker(slots={"order_id": GRACES_ORDER, "email": GRACE}), domain
    )
    assert REFUSAL in texts(dispatcher)
    assert dispatcher.messages[-1]["buttons"] == [
        {"title": "Talk to a person", "payload": "/contact_human_agent"}
    ]
    assert slot_events(events) == {"order_id": None, "email": None}
    assert "INV-500002" not in await invoices_of(domain)


async def test_a_try_too_soon_after_a_failure_is_refused_unchecked(crm_url, domain, clock):
    first = await try_pair(domain, NOT_GRACES[0])
    clock.advance(seconds=1)  # the wait after one failure is 2 s
    too_soon = await try_pair(domain, GRACES_ORDER)
    clock.advance(seconds=2)
    later = await try_pair(domain, GRACES_ORDER)

    assert "don't match" in first.said
    assert first.slots == {"order_id": None, "email": None, "requested_slot": "order_id"}
    assert too_soon.refused and too_soon.said == ""
    assert later.verified


async def test_the_waits_grow_and_the_lock_lifts_after_its_time(crm_url, domain, clock):
    for order, wait in zip(NOT_GRACES, [2, 4, 8, 16], strict=False):
        assert not (await try_pair(domain, order)).refused
        clock.advance(seconds=wait - 1)
        assert (await try_pair(domain, GRACES_ORDER)).refused  # a second early
        clock.advance(seconds=1)
    assert not (await try_pair(domain, NOT_GRACES[4])).refused  # the fifth failure: locked
    clock.advance(minutes=14)
    assert (await try_pair(domain, GRACES_ORDER)).refused
    clock.advance(minutes=1)
    assert (await try_pair(domain, GRACES_ORDER)).verified


async def test_every_email_is_counted_so_a_lock_says_nothing_about_who_exists(
    crm_url, domain, clock
):
    said = {}
    for email in (GRACE, "nobody-here@example.org"):
        for order in NOT_GRACES[:5]:
            await try_pair(domain, order, email, sender_id=f"{email}-{order}")
            clock.advance(minutes=1)
        refused = await try_pair(domain, GRACES_ORDER, email, sender_id=f"{email}-last")
        said[email] = (refused.refused, refused.said, sorted(refused.slots))
    assert said[GRACE] == said["nobody-here@example.org"] == (True, "", ["email", "requested_slot"])


async def test_one_client_guessing_many_emails_is_locked_by_its_own_count(crm_url, domain, clock):
    client = {"client": "opaque-per-client-value"}
    for number, order in enumerate(NOT_GRACES[:5]):
        email = f"guess{number}@example.org"
        await try_pair(domain, order, email, sender_id=f"conv-{number}", metadata=client)
        clock.advance(minutes=1)

    from_that_client = await try_pair(domain, GRACES_ORDER, sender_id="conv-new", metadata=client)
    from_elsewhere = await try_pair(domain, GRACES_ORDER, sender_id="conv-other")

    assert from_that_client.refused
    assert from_elsewhere.verified


async def test_success_clears_the_typos_of_its_email_and_order_and_stores_no_email(
    crm_url, domain, clock
):
    await try_pair(domain, NOT_GRACES[0])
    clock.advance(minutes=1)
    assert (await try_pair(domain, GRACES_ORDER)).verified

    with crm_session(crm_url) as crm:
        rows = crm.session.scalars(select(VerificationFailure)).all()
    # Grace's email and order are cleared; the wrong order number and the client keep theirs,
    # and nothing stored names the email or an order number.
    assert sorted((row.kind, row.failures) for row in rows) == [("client", 1), ("order", 1)]
    assert all(GRACE not in row.key and "1000" not in row.key for row in rows)
