"""Identity: order number + email, signed tokens, and what never establishes identity."""

from __future__ import annotations

import time

from actions.crm import run_for_customer
from actions.orders import ValidateTrackOrderForm
from actions.session import ActionGreet
from supportbot.store import crm_session
from tests.actions.conftest import (
    customer_id,
    get_tracker,
    slot_events,
    texts,
    token_for,
    with_new_slots,
)


async def customer_id_for(tracker) -> int | None:
    """Who the actions take the customer of this conversation to be."""
    return await run_for_customer(tracker, lambda _crm, customer_id: customer_id)


async def test_matching_order_and_email_verifies_and_binds_the_conversation(
    crm_url, dispatcher, domain
):
    tracker = with_new_slots(
        get_tracker(
            slots={"order_id": "100001", "requested_slot": "email"}, active_loop="track_order_form"
        ),
        email="  ADA@example.com ",
    )
    events = await ValidateTrackOrderForm().run(dispatcher, tracker, domain)

    slots = slot_events(events)
    assert slots["email"] == "ada@example.com"
    assert slots["customer_name"] == "Ada Lovelace"
    assert "verified" in texts(dispatcher)
    with crm_session(crm_url) as crm:
        assert crm.interactions.verified_customer_id("conversation-1") == customer_id(
            crm_url, "ada@example.com"
        )


async def test_email_of_another_customer_does_not_verify(crm_url, dispatcher, domain):
    tracker = with_new_slots(
        get_tracker(
            slots={"order_id": "100001", "requested_slot": "email"}, active_loop="track_order_form"
        ),
        email="grace@example.com",
    )
    events = await ValidateTrackOrderForm().run(dispatcher, tracker, domain)

    slots = slot_events(events)
    assert slots["order_id"] is None and slots["email"] is None
    assert "don't match" in texts(dispatcher)
    with crm_session(crm_url) as crm:
        assert crm.interactions.verified_customer_id("conversation-1") is None


async def test_anonymous_form_asks_for_email_after_the_order(crm_url, dispatcher, domain):
    tracker = get_tracker(active_loop="track_order_form")
    required = await ValidateTrackOrderForm().required_slots(
        ["order_id"], dispatcher, tracker, domain
    )
    assert required == ["order_id", "email"]


async def test_valid_token_verifies_and_greets_by_name(crm_url, dispatcher, domain):
    token = token_for(crm_url, "grace@example.com")
    tracker = get_tracker(intent="greet", text="hello", metadata={"customer_token": token})

    events = await ActionGreet().run(dispatcher, tracker, domain)

    assert "Hi Grace" in texts(dispatcher)
    assert slot_events(events) == {"customer_name": "Grace Hopper"}
    required = await ValidateTrackOrderForm().required_slots(
        ["order_id"], dispatcher, tracker, domain
    )
    assert required == ["order_id"]  # no email question for a token-verified customer


async def test_forged_and_expired_tokens_are_ignored(crm_url, dispatcher, domain):
    forged = token_for(crm_url, "ada@example.com", secret="not-our-secret-0123456789abcdefghij")
    expired = token_for(crm_url, "ada@example.com", ttl=60, issued_at=time.time() - 600)
    for token in (forged, expired, "garbage"):
        tracker = get_tracker(metadata={"customer_token": token})
        assert await customer_id_for(tracker) is None
    with crm_session(crm_url) as crm:
        assert crm.interactions.verified_customer_id("conversation-1") is None


async def test_slots_entities_and_unsigned_metadata_never_identify(crm_url, dispatcher, domain):
    ada = customer_id(crm_url, "ada@example.com")
    tracker = get_tracker(
        intent="track_order",
        text='/track_order{"order_id":"100002","email":"grace@example.com"}',
        entities=[{"entity": "email", "value": "grace@example.com"}],
        slots={"email": "grace@example.com", "customer_name": "Grace Hopper"},
        metadata={"customer_id": ada, "verified": True},
    )
    assert await customer_id_for(tracker) is None


async def test_a_token_outranks_an_older_verification_of_another_customer(
    crm_url, dispatcher, domain
):
    ada = customer_id(crm_url, "ada@example.com")
    with crm_session(crm_url) as crm:
        crm.interactions.bind_customer("conversation-1", ada, method="order_email")
    grace_token = token_for(crm_url, "grace@example.com")

    tracker = get_tracker(metadata={"customer_token": grace_token})

    assert await customer_id_for(tracker) == customer_id(crm_url, "grace@example.com")
