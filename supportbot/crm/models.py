"""The CRM's tables: customers and what they bought, paid, asked and said."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, overload

from sqlalchemy import JSON, Date, DateTime, Enum, Float, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything here is stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@overload
def utc_iso(moment: datetime) -> str: ...
@overload
def utc_iso(moment: None) -> None: ...
def utc_iso(moment: datetime | None) -> str | None:
    """A stored moment as the API shows it: ISO 8601 with its UTC offset, on every database."""
    return None if moment is None else as_utc(moment).isoformat()


class Base(DeclarativeBase):
    pass


def _enum(kind: type[enum.Enum]) -> Enum:
    # Stored as plain strings (the enum's values), so SQLite and PostgreSQL agree.
    return Enum(
        kind,
        native_enum=False,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


Money = Numeric(10, 2)


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"

    @property
    def is_cancellable(self) -> bool:
        """Only orders that have not left the warehouse can be cancelled."""
        return self in (OrderStatus.PENDING, OrderStatus.PROCESSING)

    @property
    def allows_address_change(self) -> bool:
        return self in (OrderStatus.PENDING, OrderStatus.PROCESSING)


class InvoiceStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    OVERDUE = "overdue"
    VOID = "void"


class PaymentStatus(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RefundStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"


class TicketKind(enum.StrEnum):
    COMPLAINT = "complaint"
    PAYMENT_ISSUE = "payment_issue"
    HANDOFF = "handoff"
    GENERAL = "general"


class TicketStatus(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"
    CLOSED = "closed"


# An erased customer's email is `erased-<id>@` this domain (supportbot.privacy.erasure): unique,
# as the column must be, and in a domain that can never receive mail (RFC 2606).
ERASED_EMAIL_DOMAIN = "erased.invalid"


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    shipping_address: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    orders: Mapped[list[Order]] = relationship(back_populates="customer")
    tickets: Mapped[list[Ticket]] = relationship(back_populates="customer")

    @property
    def erased(self) -> bool:
        """Erased on request: an anonymous owner of kept records, whom no one can verify as
        (its email is predictable)."""
        return self.email.endswith("@" + ERASED_EMAIL_DOMAIN)


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True, index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    carrier: Mapped[str | None] = mapped_column(String(40))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    eta: Mapped[date | None] = mapped_column(Date)
    shipping_address: Mapped[str] = mapped_column(Text)
    total: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancellation_reason: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan"
    )
    invoices: Mapped[list[Invoice]] = relationship(back_populates="order")
    refunds: Mapped[list[Refund]] = relationship(back_populates="order")


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    sku: Mapped[str] = mapped_column(String(32))
    product_name: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Money)

    order: Mapped[Order] = relationship(back_populates="items")


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_date: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    status: Mapped[InvoiceStatus] = mapped_column(_enum(InvoiceStatus))

    order: Mapped[Order] = relationship(back_populates="invoices")
    payments: Mapped[list[Payment]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan"
    )


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(String(20))
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[PaymentStatus] = mapped_column(_enum(PaymentStatus))

    invoice: Mapped[Invoice] = relationship(back_populates="payments")


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[RefundStatus] = mapped_column(_enum(RefundStatus))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship(back_populates="refunds")


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[TicketKind] = mapped_column(_enum(TicketKind))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), default=TicketStatus.OPEN)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    # The Rasa sender id: where the agent finds the transcript.
    sender_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    customer: Mapped[Customer | None] = relationship(back_populates="tickets")

    @property
    def reference(self) -> str:
        return f"T-{self.id:06d}"


class Interaction(Base):
    """One conversation, keyed by the Rasa sender id; also where verified identity lives."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    verified_via: Mapped[str | None] = mapped_column(String(20))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    intents: Mapped[list[str]] = mapped_column(JSON, default=list)
    outcome: Mapped[str | None] = mapped_column(String(20))
    handoff: Mapped[bool] = mapped_column(default=False)
    handoff_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # One {"at", "intent", "label", "score"} per customer message, in order (no message text:
    # the transcript lives in the tracker store).
    message_sentiments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sentiment_average: Mapped[float | None] = mapped_column(Float)
    # Least-squares slope of the message scores: < 0 means the mood is getting worse.
    sentiment_trend: Mapped[float | None] = mapped_column(Float)
    fallback_count: Mapped[int] = mapped_column(default=0)
    # Predicted 1-5 satisfaction, and the customer's own rating when they give one.
    satisfaction_estimate: Mapped[float | None] = mapped_column(Float)
    csat_rating: Mapped[int | None]
    csat_comment: Mapped[str | None] = mapped_column(Text)
    csat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VerificationFailure(Base):
    """Failed order-number-plus-email checks of one email, order number or client.

    Keyed by an HMAC of what was tried (never the email in clear); a failed try counts whether
    or not the email or the order exists, so the lock says nothing about either."""

    __tablename__ = "verification_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )


class Decision(Base):
    """Something the assistant decided on its own, with the reason an agent can read."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CustomerProfile(Base):
    """What the CRM has learnt about a customer from orders and conversations (derived data)."""

    __tablename__ = "customer_profiles"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    interaction_count: Mapped[int] = mapped_column(default=0)
    last_contact_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    intent_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # Average sentiment of each conversation, oldest first (the most recent 20).
    sentiment_history: Mapped[list[float]] = mapped_column(JSON, default=list)
    handoff_count: Mapped[int] = mapped_column(default=0)
    satisfaction_average: Mapped[float | None] = mapped_column(Float)
    csat_average: Mapped[float | None] = mapped_column(Float)
    recency_days: Mapped[int | None]
    frequency: Mapped[int] = mapped_column(default=0)
    monetary: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    value: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    tier: Mapped[str] = mapped_column(String(10), default="bronze")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
