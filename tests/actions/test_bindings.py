"""How long a verified binding lasts, and what ends it: issue 15's attacks on bound
conversations, replayed (an old binding, /restart, a new session, the next customer's token,
a logged-out page)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import update

from actions.invoices import ActionShowInvoices
from actions.session import ActionRestart, ActionSessionStart
from supportbot.crm import Interaction
from supportbot.crm.models import utcnow
from supportbot.store import crm_session
from tests.actions.conftest import customer_id, get_tracker, slot_events, texts, token_for

ADA = "ada@example.com"
GRACE = "grace@example.com"
SENDER = "conversation-1"
NOT_VERIFIED = "I couldn't verify that the order is yours"


def bind(url: str, email: str, method: str = "order_email") -> None:
    with crm_session(url) as crm:
        crm.interactions.bind_customer(SENDER, customer_id(url, email), method=method)


def verified(url: str) -> int | None:
    with crm_session(url) as crm:
        return crm.interactions.verified_customer_id(SENDER)


async def invoices(domain: dict[str, Any], metadata: dict[str, Any] | None = None) -> str:
    dispatcher = CollectingDispatcher()
    await ActionShowInvoices().run(dispatcher, get_tracker(metadata=metadata), domain)
    return texts(dispatcher)


async def test_a_binding_older_than_the_ttl_gets_no_data(crm_url, domain):
    bind(crm_url, GRACE)
    assert "INV-500002" in await invoices(domain)
    with crm_session(crm_url) as crm:
        crm.session.execute(
            update(Interaction)
            .where(Interaction.sender_id == SENDER)
            .values(verified_at=utcnow() - timedelta(hours=1, seconds=1))
        )

    reply = await invoices(domain)

    assert NOT_VERIFIED in reply and "INV-500002" not in reply
    assert verified(crm_url) is None


async def test_restart_unbinds_and_restarts_like_rasa(crm_url, domain):
    bind(crm_url, GRACE)
    dispatcher = CollectingDispatcher()

    events = await ActionRestart().run(
        dispatcher, get_tracker(intent="restart", text="/restart"), domain
    )

    assert [event["event"] for event in events] == ["restart"]
    assert dispatcher.messages == []  # the domain has no utter_restart
    assert verified(crm_url) is None
    assert "INV-500002" not in await invoices(domain)


async def test_a_new_session_starts_anonymous(crm_url, domain):
    bind(crm_url, GRACE)
    tracker = get_tracker(slots={"customer_name": "Grace Hopper", "email": GRACE, "order_id": "1"})

    events = await ActionSessionStart().run(CollectingDispatcher(), tracker, domain)

    assert verified(crm_url) is None
    assert slot_events(events) == {"order_id": "1"}  # who she said she was is not carried over
    assert "INV-500002" not in await invoices(domain)


async def test_ada_after_grace_sees_adas_invoices_not_graces(crm_url, domain):
    bind(crm_url, GRACE)  # Grace verified with her order and email in this conversation

    reply = await invoices(domain, {"customer_token": token_for(crm_url, ADA)})

    assert "INV-500001" in reply and "INV-500002" not in reply
    assert verified(crm_url) == customer_id(crm_url, ADA)


async def test_a_token_bound_conversation_without_a_valid_token_is_anonymous_again(crm_url, domain):
    token = token_for(crm_url, ADA)
    expired = token_for(crm_url, ADA, ttl=60, issued_at=time.time() - 600)
    for later in ({}, {"customer_token": expired}, {"customer_token": "garbage"}):
        assert "INV-500001" in await invoices(domain, {"customer_token": token})

        reply = await invoices(domain, later)  # logged out, or the page's token expired

        assert NOT_VERIFIED in reply and "INV-500001" not in reply
        assert verified(crm_url) is None


async def test_an_order_and_email_verification_stays_for_messages_without_a_token(crm_url, domain):
    bind(crm_url, ADA)
    assert "INV-500001" in await invoices(domain)
    assert verified(crm_url) == customer_id(crm_url, ADA)
