"""The CRM store on real databases: SQLite, and PostgreSQL if SUPPORTBOT_TEST_POSTGRES_URL is set.

Each test runs inside a transaction that is rolled back.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from supportbot.crm import (
    AddressChangeNotAllowed,
    Customer,
    Order,
    OrderNotCancellable,
    OrderStatus,
    TicketKind,
)
from supportbot.crm.seed import seed_demo_data
from supportbot.store import CRM, migrate
from tests.db import Database


def customer(crm: CRM, email: str) -> Customer:
    found = crm.customers.find_by_email(email)
    assert found is not None
    return found


def test_migration_is_idempotent(seeded_database: Database) -> None:
    migrate(seeded_database.url)
    migrate(seeded_database.url)


def test_seed_is_deterministic_and_covers_every_order_status(crm: CRM) -> None:
    statuses = set(crm.session.scalars(select(Order.status).distinct()))
    assert statuses == set(OrderStatus)
    assert crm.session.scalar(select(func.count(Customer.id))) == 32
    again = seed_demo_data(crm.session, customers=30)
    assert not again.created  # a second seed leaves the data alone


def test_demo_customers_are_as_documented(crm: CRM) -> None:
    ada = customer(crm, "ada@example.com")
    shipped = crm.orders.find_for_customer(ada.id, "100001")
    assert shipped is not None and shipped.status is OrderStatus.SHIPPED
    assert (shipped.carrier, shipped.tracking_number) == ("UPS", "1Z999AA10123456784")
    grace = customer(crm, "grace@example.com")
    processing = crm.orders.find_for_customer(grace.id, "#100002")
    assert processing is not None and processing.status is OrderStatus.PROCESSING
    assert isinstance(processing.total, Decimal)


def test_the_crm_reads_an_order_number_as_the_assistant_does(crm: CRM) -> None:
    ada = customer(crm, "ada@example.com")
    for written in ("100001", " #100001 ", "Order no. 100001", 100001):
        order = crm.orders.find_for_customer(ada.id, written)
        assert order is not None and order.number == 100001
    assert crm.orders.find_for_customer(ada.id, "100001 please") is None


def test_orders_are_only_found_for_their_owner(crm: CRM) -> None:
    ada, grace = customer(crm, "ada@example.com"), customer(crm, "grace@example.com")
    assert crm.orders.find_for_customer(ada.id, "100002") is None
    assert crm.orders.find_for_customer(grace.id, "100002") is not None
    assert crm.invoices.find_for_customer(ada.id, "INV-500002") is None
    assert crm.refunds.for_order(grace.id, "100003") == []


def test_verify_owner_needs_the_email_on_that_order(crm: CRM) -> None:
    assert crm.orders.verify_owner("100001", " ADA@example.com ") == customer(
        crm, "ada@example.com"
    )
    assert crm.orders.verify_owner("100001", "grace@example.com") is None
    assert crm.orders.verify_owner("999999", "ada@example.com") is None
    assert crm.orders.verify_owner("not a number", "ada@example.com") is None


def test_cancel_respects_the_order_status(crm: CRM) -> None:
    ada = customer(crm, "ada@example.com")
    pending = crm.orders.find_for_customer(ada.id, "100004")
    shipped = crm.orders.find_for_customer(ada.id, "100001")
    assert pending is not None and shipped is not None
    crm.orders.cancel(pending, reason="changed my mind")
    crm.session.flush()
    assert pending.status is OrderStatus.CANCELLED and pending.cancelled_at is not None
    with pytest.raises(OrderNotCancellable):
        crm.orders.cancel(shipped)
    assert shipped.status is OrderStatus.SHIPPED


def test_address_changes_only_before_shipping_and_are_validated(crm: CRM) -> None:
    grace = customer(crm, "grace@example.com")
    processing = crm.orders.find_for_customer(grace.id, "100002")
    delivered = crm.orders.find_for_customer(grace.id, "100005")
    assert processing is not None and delivered is not None
    with pytest.raises(ValueError):
        crm.orders.change_shipping_address(processing, "   ")
    crm.orders.change_shipping_address(processing, "5 New Street, Springfield 62701")
    assert processing.shipping_address == "5 New Street, Springfield 62701"
    with pytest.raises(AddressChangeNotAllowed):
        crm.orders.change_shipping_address(delivered, "5 New Street, Springfield 62701")


def test_a_conversation_is_bound_to_the_latest_proof_until_it_expires_or_is_undone(
    crm: CRM,
) -> None:
    ada, grace = customer(crm, "ada@example.com"), customer(crm, "grace@example.com")
    crm.interactions.bind_customer("conv-1", grace.id, method="order_email")
    crm.interactions.bind_customer("conv-1", ada.id, method="token")  # the caller decided
    binding = crm.interactions.binding("conv-1")
    assert binding is not None and (binding.customer_id, binding.method) == (ada.id, "token")
    with pytest.raises(ValueError):
        crm.interactions.bind_customer("conv-2", ada.id, method="slot")
    assert crm.interactions.verified_customer_id("conv-2") is None

    assert crm.interactions.verified_customer_id("conv-1", max_age=timedelta(hours=1)) == ada.id
    assert crm.interactions.verified_customer_id("conv-1", max_age=timedelta(0)) is None

    crm.interactions.unbind("conv-1")
    assert crm.interactions.verified_customer_id("conv-1") is None
    # Whose conversation it was stays, for agents and the profile.
    assert crm.interactions.start_or_get("conv-1").customer_id == ada.id


def test_handoff_ticket_references_the_transcript(crm: CRM) -> None:
    ada = customer(crm, "ada@example.com")
    crm.interactions.start_or_get("conv-9")
    ticket = crm.tickets.open(
        kind=TicketKind.HANDOFF,
        subject="Customer asked for a human agent",
        description="Transcript: conversation conv-9.",
        customer_id=ada.id,
        sender_id="conv-9",
    )
    crm.interactions.mark_handoff("conv-9", ticket)
    interaction = crm.interactions.start_or_get("conv-9")
    assert interaction.handoff and interaction.handoff_ticket_id == ticket.id
    assert ticket.reference.startswith("T-") and ticket in crm.tickets.open_for_customer(ada.id)
