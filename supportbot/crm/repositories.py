"""The repository layer: CRM reads and writes phrased as support-domain calls.

Repositories take the caller's session; `supportbot.store.crm_session()` opens one transaction
per unit of work at the boundary (an action, a request, a CLI command).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportbot.crm.customer_input import canonical_email, parse_invoice_number, parse_order_number
from supportbot.crm.models import (
    Customer,
    CustomerProfile,
    Decision,
    Interaction,
    Invoice,
    Order,
    OrderStatus,
    Refund,
    Ticket,
    TicketKind,
    TicketStatus,
    as_utc,
    utcnow,
)
from supportbot.crm.profile import refresh_profile, satisfaction_estimate, sentiment_trend
from supportbot.crm.stored_text import masked
from supportbot.settings import get_settings

MAX_ADDRESS_LENGTH = 300
MAX_CSAT_COMMENT_LENGTH = 2000
VERIFICATION_METHODS = frozenset({"order_email", "token"})


class OrderNotCancellable(Exception):
    """The order has left the warehouse (or is already closed)."""


class AddressChangeNotAllowed(Exception):
    """The order has shipped, so its delivery address is fixed."""


@dataclass(frozen=True)
class Binding:
    """A conversation's verified customer: who, by which method, since when."""

    customer_id: int
    method: str
    verified_at: datetime


def _order_number(value: int | str) -> int | None:
    """The number an order is stored under, read as a customer writes it."""
    number = parse_order_number(value)
    return int(number) if number is not None else None


class Customers:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, customer_id: int) -> Customer | None:
        return self.session.get(Customer, customer_id)

    def find_by_email(self, email: str) -> Customer | None:
        return self.session.scalar(select(Customer).where(Customer.email == canonical_email(email)))


class Orders:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _by_number(self, order_number: int | str) -> Order | None:
        number = _order_number(order_number)
        if number is None:
            return None
        return self.session.scalar(select(Order).where(Order.number == number))

    def find_for_customer(self, customer_id: int, order_number: int | str) -> Order | None:
        """The order, if it exists and belongs to this customer; otherwise None."""
        order = self._by_number(order_number)
        return order if order is not None and order.customer_id == customer_id else None

    def verify_owner(self, order_number: int | str, email: str) -> Customer | None:
        """The order's customer, if `email` is the email on that order (never an erased
        customer: their email is predictable)."""
        order = self._by_number(order_number)
        if order is None or order.customer.erased or order.customer.email != canonical_email(email):
            return None
        return order.customer

    def recent_for_customer(self, customer_id: int, limit: int = 3) -> list[Order]:
        return list(
            self.session.scalars(
                select(Order)
                .where(Order.customer_id == customer_id)
                .order_by(Order.placed_at.desc())
                .limit(limit)
            )
        )

    def cancel(self, order: Order, *, reason: str | None = None) -> None:
        if not order.status.is_cancellable:
            raise OrderNotCancellable(f"order {order.number} is {order.status.value}")
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = utcnow()
        order.cancellation_reason = None if reason is None else masked(reason)

    def change_shipping_address(self, order: Order, address: str) -> None:
        address = address.strip()
        if not address or len(address) > MAX_ADDRESS_LENGTH:
            raise ValueError(f"an address must have 1 to {MAX_ADDRESS_LENGTH} characters")
        if not order.status.allows_address_change:
            raise AddressChangeNotAllowed(f"order {order.number} is {order.status.value}")
        order.shipping_address = address


class Invoices:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find_for_customer(self, customer_id: int, invoice_number: str) -> Invoice | None:
        number = parse_invoice_number(invoice_number)
        if number is None:
            return None
        return self.session.scalar(
            select(Invoice).where(Invoice.number == number, Invoice.customer_id == customer_id)
        )

    def for_customer(self, customer_id: int, limit: int = 5) -> list[Invoice]:
        return list(
            self.session.scalars(
                select(Invoice)
                .where(Invoice.customer_id == customer_id)
                .order_by(Invoice.issued_at.desc())
                .limit(limit)
            )
        )

    def for_order(self, customer_id: int, order_number: int | str) -> list[Invoice]:
        number = _order_number(order_number)
        if number is None:
            return []
        return list(
            self.session.scalars(
                select(Invoice)
                .join(Order)
                .where(Order.number == number, Invoice.customer_id == customer_id)
                .order_by(Invoice.issued_at.desc())
            )
        )


