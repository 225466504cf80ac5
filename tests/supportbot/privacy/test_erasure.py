"""Erasure on the test database (SQLite and PostgreSQL, tests/db.py), a tracker store of Rasa's
schema in a file of its own, a review file and the erasure log: what goes, what stays, the log,
and erasing again after a restore."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
    update,
)

from supportbot.console.models import (
    AuditEntry,
    ConversationReview,
    ConversationTag,
    HandoffRequest,
    HandoffState,
    ReviewStatus,
)
from supportbot.console.training_data import add_example, read_blocks
from supportbot.crm.models import (
    Customer,
    CustomerProfile,
    Interaction,
    Invoice,
    Order,
    TicketKind,
)
from supportbot.privacy.erasure import (
    ERASED_NAME,
    UnknownCustomer,
    erase_conversations,
    erase_customer,
    read_erasure_log,
    reapply_erasures,
)
from supportbot.settings import PrivacyRules, Settings
from supportbot.store import crm_session

AUDIT_SECRET = "audit-secret-for-erasure-tests-0123456789"
EMAIL = "wanda.erasmus@example.org"
NAME = "Wanda Erasmus"
TYPED = "my parcel to 12 Quiet Lane never came"
NOTE = "Wanda sounded upset, call her back"

# Rasa 3.6's SQLTrackerStore table (rasa/core/tracker_store.py, SQLEvent).
_tracker = MetaData()
EVENTS = Table(
    "events",
    _tracker,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def _user_event(sender: str, text: str) -> dict[str, Any]:
    data = {"event": "user", "text": text, "parse_data": {"text": text}}
    return {"sender_id": sender, "type_name": "user", "timestamp": 1.0, "data": json.dumps(data)}


@pytest.fixture
def settings(crm_url: str, tmp_path: Path) -> Settings:
    tracker = tmp_path / "tracker.db"
    engine = create_engine(f"sqlite:///{tracker}")
    _tracker.create_all(engine)
    engine.dispose()
    return Settings(
        data_dir=tmp_path,
        database_url=crm_url,
        review_file=tmp_path / "review" / "nlu_review.yml",
        audit_secret=AUDIT_SECRET,
        rasa_environment={"TRACKER_DIALECT": "sqlite", "TRACKER_DB": str(tracker)},
        privacy=PrivacyRules(erasure_log=tmp_path / "privacy" / "erasure-log.jsonl"),
    )


def _tracker_rows(settings: Settings) -> list[Any]:
    assert settings.tracker_store_url
    engine = create_engine(settings.tracker_store_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(EVENTS.c.sender_id, EVENTS.c.data)))
    finally:
        engine.dispose()


def _add_events(settings: Settings, rows: list[dict[str, Any]]) -> None:
    assert settings.tracker_store_url
    engine = create_engine(settings.tracker_store_url)
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), rows)
    engine.dispose()


def _seed_wanda(settings: Settings) -> int:
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
    _add_events(
        settings,
        [
            _user_event("conv-w1", f"I am {NAME}, {EMAIL}"),
            _user_event("conv-w2", TYPED),
            _user_event("other-1", f"my friend {EMAIL.upper()} told me about you"),
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
        )
    return customer_id


def _crm_text(url: str) -> str:
    """Every row of every table of the CRM, as text."""
    from supportbot.crm.models import Base

    with crm_session(url) as crm:
        return "\n".join(
            repr(tuple(row))
            for model_table in Base.metadata.sorted_tables
            for row in crm.session.execute(select(model_table))
        )


def test_erasing_a_customer_leaves_no_trace_of_them_but_keeps_invoices(
    settings: Settings,
) -> None:
    customer_id = _seed_wanda(settings)

    report = erase_customer(settings, customer_id, actor="cli", reason="asked by letter")

    assert report.conversations == ("conv-w1", "conv-w2")
    assert report.deleted["tracker events"] == 2
    assert report.deleted["review-file examples"] == 1
    assert report.anonymised["tracker events elsewhere that named the email"] == 1
    assert any("tax law" in reason for reason in report.kept)
    crm_text = _crm_text(settings.database_url)
    for secret in (EMAIL, NAME, "Wanda", TYPED, "Quiet Lane", NOTE, "555 0187", "TRK-WANDA"):
        assert secret.casefold() not in crm_text.casefold()
    tracker = _tracker_rows(settings)
    assert [row.sender_id for row in tracker] == ["other-1"]
    assert EMAIL not in tracker[0].data.casefold()
    assert "<EMAIL_ADDRESS>" in tracker[0].data
    examples = [e for block in read_blocks(settings.review_file) for e in block.examples]
    assert examples == ["where is my order"]
    with crm_session(settings.database_url) as crm:
        customer = crm.customers.get(customer_id)
        assert customer is not None
        assert (customer.name, customer.email) == (
            ERASED_NAME,
            f"erased-{customer_id}@erased.invalid",
        )
        # Kept for the tax office, owned by the anonymous row.
        assert crm.session.scalar(select(Invoice.amount).where(Invoice.customer_id == customer_id))
        assert crm.session.get(CustomerProfile, customer_id) is None
        interaction = crm.interactions.find("conv-w2")
        assert interaction is not None
        assert (interaction.customer_id, interaction.csat_rating) == (None, 2)
        handoff = crm.session.get(HandoffRequest, "conv-w2")
        assert handoff is not None and handoff.state == HandoffState.RETURNED
        audit = crm.session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erase"))
        assert [(a.actor, a.subject) for a in audit] == [("cli", f"customer:{customer_id}")]


def test_the_erasure_log_is_private_and_names_nobody(settings: Settings) -> None:
    customer_id = _seed_wanda(settings)
    erase_customer(settings, customer_id, actor="agent:7", reason=f"{NAME} phoned")

    log = settings.privacy.erasure_log
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    text = log.read_text(encoding="utf-8")
    assert EMAIL not in text and "Wanda" not in text and "phoned" not in text
    (entry,) = read_erasure_log(log)
    assert entry["customer"] == customer_id
    assert entry["conversations"] == ["conv-w1", "conv-w2"]
    assert (entry["actor"], entry["reason"]) == ("agent:7", "request")
    # The reason an agent typed is audited with the name masked.
    with crm_session(settings.database_url) as crm:
        audited = crm.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "customer.erase")
        )
        assert audited is not None
        assert "Wanda" not in json.dumps(audited.details)


def test_an_unknown_customer_is_refused_before_anything_is_logged(settings: Settings) -> None:
    with pytest.raises(UnknownCustomer):
        erase_customer(settings, 987654, actor="cli", reason="asked")
    assert not settings.privacy.erasure_log.exists()


def test_a_restored_backup_is_erased_again(settings: Settings) -> None:
    customer_id = _seed_wanda(settings)
    erase_customer(settings, customer_id, actor="cli", reason="asked")
    erase_conversations(settings, ["other-1"], reason="retention", actor="retention")
    # An older backup comes back: the person, their conversation and the other one.
    with crm_session(settings.database_url) as crm:
        crm.session.execute(
            update(Customer).where(Customer.id == customer_id).values(name=NAME, email=EMAIL)
        )
        crm.session.execute(
            update(Interaction)
            .where(Interaction.sender_id == "conv-w1")
            .values(customer_id=customer_id)
        )
    _add_events(settings, [_user_event("conv-w1", TYPED), _user_event("other-1", EMAIL)])

    assert reapply_erasures(settings) == 2
    assert _tracker_rows(settings) == []
    crm_text = _crm_text(settings.database_url)
    assert EMAIL not in crm_text and NAME not in crm_text
    # Idempotent: once more changes nothing and fails nothing.
    assert reapply_erasures(settings) == 2


def test_a_logged_id_that_now_names_someone_else_is_left_alone(settings: Settings) -> None:
    customer_id = _seed_wanda(settings)
    erase_customer(settings, customer_id, actor="cli", reason="asked")
    with crm_session(settings.database_url) as crm:
        crm.session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(name="Someone Else", email="someone.else@example.org")
        )

    reapply_erasures(settings)

    with crm_session(settings.database_url) as crm:
        customer = crm.customers.get(customer_id)
        assert customer is not None and customer.name == "Someone Else"


def test_a_reason_is_required(settings: Settings) -> None:
    customer_id = _seed_wanda(settings)
    with pytest.raises(ValueError, match="reason"):
        erase_customer(settings, customer_id, actor="cli", reason="  ")


def test_settings_name_the_log(tmp_path: Path) -> None:
    rules = PrivacyRules.from_env({}, tmp_path)
    assert rules.erasure_log == tmp_path / "privacy" / "erasure-log.jsonl"
    custom = PrivacyRules.from_env({"SUPPORTBOT_ERASURE_LOG": str(tmp_path / "x.jsonl")}, tmp_path)
    assert custom.erasure_log == tmp_path / "x.jsonl"
    assert replace(rules, retention_days=1).erasure_log == rules.erasure_log
