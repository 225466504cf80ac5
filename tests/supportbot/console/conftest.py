"""Agent console fixtures, on the test database (tests/db.py): a hand-made set of conversations,
agents, conversations handed to a person."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert

from supportbot.console import auth
from supportbot.console.audit import Source
from supportbot.console.models import (
    AgentRole,
    ConversationReview,
    ConversationTag,
    ReviewStatus,
)
from supportbot.crm import Customer, Interaction, TicketKind
from supportbot.store import crm_session

PASSWORD = "correct horse battery"
# Where the tests' logins come from, as the audit trail names it.
SOURCE = Source("ip:test", "audit-secret-for-tests-0123456789")
# The takeover tests' agents, by their short names.
AGENTS = {"sam": ("sam@support.test", "Sam Lee"), "alex": ("alex@support.test", "Alex Kim")}


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests hash with little memory (the hash string carries it); one test checks the default."""
    monkeypatch.setattr(auth, "ARGON2_MEMORY_KIB", 64)
    monkeypatch.setattr(auth, "ARGON2_TIME_COST", 1)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=UTC)


def add_conversation(
    url: str,
    sender_id: str,
    *,
    started_at: datetime,
    customer_id: int | None = None,
    intents: list[str] | None = None,
    handoff: bool = False,
    sentiment: float | None = None,
    csat: int | None = None,
    review: tuple[ReviewStatus, str] | None = None,
    tags: tuple[str, ...] = (),
    **extra: Any,
) -> None:
    with crm_session(url) as crm:
        crm.session.execute(
            insert(Interaction),
            [
                {
                    "sender_id": sender_id,
                    "customer_id": customer_id,
                    "started_at": started_at,
                    "intents": intents or [],
                    "handoff": handoff,
                    "outcome": "handoff" if handoff else "resolved",
                    "message_sentiments": [],
                    "sentiment_average": sentiment,
                    "csat_rating": csat,
                    **extra,
                }
            ],
        )
        if review:
            crm.session.add(
                ConversationReview(
                    sender_id=sender_id, status=review[0], notes=review[1], updated_at=started_at
                )
            )
        for tag in tags:
            crm.session.add(ConversationTag(sender_id=sender_id, tag=tag))


def add_customer(url: str, name: str, email: str) -> int:
    with crm_session(url) as crm:
        customer = Customer(name=name, email=email, shipping_address="")
        crm.session.add(customer)
        crm.session.flush()
        return customer.id


def add_hand_made_set(url: str) -> dict[str, int]:
    """Six conversations whose filter results the tests spell out (newest is `acb`)."""
    zoe = add_customer(url, "Zoë Quinn", "zoe.quinn@example.org")
    maxi = add_customer(url, "Max Power", "max@example.org")
    add_conversation(
        url,
        "conv-a",
        started_at=at(10),
        customer_id=zoe,
        intents=["greet", "track_order"],
        sentiment=0.5,
        csat=5,
        review=(ReviewStatus.REVIEWED, "Great answer"),
        tags=("vip",),
    )
    add_conversation(
        url,
        "conv-b",
        started_at=at(11),
        customer_id=zoe,
        intents=["complaint", "contact_human_agent"],
        handoff=True,
        sentiment=-0.6,
        csat=1,
        review=(ReviewStatus.NEEDS_TRAINING_DATA, "Wrong intent 100% of the time"),
        tags=("billing", "bug"),
    )
    # A longer intent name that starts with another must not match it.
    add_conversation(
        url, "conv-c", started_at=at(12, 0, 0), intents=["track_order_status"], sentiment=0.0
    )
    add_conversation(
        url,
        "conv-d",
        started_at=at(12, 23, 59, 59),
        customer_id=maxi,
        intents=["get_refund", "track_order"],
        sentiment=-0.25,
        csat=3,
        review=(ReviewStatus.NEW, "follow up"),
        tags=("billing",),
    )
    # '_' is a LIKE wildcard: searching "a_b" must not find "acb".
    add_conversation(url, "a_b", started_at=at(13, 11))
    add_conversation(url, "acb", started_at=at(13, 12))
    return {"zoe": zoe, "max": maxi}


@pytest.fixture
def hand_made(crm_url: str) -> tuple[str, dict[str, int]]:
    """(database URL, customer ids) of the test database with the hand-made set added."""
    return crm_url, add_hand_made_set(crm_url)


def create_agent(
    url: str,
    email: str = "sam@support.test",
    name: str = "Sam",
    role: AgentRole = AgentRole.AGENT,
) -> int:
    with crm_session(url) as crm:
        agent = auth.Agents(crm.session).create(email, name, PASSWORD, role)
        crm.session.flush()
        return agent.id


# --- conversations handed to a person ------------------------------------------------------


@pytest.fixture
def takeover_url(crm_url: str) -> str:
    """The test database with the two agents of AGENTS and a customer, Zoë, to hand over."""
    for email, name in AGENTS.values():
        create_agent(crm_url, email, name)
    add_customer(crm_url, "Zoë Quinn", "zoe@example.org")
    return crm_url


def agent_id(url: str, who: str) -> int:
    with crm_session(url) as crm:
        agent = auth.Agents(crm.session).find_by_email(AGENTS[who][0])
        assert agent is not None
        return agent.id


def zoe_id(url: str) -> int:
    with crm_session(url) as crm:
        customer = crm.customers.find_by_email("zoe@example.org")
        assert customer is not None
        return customer.id


def hand_over(
    url: str,
    sender_id: str,
    *,
    reason: str = "The customer asked for a person.",
    customer_id: int | None = None,
) -> None:
    """What actions.handoff.open_handoff records: a handoff ticket, the mark, the queue row."""
    with crm_session(url) as crm:
        crm.interactions.start_or_get(sender_id).customer_id = customer_id
        ticket = crm.tickets.open(
            kind=TicketKind.HANDOFF,
            subject="Customer asked for a human agent",
            description=f"Transcript: conversation {sender_id}.",
            customer_id=customer_id,
            sender_id=sender_id,
            priority="high",
        )
        crm.interactions.mark_handoff(sender_id, ticket)
        crm.handoffs.request(sender_id, reason=reason, ticket=ticket)
