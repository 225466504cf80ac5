"""Issue 16, stored transcripts: on the real stack, what a customer types reaches neither the
tracker store's table nor the CRM with its card, IBAN, email or phone in it; the bot still
answers and still verifies with an email in the turn it arrives; the customer token is not kept."""

from __future__ import annotations

import os
import sqlite3
import subprocess

import httpx
import pytest
from sqlalchemy import MetaData, create_engine, select

from common.channel_signing import signed_json
from supportbot.identity import issue_customer_token
from supportbot.store import crm_session
from tests.stack import (
    ACTION_SECRET,
    IDENTITY_SECRET,
    RASA_PYTHON,
    ROOT,
    SESSION_SECRET,
    Stack,
    seeded_customer,
)

pytestmark = pytest.mark.integration

CARD = "4111 1111 1111 1111"  # Luhn-valid
IBAN = "DE89370400440532013000"
EMAIL = "jo.private@example.org"
PHONE = "+1 415 555 0132"
RAW = (CARD, IBAN, EMAIL, PHONE)
TYPED = (
    f"My card {CARD} was charged twice for one order. Please refund it to IBAN {IBAN}, "
    f"and write to {EMAIL} or call {PHONE}."
)


def texts(messages: list[dict]) -> str:
    return "\n".join(message.get("text", "") for message in messages)


def stored_transcript(stack: Stack, sender: str) -> str:
    with sqlite3.connect(stack.tracker_db) as db:
        rows = db.execute("select data from events where sender_id = ? order by id", (sender,))
        return "\n".join(data for (data,) in rows)


def everything_in_the_crm(stack: Stack) -> str:
    """Every value of every row of every CRM table, as text."""
    engine = create_engine(stack.crm_url)
    try:
        tables = MetaData()
        tables.reflect(engine)
        with engine.connect() as connection:
            return "\n".join(
                repr(tuple(row))
                for table in tables.sorted_tables
                for row in connection.execute(select(table))
            )
    finally:
        engine.dispose()


def test_typed_personal_data_is_stored_nowhere_and_the_bot_still_answers(stack: Stack) -> None:
    sender = "it-privacy-typed-0001"
    assert "describe what happened" in texts(stack.say(sender, "I want to make a complaint"))
    assert "I've opened ticket T-" in texts(stack.say(sender, TYPED))
    # As a conversation's first message too: answered (whatever the answer), stored masked.
    first = texts(stack.say("it-privacy-typed-0002", TYPED))
    assert first and "can't reach our systems" not in first  # not assistant/faults.py's apology

    transcript = stored_transcript(stack, sender) + stored_transcript(
        stack, "it-privacy-typed-0002"
    )
    assert "<CREDIT_CARD>" in transcript and "<EMAIL_ADDRESS>" in transcript
    crm = everything_in_the_crm(stack)
    assert "<CREDIT_CARD>" in crm  # the ticket, masked
    for raw in RAW:
        assert raw not in transcript
        assert raw not in crm
    # What Rasa's API (the console, the widget's history) reads is the stored copy.
    said = [e["text"] for e in stack.tracker(sender)["events"] if e.get("event") == "user"]
    assert said[1] == (
        "My card <CREDIT_CARD> was charged twice for one order. Please refund it to IBAN "
        "<IBAN_CODE>, and write to <EMAIL_ADDRESS> or call <PHONE_NUMBER>."
    )


def test_an_email_still_verifies_in_its_turn_and_is_not_stored(stack: Stack) -> None:
    sender = "it-privacy-verify-0001"
    email, order = seeded_customer(stack.crm_url, 3)
    assert "order number" in texts(stack.say(sender, "where is my order?"))
    assert "email" in texts(stack.say(sender, str(order)))
    assert "you're verified" in texts(stack.say(sender, f"it's {email}"))
    # A later turn still knows the customer (the CRM's binding, not the masked slot).
    assert "INV-" in texts(stack.say(sender, "show my invoices"))
    transcript = stored_transcript(stack, sender)
    assert email not in transcript
    assert "<EMAIL_ADDRESS>" in transcript
    assert str(order) in transcript  # order numbers are business data, kept


def test_the_customer_token_is_not_kept(stack: Stack) -> None:
    sender = "it-privacy-token-0001"
    with crm_session(stack.crm_url) as crm:
        ada = crm.customers.find_by_email("ada@example.com")
        assert ada is not None
        ada_id = ada.id
    token = issue_customer_token(ada_id, secret=IDENTITY_SECRET, ttl_seconds=600)
    body, headers = signed_json(
        {
            "sender": sender,
            "message": "show my invoices",
            "client_address": "2001:db8::16:1",
            "metadata": {"customer_token": token},
        },
        SESSION_SECRET,
    )
    response = httpx.post(
        f"{stack.rasa_url}/webhooks/rest/webhook", content=body, headers=headers, timeout=60
    )
    response.raise_for_status()
    assert "INV-500001" in texts(response.json())  # the token was honoured in its turn
    transcript = stored_transcript(stack, sender)
    assert token not in transcript
    assert token.split(".")[2] not in transcript  # not even its signature
    assert '"client"' in transcript  # the rest of the metadata is kept


def test_the_masking_latency_benchmark_runs(stack: Stack) -> None:
    """`python -m lab.transcript_masking --quick` against the stack's action server (no timing
    is asserted: the benchmark reports)."""
    env = {
        **os.environ,
        "ACTION_SERVER_URL": f"{stack.action_url}/webhook",
        "SUPPORTBOT_ACTION_SECRET": ACTION_SECRET,
        "SUPPORTBOT_REDACT_ENTITIES": "EMAIL_ADDRESS,PHONE_NUMBER,CREDIT_CARD,IBAN_CODE",
    }
    run = subprocess.run(
        [str(RASA_PYTHON), "-m", "lab.transcript_masking", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Masked types: EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IBAN_CODE" in run.stdout
    assert "| with a digit or '@' | 10 |" in run.stdout
    assert "| all | 20 |" in run.stdout
