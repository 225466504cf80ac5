"""A deterministic demo CRM: a few hundred customers, plus two documented ones.

Demo customers (also in the README; tests and reviewers rely on them):

- Ada Lovelace, ada@example.com
  - order 100001: shipped with UPS, tracking number 1Z999AA10123456784; invoice INV-500001 (paid)
  - order 100003: delivered; invoice INV-500003 (paid); refund RF-700001 (approved)
  - order 100004: pending, so it can still be cancelled
- Grace Hopper, grace@example.com
  - order 100002: processing (no tracking yet; its address can still change); invoice INV-500002
    (open)
  - order 100005: delivered

Everyone else: order numbers from 100100, invoices from INV-500100, refunds from RF-700100.
Dates are relative to a fixed reference day, so two seeds with the same arguments are identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supportbot.crm.models import (
    Customer,
    Invoice,
    InvoiceStatus,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    Ticket,
    TicketKind,
    TicketStatus,
)

REFERENCE_DAY = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CENT = Decimal("0.01")

PRODUCTS = [
    ("SKU-1001", "Ceramic coffee mug", "14.50"),
    ("SKU-1002", "French press, 1 l", "39.90"),
    ("SKU-1003", "Ground coffee, 500 g", "12.95"),
    ("SKU-1004", "Electric kettle", "59.00"),
    ("SKU-1005", "Tea sampler box", "24.00"),
    ("SKU-1006", "Wool throw blanket", "79.00"),
    ("SKU-1007", "Linen napkins (4)", "22.50"),
    ("SKU-1008", "Cast-iron skillet", "49.95"),
    ("SKU-1009", "Chef's knife", "89.00"),
    ("SKU-1010", "Bamboo cutting board", "27.00"),
    ("SKU-1011", "Scented candle", "18.00"),
    ("SKU-1012", "Desk lamp", "64.00"),
    ("SKU-1013", "Notebook, dotted", "9.50"),
    ("SKU-1014", "Fountain pen", "45.00"),
    ("SKU-1015", "Wireless earbuds", "129.00"),
    ("SKU-1016", "Phone stand", "19.90"),
    ("SKU-1017", "Backpack, 20 l", "95.00"),
    ("SKU-1018", "Water bottle, steel", "29.00"),
    ("SKU-1019", "Running socks (3)", "21.00"),
    ("SKU-1020", "Yoga mat", "42.00"),
    ("SKU-1021", "Plant pot, terracotta", "16.00"),
    ("SKU-1022", "Watering can", "34.00"),
    ("SKU-1023", "Board game", "38.00"),
    ("SKU-1024", "Jigsaw puzzle, 1000 pieces", "23.00"),
    ("SKU-1025", "Picture frame, A4", "26.50"),
]
# Products people tend to buy together, so that co-purchase recommendations have a pattern
# to find (most baskets come from one theme; some are mixed).
THEMES = [
    ["SKU-1001", "SKU-1002", "SKU-1003", "SKU-1004", "SKU-1005"],  # coffee and tea
    ["SKU-1007", "SKU-1008", "SKU-1009", "SKU-1010"],  # kitchen
    ["SKU-1006", "SKU-1011", "SKU-1021", "SKU-1022", "SKU-1025"],  # home
    ["SKU-1012", "SKU-1013", "SKU-1014", "SKU-1016"],  # desk
    ["SKU-1015", "SKU-1017", "SKU-1018", "SKU-1019", "SKU-1020"],  # on the move
    ["SKU-1023", "SKU-1024"],  # games
]
THEMED_BASKET_SHARE = 0.8
FIRST_NAMES = [
    "Amara",
    "Ben",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grete",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Samir",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Adams",
    "Berg",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Silva",
    "Tanaka",
    "Urban",
    "Virtanen",
    "Weber",
    "Yilmaz",
    "Zhang",
]
STREETS = ["Market Street", "Elm Road", "Harbour Lane", "King's Avenue", "Station Road", "Oak Way"]
CITIES = [
    ("Springfield", "62701"),
    ("Riverton", "84065"),
    ("Fairview", "37062"),
    ("Madison", "53703"),
    ("Georgetown", "78626"),
    ("Salem", "97301"),
    ("Franklin", "37064"),
    ("Clinton", "52732"),
]
CARRIERS = ["UPS", "DHL", "FedEx", "USPS"]
PAYMENT_METHODS = ["card", "paypal", "bank_transfer"]


@dataclass(frozen=True)
class SeedSummary:
    """What a seed run created (all zero when the demo data was already there)."""

    created: bool
    customers: int
    orders: int
    invoices: int
    refunds: int
    tickets: int


class _Seeder:
    def __init__(self, session: Session, rng: random.Random) -> None:
        self.session = session
        self.rng = rng
        self.counts = {"customers": 0, "orders": 0, "invoices": 0, "refunds": 0, "tickets": 0}

    def customer(self, name: str, email: str, address: str) -> Customer:
        customer = Customer(
            name=name,
            email=email,
            phone=f"+1 555 {self.rng.randint(1000, 9999)}",
            shipping_address=address,
            created_at=REFERENCE_DAY - timedelta(days=self.rng.randint(60, 900)),
        )
        self.session.add(customer)
        self.counts["customers"] += 1
        return customer

    def order(
        self,
        customer: Customer,
        number: int,
        status: OrderStatus,
        *,
        days_ago: int,
        carrier: str | None = None,
        tracking_number: str | None = None,
    ) -> Order:
        products = self._basket()
        items = [
            OrderItem(
                sku=sku,
                product_name=name,
                quantity=self.rng.randint(1, 2),
                unit_price=Decimal(price),
            )
            for sku, name, price in products
        ]
        placed_at = REFERENCE_DAY - timedelta(days=days_ago, hours=self.rng.randint(0, 23))
        shipped = status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.RETURNED)
        if shipped and carrier is None:
            carrier = self.rng.choice(CARRIERS)
            tracking_number = f"{carrier[:2].upper()}{self.rng.randint(10**9, 10**10 - 1)}"
        eta = None
        if status in (OrderStatus.PROCESSING, OrderStatus.SHIPPED):
            eta = (REFERENCE_DAY + timedelta(days=self.rng.randint(1, 5))).date()
        order = Order(
            number=number,
            customer=customer,
            status=status,
            placed_at=placed_at,
            carrier=carrier if shipped else None,
            tracking_number=tracking_number if shipped else None,
            eta=eta,
            shipping_address=customer.shipping_address,
            total=sum((i.unit_price * i.quantity for i in items), Decimal(0)).quantize(CENT),
            currency="USD",
            items=items,
        )
        if status is OrderStatus.CANCELLED:
            order.cancelled_at = placed_at + timedelta(hours=5)
            order.cancellation_reason = "Cancelled by the customer"
        self.session.add(order)
        self.counts["orders"] += 1
        return order

    def _basket(self) -> list[tuple[str, str, str]]:
        size = self.rng.randint(1, 3)
        if self.rng.random() >= THEMED_BASKET_SHARE:
            return self.rng.sample(PRODUCTS, k=size)
        theme = self.rng.choice(THEMES)
        by_sku = {product[0]: product for product in PRODUCTS}
        return [by_sku[sku] for sku in self.rng.sample(theme, k=min(size, len(theme)))]

    def invoice(self, order: Order, number: int, status: InvoiceStatus) -> Invoice:
        invoice = Invoice(
            number=f"INV-{number}",
            order=order,
            customer_id=order.customer.id,
            issued_at=order.placed_at + timedelta(hours=1),
            due_date=(order.placed_at + timedelta(days=14)).date(),
            amount=order.total,
            currency=order.currency,
            status=status,
        )
        if status is InvoiceStatus.PAID:
            invoice.payments.append(
                Payment(
                    amount=order.total,
                    method=self.rng.choice(PAYMENT_METHODS),
                    paid_at=order.placed_at + timedelta(hours=2),
                    status=PaymentStatus.SUCCEEDED,
                )
            )
        elif status is InvoiceStatus.OVERDUE:
            invoice.payments.append(
                Payment(
                    amount=order.total,
                    method="card",
                    paid_at=order.placed_at + timedelta(hours=2),
                    status=PaymentStatus.FAILED,
                )
            )
        self.session.add(invoice)
        self.counts["invoices"] += 1
        return invoice

    def refund(self, order: Order, number: int, status: RefundStatus) -> Refund:
        item = order.items[0]
        requested_at = order.placed_at + timedelta(days=self.rng.randint(5, 20))
        refund = Refund(
            number=f"RF-{number}",
            order=order,
            customer_id=order.customer.id,
            amount=(item.unit_price * item.quantity).quantize(CENT),
            status=status,
            requested_at=requested_at,
            updated_at=requested_at + timedelta(days=2),
            reason=self.rng.choice(["Damaged on arrival", "Changed my mind", "Wrong size"]),
        )
        self.session.add(refund)
        self.counts["refunds"] += 1
        return refund

    def ticket(self, customer: Customer, kind: TicketKind, status: TicketStatus) -> None:
        subjects = {
            TicketKind.COMPLAINT: "Item arrived damaged",
            TicketKind.PAYMENT_ISSUE: "Card charged twice",
            TicketKind.HANDOFF: "Customer asked for a human agent",
            TicketKind.GENERAL: "Question about an order",
        }
        self.session.add(
            Ticket(
                customer=customer,
                kind=kind,
                subject=subjects[kind],
                description=subjects[kind] + ".",
                status=status,
                priority=self.rng.choice(["low", "normal", "high"]),
                created_at=REFERENCE_DAY - timedelta(days=self.rng.randint(1, 120)),
            )
        )
        self.counts["tickets"] += 1

    def address(self) -> str:
        city, postcode = self.rng.choice(CITIES)
        return f"{self.rng.randint(1, 250)} {self.rng.choice(STREETS)}, {city} {postcode}"


def _invoice_status_for(order: Order, rng: random.Random) -> InvoiceStatus:
    if order.status is OrderStatus.CANCELLED:
        return InvoiceStatus.VOID
    if order.status is OrderStatus.PROCESSING:
        return rng.choice([InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.OVERDUE])
    return InvoiceStatus.PAID


def seed_demo_data(session: Session, *, customers: int = 300, random_seed: int = 7) -> SeedSummary:
    """Fill an empty CRM with demo data; a CRM that already has it is left alone."""
    if customers < 0:
        raise ValueError("customers must not be negative")
    if session.scalar(select(func.count(Customer.id)).where(Customer.email == "ada@example.com")):
        return SeedSummary(False, 0, 0, 0, 0, 0)
    rng = random.Random(random_seed)
    seed = _Seeder(session, rng)

    ada = seed.customer("Ada Lovelace", "ada@example.com", "12 St James's Square, London SW1Y 4JH")
    grace = seed.customer("Grace Hopper", "grace@example.com", "1 Navy Yard, Arlington VA 22202")
    session.flush()
    shipped = seed.order(
        ada,
        100001,
        OrderStatus.SHIPPED,
        days_ago=3,
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
    )
    seed.invoice(shipped, 500001, InvoiceStatus.PAID)
    processing = seed.order(grace, 100002, OrderStatus.PROCESSING, days_ago=1)
    seed.invoice(processing, 500002, InvoiceStatus.OPEN)
    delivered = seed.order(ada, 100003, OrderStatus.DELIVERED, days_ago=30)
    seed.invoice(delivered, 500003, InvoiceStatus.PAID)
    seed.refund(delivered, 700001, RefundStatus.APPROVED)
    seed.order(ada, 100004, OrderStatus.PENDING, days_ago=0)
    seed.order(grace, 100005, OrderStatus.DELIVERED, days_ago=45)

    statuses = list(OrderStatus)
    refund_statuses = list(RefundStatus)
    order_number, invoice_number, refund_number = 100100, 500100, 700100
    used_emails: set[str] = set()
    for index in range(customers):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first.lower()}.{last.lower()}.{index}@example.net"
        used_emails.add(email)
        customer = seed.customer(f"{first} {last}", email, seed.address())
        session.flush()
        for _ in range(rng.randint(0, 6)):
            # Cycle through statuses first so that every status occurs even in a small seed.
            status = (
                statuses[order_number % len(statuses)]
                if rng.random() < 0.5
                else (rng.choice(statuses))
            )
            order = seed.order(customer, order_number, status, days_ago=rng.randint(0, 365))
            order_number += 1
            if status is not OrderStatus.PENDING:
                seed.invoice(order, invoice_number, _invoice_status_for(order, rng))
                invoice_number += 1
            if status in (OrderStatus.DELIVERED, OrderStatus.RETURNED) and rng.random() < 0.4:
                refund_status = refund_statuses[refund_number % len(refund_statuses)]
                seed.refund(order, refund_number, refund_status)
                refund_number += 1
        if rng.random() < 0.2:
            seed.ticket(customer, rng.choice(list(TicketKind)), rng.choice(list(TicketStatus)))
    session.flush()
    return SeedSummary(True, **seed.counts)