class Refunds:
    def __init__(self, session: Session) -> None:
        self.session = session

    def for_customer(self, customer_id: int) -> list[Refund]:
        return list(
            self.session.scalars(
                select(Refund)
                .where(Refund.customer_id == customer_id)
                .order_by(Refund.requested_at.desc())
            )
        )

    def for_order(self, customer_id: int, order_number: int | str) -> list[Refund]:
        number = _order_number(order_number)
        if number is None:
            return []
        return list(
            self.session.scalars(
                select(Refund)
                .join(Order)
                .where(Order.number == number, Refund.customer_id == customer_id)
                .order_by(Refund.requested_at.desc())
            )
        )


class Tickets:
    def __init__(self, session: Session) -> None:
        self.session = session

    def open(
        self,
        *,
        kind: TicketKind,
        subject: str,
        description: str,
        customer_id: int | None = None,
        sender_id: str | None = None,
        priority: str = "normal",
    ) -> Ticket:
        ticket = Ticket(
            kind=kind,
            subject=masked(subject)[:200],
            description=masked(description),
            customer_id=customer_id,
            sender_id=sender_id,
            priority=priority,
            status=TicketStatus.OPEN,
        )
        self.session.add(ticket)
        self.session.flush()  # assigns the id the reference is made of
        return ticket

    def open_for_customer(self, customer_id: int) -> list[Ticket]:
        return list(
            self.session.scalars(
                select(Ticket)
                .where(
                    Ticket.customer_id == customer_id,
                    Ticket.status.in_([TicketStatus.OPEN, TicketStatus.PENDING]),
                )
                .order_by(Ticket.created_at.desc())
            )
        )


