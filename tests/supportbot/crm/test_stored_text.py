"""The CRM stores customers' and agents' free text with the configured personal data masked, on
SQLite and PostgreSQL, with the real Presidio detector (loaded once per process)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from common.stored_pii import could_hold
from supportbot.console.conversations import update_review
from supportbot.crm.models import OrderStatus, TicketKind
from supportbot.settings import get_settings
from supportbot.store import CRM

CARD = "4111 1111 1111 1111"  # Luhn-valid
IBAN = "DE89370400440532013000"
EMAIL = "ada.customer@example.com"
PHONE = "+1 415 555 0132"
TYPED = f"My card {CARD}, IBAN {IBAN}, mail {EMAIL}, phone {PHONE}; order 100004 arrived broken"
PATTERN_TYPES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE")


@pytest.fixture
def redact_entities(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings read again after a test changes SUPPORTBOT_REDACT_ENTITIES."""
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("SUPPORTBOT_REDACT_ENTITIES", raising=False)
    get_settings.cache_clear()


def stored(crm: CRM, sql: str) -> str:
    """What the database holds, read past the ORM."""
    crm.session.flush()
    return " ".join(str(value) for value in crm.session.execute(text(sql)).scalars())


def assert_masked(value: str) -> None:
    for raw in (CARD, IBAN, EMAIL, PHONE):
        assert raw not in value
    for tag in ("<CREDIT_CARD>", "<IBAN_CODE>", "<EMAIL_ADDRESS>", "<PHONE_NUMBER>"):
        assert tag in value
    assert "100004" in value  # order numbers are business data, kept


def test_ticket_text_is_stored_masked(crm: CRM, redact_entities: None) -> None:
    ticket = crm.tickets.open(
        kind=TicketKind.COMPLAINT, subject=f"Card {CARD} charged twice", description=TYPED
    )
    assert_masked(stored(crm, f"SELECT description FROM tickets WHERE id = {ticket.id}"))
    subject = stored(crm, f"SELECT subject FROM tickets WHERE id = {ticket.id}")
    assert subject == "Card <CREDIT_CARD> charged twice"


def test_csat_comments_and_cancellation_reasons_are_stored_masked(
    crm: CRM, redact_entities: None
) -> None:
    crm.interactions.record_csat("conv-csat", 2, f"  {TYPED}  ")
    assert_masked(
        stored(crm, "SELECT csat_comment FROM interactions WHERE sender_id = 'conv-csat'")
    )
    order = crm.orders._by_number("100004")
    assert order is not None and order.status is OrderStatus.PENDING
    crm.orders.cancel(order, reason=TYPED)
    assert_masked(stored(crm, f"SELECT cancellation_reason FROM orders WHERE id = {order.id}"))


def test_agents_notes_are_stored_masked(crm: CRM, redact_entities: None) -> None:
    crm.interactions.start_or_get("conv-notes")
    update_review(crm.session, "conv-notes", agent_id=None, notes=TYPED)
    assert_masked(
        stored(crm, "SELECT notes FROM conversation_reviews WHERE sender_id = 'conv-notes'")
    )


def test_only_the_configured_types_are_masked(
    crm: CRM, redact_entities: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPPORTBOT_REDACT_ENTITIES", "CREDIT_CARD")
    get_settings.cache_clear()
    ticket = crm.tickets.open(kind=TicketKind.COMPLAINT, subject="Card", description=TYPED)
    description = stored(crm, f"SELECT description FROM tickets WHERE id = {ticket.id}")
    assert CARD not in description and "<CREDIT_CARD>" in description
    assert EMAIL in description and IBAN in description


def test_text_without_a_candidate_is_kept_as_typed(crm: CRM, redact_entities: None) -> None:
    crm.interactions.record_csat("conv-plain", 5, "Lovely, thank you Ada!")
    comment = stored(crm, "SELECT csat_comment FROM interactions WHERE sender_id = 'conv-plain'")
    assert comment == "Lovely, thank you Ada!"


@pytest.mark.parametrize(
    ("text", "entities", "expected"),
    [
        ("thanks, that's all", PATTERN_TYPES, False),
        ("order 100004", PATTERN_TYPES, True),
        ("write to ada@example", PATTERN_TYPES, True),
        ("thanks, that's all", ("PERSON",), True),
        ("0123 456789", ("PERSON",), False),
        ("0123 456789", ("PERSON", "PHONE_NUMBER"), True),
        ("thanks Ada", ("PERSON", "PHONE_NUMBER"), True),
        ("order 100004", (), False),
    ],
)
def test_what_could_hold_a_masked_type(
    text: str, entities: tuple[str, ...], expected: bool
) -> None:
    assert could_hold(text, entities) is expected
