"""A customer has their data erased from the chat, on the real stack (Rasa 3.6.21, the action
server, SQLite tracker store and CRM): after a no nothing is gone, after the yes their email,
name and what they typed are in no table of the tracker store or the CRM, and the conversation
starts again anonymous."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, inspect, make_url, select, text

from supportbot.crm.models import Customer
from supportbot.store import crm_session
from tests.stack import Stack, seeded_customer

pytestmark = pytest.mark.integration

SENDER = "it-chat-erasure-0001"
# Typed once in the conversation, and written nowhere else.
TYPED = "does the zebra striped umbrella come in teal"
ERASURE_LOG = "privacy/erasure-log.jsonl"


def texts(messages: list[dict]) -> str:
    return "\n".join(message.get("text") or "" for message in messages)


def database_text(url: str) -> str:
    """Every value of every table, lowercased: what a grep of the database would see."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            values = [
                str(value)
                for table in inspect(connection).get_table_names()
                for row in connection.execute(text(f'SELECT * FROM "{table}"'))
                for value in row
                if value is not None
            ]
    finally:
        engine.dispose()
    return "\n".join(values).lower()


def tracker_url(stack: Stack) -> str:
    return f"sqlite:///{stack.tracker_db}"


def test_a_customer_erases_their_data_from_the_chat(stack: Stack) -> None:
    email, order = seeded_customer(stack.crm_url, 16)
    with crm_session(stack.crm_url) as crm:
        customer = crm.customers.find_by_email(email)
        assert customer is not None
        customer_id, name = customer.id, customer.name

    # Anonymous: verified first, then asked; a no erases nothing.
    assert "orders" in texts(stack.say(SENDER, "delete all my personal data"))
    assert "orders" in texts(stack.say(SENDER, "yes"))  # no answer yet: asked again
    assert "email" in texts(stack.say(SENDER, str(order)))
    question = texts(stack.say(SENDER, email))
    assert "you're verified" in question and "cannot be undone" in question
    assert "haven't erased anything" in texts(stack.say(SENDER, "no"))
    assert stack.say(SENDER, TYPED)
    assert TYPED in database_text(tracker_url(stack))

    # Verified now: asked at once; the yes erases, and ends the conversation.
    question = texts(stack.say(SENDER, "erase my data please"))
    assert "cannot be undone" in question and "order number" not in question
    assert "your personal data is erased" in texts(stack.say(SENDER, "yes"))

    with create_engine(tracker_url(stack)).connect() as connection:
        left = connection.execute(
            text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": SENDER}
        ).scalar_one()
    assert left == 0, "the erasing turn must not put the conversation back"
    for url in (tracker_url(stack), stack.crm_url):
        stored = database_text(url)
        for personal in (email, name, TYPED):
            assert personal.lower() not in stored, f"{personal!r} left in {make_url(url).database}"
    with crm_session(stack.crm_url) as crm:
        erased = crm.session.scalars(select(Customer).where(Customer.id == customer_id)).one()
        assert erased.email != email and erased.name != name
        assert crm.interactions.verified_customer_id(SENDER) is None

    # Logged where the stack keeps its data, to be applied again after a restore.
    logged = [json.loads(line) for line in (stack.work / ERASURE_LOG).read_text().splitlines()]
    erasure = next(entry for entry in logged if entry["customer"] == customer_id)
    assert (erasure["actor"], erasure["conversations"]) == ("customer", [SENDER])

    # The next message starts a new conversation, anonymous.
    assert name.split()[0] not in texts(stack.say(SENDER, "hi"))
    events = stack.tracker(SENDER)["events"]
    assert not any(TYPED in str(event) for event in events)
