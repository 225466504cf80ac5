"""Erasure fixtures: a tracker store of Rasa's schema in a file of its own beside the test CRM
(tests/db.py), a review file and an erasure log under the test's directory, and a customer with
everything the bot and the agents keep about them. Retention and backups: fresh stores per test
(tests/supportbot/privacy/stores.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select

from supportbot.console.models import ConversationReview, ConversationTag, ReviewStatus
from supportbot.console.training_data import add_example
from supportbot.crm.models import Customer, Invoice, Order, TicketKind
from supportbot.settings import PrivacyRules, Settings, get_settings
from supportbot.store import crm_session
from tests.db import DATABASES
from tests.supportbot.privacy.stores import (
    EVENTS,
    TRACKER_METADATA,
    Stores,
    drop_databases,
    fresh_stores,
)

AUDIT_SECRET = "audit-secret-for-erasure-tests-0123456789"
EMAIL = "wanda.erasmus@example.org"
NAME = "Wanda Erasmus"
TYPED = "my parcel to 12 Quiet Lane never came"
NOTE = "Wanda sounded upset, call her back"


def user_event(sender: str, text: str) -> dict[str, Any]:
    data = {"event": "user", "text": text, "parse_data": {"text": text}}
    return {"sender_id": sender, "type_name": "user", "timestamp": 1.0, "data": json.dumps(data)}


@pytest.fixture
def settings(crm_url: str, tmp_path: Path) -> Settings:
    tracker = tmp_path / "tracker.db"
    engine = create_engine(f"sqlite:///{tracker}")
    TRACKER_METADATA.create_all(engine)
    engine.dispose()
    return Settings(
        data_dir=tmp_path,
        database_url=crm_url,
        review_file=tmp_path / "review" / "nlu_review.yml",
        audit_secret=AUDIT_SECRET,
        rasa_environment={"TRACKER_DIALECT": "sqlite", "TRACKER_DB": str(tracker)},
        privacy=PrivacyRules(erasure_log=tmp_path / "privacy" / "erasure-log.jsonl"),
    )


def tracker_rows(settings: Settings) -> list[Any]:
    assert settings.tracker_store_url
    engine = create_engine(settings.tracker_store_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(EVENTS.c.sender_id, EVENTS.c.data)))
    finally:
        engine.dispose()


def add_events(settings: Settings, rows: list[dict[str, Any]]) -> None:
    assert settings.tracker_store_url
    engine = create_engine(settings.tracker_store_url)
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), rows)
    engine.dispose()


def seed_wanda(settings: Settings) -> int:
    """A customer with two bound conversations and everything agents and the bot add to them;
    another customer's conversation where someone typed Wanda's email."""
    url = settings.database_url
    with crm_session(url) as crm:
        wanda = Customer(
            name=NAME, email=EMAIL, phone="+1 202 555 0187", shipping_address="12 Quiet Lane"
        )
        crm.session.add(wanda)
        crm.session.flush()
        order = Order(
            number=990001,
            customer_id=wanda.id,
            status="cancelled",
            placed_at=datetime(2026, 1, 2, tzinfo=UTC),
            shipping_address="12 Quiet Lane",
            total=20,
            cancellation_reason=TYPED,
            tracking_number="TRK-WANDA-0001",
        )
        crm.session.add(order)
        crm.session.flush()
        crm.session.add(
            Invoice(
                number="INV-990001",
                order_id=order.id,
                customer_id=wanda.id,
                issued_at=datetime(2026, 1, 2, tzinfo=UTC),
                due_date=datetime(2026, 2, 2).date(),
                amount=20,
                status="paid",
            )
        )
        for sender in ("conv-w1", "conv-w2", "other-1"):
            crm.interactions.start_or_get(sender)
        crm.interactions.bind_customer("conv-w1", wanda.id, method="order_email")
        crm.interactions.bind_customer("conv-w2", wanda.id, method="token")
        crm.interactions.record_csat("conv-w2", 2, f"{NAME} says: {TYPED}")
        ticket = crm.tickets.open(
            kind=TicketKind.COMPLAINT,
            subject=f"Complaint from {NAME}",
            description=TYPED,
            customer_id=wanda.id,
            sender_id="conv-w2",
        )
        crm.handoffs.request("conv-w2", reason=f"{NAME} asked for a person", ticket=ticket)
        crm.decisions.log("conv-w1", "greet", f"Greeted {NAME} by name", customer_id=wanda.id)
        crm.session.add(
            ConversationReview(sender_id="conv-w1", status=ReviewStatus.REVIEWED, notes=NOTE)
        )
        crm.session.add(ConversationTag(sender_id="conv-w1", tag="vip"))
        crm.profiles.refresh(wanda.id)
        customer_id = wanda.id
    add_events(
        settings,
        [
            user_event("conv-w1", f"I am {NAME}, {EMAIL}"),
            user_event("conv-w2", TYPED),
            user_event("other-1", f"my friend {EMAIL.upper()} told me about you"),
        ],
    )
    for sender, text in (("conv-w1", TYPED), ("other-1", "where is my order")):
        add_example(
            settings.review_file,
            "order_status",
            text,
            agent_id=1,
            agent_name="Sam",
            sender_id=sender,
            masked=settings.privacy.stored_entities,
        )
    return customer_id


def crm_text(url: str) -> str:
    """Every row of every table of the CRM, as text."""
    from supportbot.crm.models import Base

    with crm_session(url) as crm:
        return "\n".join(
            repr(tuple(row))
            for model_table in Base.metadata.sorted_tables
            for row in crm.session.execute(select(model_table))
        )


@pytest.fixture(scope="session", autouse=True)
def _postgres_databases() -> Iterator[None]:
    yield
    drop_databases()


@pytest.fixture(params=DATABASES)
def store_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def stores(store_backend: str, tmp_path: Path) -> Iterator[Stores]:
    """A migrated CRM with Ada and Grace, and an empty tracker store, of one backend."""
    with fresh_stores(store_backend, tmp_path) as created:
        yield created


@pytest.fixture
def cli_stores(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stores]:
    """The stores, named by the environment the `supportbot` command reads its settings from."""
    for name, value in stores.env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield stores
    get_settings.cache_clear()
