"""Erasure on the test database (SQLite and PostgreSQL, tests/db.py), a tracker store of Rasa's
schema in a file of its own, a review file and the erasure log: what goes, what stays, the log,
and erasing again after a restore."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, update

from supportbot.cli import main
from supportbot.console.models import AuditEntry, HandoffRequest, HandoffState
from supportbot.console.training_data import read_blocks
from supportbot.crm.models import Customer, CustomerProfile, Interaction, Invoice
from supportbot.insights.models import CustomerInsight, InsightRun
from supportbot.privacy.erasure import (
    ERASED_NAME,
    ErasureError,
    UnknownCustomer,
    erase_conversations,
    erase_customer,
    read_erasure_log,
    reapply_erasures,
)
from supportbot.settings import PrivacyRules, Settings, get_settings
from supportbot.store import crm_session
from tests.supportbot.privacy.conftest import (
    AUDIT_SECRET,
    EMAIL,
    NAME,
    NOTE,
    TYPED,
    add_events,
    crm_text,
    seed_wanda,
    tracker_rows,
    user_event,
)


def test_erasing_a_customer_leaves_no_trace_of_them_but_keeps_invoices(
    settings: Settings,
) -> None:
    customer_id = seed_wanda(settings)
    with crm_session(settings.database_url) as crm:  # what an insights run said about her
        run = InsightRun(status="finished", versions={}, summary={})
        crm.session.add(run)
        crm.session.flush()
        crm.session.add(
            CustomerInsight(customer_id=customer_id, run_id=run.id, segment="lapsed customers")
        )

    report = erase_customer(settings, customer_id, actor="cli", reason="asked by letter")

    assert report.conversations == ("conv-w1", "conv-w2")
    assert report.deleted["customer insights"] == 1
    assert report.deleted["tracker events"] == 2
    assert report.deleted["review-file examples"] == 1
    assert report.anonymised["tracker events elsewhere that named the email"] == 1
    assert any("tax law" in reason for reason in report.kept)
    stored = crm_text(settings.database_url)
    for secret in (EMAIL, NAME, "Wanda", TYPED, "Quiet Lane", NOTE, "555 0187", "TRK-WANDA"):
        assert secret.casefold() not in stored.casefold()
    tracker = tracker_rows(settings)
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
        assert crm.session.get(CustomerInsight, customer_id) is None
        interaction = crm.interactions.find("conv-w2")
        assert interaction is not None
        assert (interaction.customer_id, interaction.csat_rating) == (None, 2)
        handoff = crm.session.get(HandoffRequest, "conv-w2")
        assert handoff is not None and handoff.state == HandoffState.RETURNED
        audit = crm.session.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erase"))
        assert [(a.actor, a.subject) for a in audit] == [("cli", f"customer:{customer_id}")]


def test_the_erasure_log_is_private_and_names_nobody(settings: Settings) -> None:
    customer_id = seed_wanda(settings)
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


def test_a_tracker_store_without_the_conversations_is_refused_before_anything_is_erased(
    settings: Settings, tmp_path: Path
) -> None:
    """A process not given Rasa's TRACKER_* variables reads the SQLite default, where no
    conversation is: erasing there would delete no transcript and report 0 deleted."""
    customer_id = seed_wanda(settings)
    elsewhere = {"TRACKER_DIALECT": "sqlite", "TRACKER_DB": str(tmp_path / "none" / "tracker.db")}
    not_rasas = replace(settings, rasa_environment=elsewhere)

    with pytest.raises(ErasureError, match="holds no conversations, but the CRM has 2"):
        erase_customer(not_rasas, customer_id, actor="cli", reason="asked")
    with pytest.raises(ErasureError, match="TRACKER_DIALECT"):
        erase_conversations(not_rasas, ["conv-w1"], reason="retention")

    assert not settings.privacy.erasure_log.exists()
    assert EMAIL in crm_text(settings.database_url)
    assert len(tracker_rows(settings)) == 3
    # A customer with no conversation has no transcript to miss.
    with crm_session(settings.database_url) as crm:
        crm.session.add(Customer(name="Nobody Yet", email="new@example.org"))
        crm.session.flush()
        newcomer = crm.customers.find_by_email("new@example.org")
        assert newcomer is not None
        newcomer_id = newcomer.id
    assert erase_customer(not_rasas, newcomer_id, actor="cli", reason="asked").conversations == ()


def test_a_restored_backup_is_erased_again(settings: Settings) -> None:
    customer_id = seed_wanda(settings)
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
    add_events(settings, [user_event("conv-w1", TYPED), user_event("other-1", EMAIL)])

    assert reapply_erasures(settings) == 2
    assert tracker_rows(settings) == []
    stored = crm_text(settings.database_url)
    assert EMAIL not in stored and NAME not in stored
    # Idempotent: once more changes nothing and fails nothing.
    assert reapply_erasures(settings) == 2


def test_a_logged_id_that_now_names_someone_else_is_left_alone(settings: Settings) -> None:
    customer_id = seed_wanda(settings)
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
    customer_id = seed_wanda(settings)
    with pytest.raises(ValueError, match="reason"):
        erase_customer(settings, customer_id, actor="cli", reason="  ")


def test_settings_name_the_log(tmp_path: Path) -> None:
    rules = PrivacyRules.from_env({}, tmp_path)
    assert rules.erasure_log == tmp_path / "privacy" / "erasure-log.jsonl"
    custom = PrivacyRules.from_env({"SUPPORTBOT_ERASURE_LOG": str(tmp_path / "x.jsonl")}, tmp_path)
    assert custom.erasure_log == tmp_path / "x.jsonl"
    assert replace(rules, retention_days=1).erasure_log == rules.erasure_log


@pytest.fixture
def command_line(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment that makes get_settings() the `settings` fixture's (same files)."""
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SUPPORTBOT_AUDIT_SECRET", AUDIT_SECRET)
    for name in ("TRACKER_DIALECT", "TRACKER_DB", "SUPPORTBOT_ERASURE_LOG"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    return settings


def test_the_command_line_erases_after_confirmation(
    command_line: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    customer_id = seed_wanda(command_line)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["customer", "erase", EMAIL, "--reason", "asked by letter"]) == 1
    assert "Nothing erased" in capsys.readouterr().out
    assert not command_line.privacy.erasure_log.exists()

    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert main(["customer", "erase", EMAIL.upper(), "--reason", "asked by letter"]) == 0
    out = capsys.readouterr().out
    assert f"Erased customer {customer_id}: 2 conversation(s)" in out
    assert "deleted: 2 tracker events" in out and "tax law" in out
    assert EMAIL not in crm_text(command_line.database_url)


def test_the_command_line_names_an_unknown_customer(
    command_line: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["customer", "erase", "nobody@example.org", "--reason", "asked", "--yes"]) == 2
    assert "no customer has that email address" in capsys.readouterr().err


def test_the_command_line_reapplies_the_log(
    command_line: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    customer_id = seed_wanda(command_line)
    erase_customer(command_line, customer_id, actor="cli", reason="asked")
    assert main(["customer", "reapply-erasures"]) == 0
    assert "Re-applied 1 logged erasure(s)" in capsys.readouterr().out


def test_the_tracker_file_keeps_no_bytes_of_what_was_erased(settings: Settings) -> None:
    """SQLite leaves deleted rows in free pages, and the write-ahead log keeps them as written."""
    customer_id = seed_wanda(settings)
    tracker = Path(settings.rasa_environment["TRACKER_DB"])
    engine = create_engine(f"sqlite:///{tracker}")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")  # as Rasa's store runs it
    engine.dispose()
    add_events(settings, [user_event("conv-w1", f"{TYPED} {n}") for n in range(200)])

    erase_customer(settings, customer_id, actor="cli", reason="asked")

    files = [path for path in tracker.parent.iterdir() if path.name.startswith(tracker.name)]
    raw = b"".join(path.read_bytes() for path in files)
    assert TYPED.encode() not in raw and EMAIL.encode() not in raw.lower()


def test_erasing_conversations_leaves_the_customer_and_their_other_conversations(
    settings: Settings,
) -> None:
    customer_id = seed_wanda(settings)

    assert erase_conversations(settings, ["conv-w2"], reason="retention", actor="retention") == 1

    assert sorted(row.sender_id for row in tracker_rows(settings)) == ["conv-w1", "other-1"]
    with crm_session(settings.database_url) as crm:
        customer = crm.customers.get(customer_id)
        assert customer is not None and customer.email == EMAIL
        interaction = crm.interactions.find("conv-w2")
        assert interaction is not None
        assert (interaction.customer_id, interaction.csat_comment) == (None, None)
        assert crm.interactions.verified_customer_id("conv-w1") == customer_id
    (entry,) = read_erasure_log(settings.privacy.erasure_log)
    assert (entry["customer"], entry["conversations"], entry["reason"]) == (
        None,
        ["conv-w2"],
        "retention",
    )


def test_a_fixed_reason_is_audited_as_it_is(settings: Settings) -> None:
    customer_id = seed_wanda(settings)
    erase_customer(
        settings, customer_id, actor="customer", reason="asked in the chat", mask_reason=False
    )
    with crm_session(settings.database_url) as crm:
        audited = crm.session.scalar(select(AuditEntry.details))
        assert audited == {"conversations": 2, "reason": "asked in the chat"}