class Interactions:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, sender_id: str) -> Interaction | None:
        return self.session.scalar(select(Interaction).where(Interaction.sender_id == sender_id))

    def start_or_get(self, sender_id: str) -> Interaction:
        interaction = self.find(sender_id)
        if interaction is None:
            interaction = Interaction(sender_id=sender_id, started_at=utcnow(), intents=[])
            self.session.add(interaction)
            self.session.flush()
        return interaction

    def bind_customer(self, sender_id: str, customer_id: int, *, method: str) -> None:
        """Record that this conversation's customer has just been verified (the latest proof
        wins: the caller decides whether it outranks the binding there was)."""
        if method not in VERIFICATION_METHODS:
            raise ValueError(f"unknown verification method {method!r}")
        interaction = self.start_or_get(sender_id)
        interaction.customer_id = customer_id
        interaction.verified_via = method
        interaction.verified_at = utcnow()

    def unbind(self, sender_id: str) -> None:
        """The conversation's customer is anonymous again (restart, new session, logout).

        `customer_id` stays: whose conversation it was, for agents and the profile."""
        interaction = self.find(sender_id)
        if interaction is not None and interaction.verified_at is not None:
            interaction.verified_via = None
            interaction.verified_at = None

    def binding(self, sender_id: str, *, max_age: timedelta | None = None) -> Binding | None:
        """Who this conversation is verified as, and how, unless that is older than max_age
        (SUPPORTBOT_BINDING_TTL by default)."""
        if max_age is None:
            max_age = timedelta(seconds=get_settings().binding_ttl_seconds)
        row = self.session.execute(
            select(
                Interaction.customer_id, Interaction.verified_via, Interaction.verified_at
            ).where(Interaction.sender_id == sender_id)
        ).one_or_none()
        if row is None or row.customer_id is None or row.verified_at is None:
            return None
        if as_utc(row.verified_at) < utcnow() - max_age:
            return None
        return Binding(row.customer_id, row.verified_via or "", as_utc(row.verified_at))

    def verified_customer_id(
        self, sender_id: str, *, max_age: timedelta | None = None
    ) -> int | None:
        """The customer this conversation was verified as within the last max_age (the binding
        TTL by default), or None."""
        binding = self.binding(sender_id, max_age=max_age)
        return binding.customer_id if binding else None

    def mark_handoff(self, sender_id: str, ticket: Ticket) -> None:
        interaction = self.start_or_get(sender_id)
        interaction.handoff = True
        interaction.handoff_ticket_id = ticket.id
        interaction.outcome = "handoff"

    def finish(self, sender_id: str, outcome: str) -> Interaction:
        interaction = self.start_or_get(sender_id)
        interaction.ended_at = utcnow()
        interaction.outcome = outcome
        interaction.satisfaction_estimate = satisfaction_estimate(interaction)
        return interaction

    def record_intent(self, sender_id: str, intent: str | None) -> Interaction:
        """Add one customer message's intent to the conversation's, in order (across the
        conversation's sessions, since an interaction is one conversation).

        One message at a time, as it arrives: the assistant's tracker holds only the recent
        part of a long conversation (assistant/tracker_store.py), so the list is not rebuilt
        from it.
        """
        interaction = self.start_or_get(sender_id)
        if intent:
            interaction.intents = [*interaction.intents, intent]
        return interaction

    def record_sentiment(
        self, sender_id: str, *, intent: str | None, label: str, score: float
    ) -> Interaction:
        """Add one customer message's intent and sentiment, and refresh the conversation's
        figures."""
        interaction = self.record_intent(sender_id, intent)
        entry = {"at": utcnow().isoformat(), "intent": intent, "label": label, "score": score}
        interaction.message_sentiments = [*interaction.message_sentiments, entry]
        scores = [float(m["score"]) for m in interaction.message_sentiments]
        interaction.sentiment_average = round(sum(scores) / len(scores), 4)
        interaction.sentiment_trend = sentiment_trend(scores)
        if intent == "nlu_fallback":
            interaction.fallback_count += 1
        interaction.satisfaction_estimate = satisfaction_estimate(interaction)
        return interaction

    def record_csat(self, sender_id: str, rating: int, comment: str | None) -> Interaction:
        if not 1 <= rating <= 5:
            raise ValueError("a CSAT rating is a whole number from 1 to 5")
        interaction = self.start_or_get(sender_id)
        interaction.csat_rating = rating
        comment = (comment or "").strip()[:MAX_CSAT_COMMENT_LENGTH]
        interaction.csat_comment = masked(comment) or None
        interaction.csat_at = utcnow()
        return interaction


class Decisions:
    """The log of what the assistant decided by itself, and why."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def log(
        self,
        sender_id: str,
        kind: str,
        reason: str,
        *,
        customer_id: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> Decision:
        decision = Decision(
            sender_id=sender_id,
            customer_id=customer_id,
            kind=kind,
            reason=reason,
            details=details or {},
            created_at=utcnow(),
        )
        self.session.add(decision)
        self.session.flush()
        return decision

    def for_conversation(self, sender_id: str) -> list[Decision]:
        return list(
            self.session.scalars(
                select(Decision).where(Decision.sender_id == sender_id).order_by(Decision.id)
            )
        )


class Profiles:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, customer_id: int) -> CustomerProfile | None:
        return self.session.get(CustomerProfile, customer_id)

    def refresh(self, customer_id: int) -> CustomerProfile:
        """Recompute and store the profile: reads all the customer's orders and conversations,
        so it runs when a conversation ends or goes to a person, not on every message."""
        return refresh_profile(self.session, customer_id)

    def get_or_refresh(self, customer_id: int) -> CustomerProfile:
        """The stored profile; computed and stored if the customer has none yet."""
        return self.get(customer_id) or self.refresh(customer_id)
