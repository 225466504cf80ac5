"""The CRM profile store: customers, orders, invoices, refunds, tickets, interactions, profiles.

Models, the session pattern, repositories and the demo seed; `supportbot.store` composes the
repositories of every package over one transaction.
"""

from supportbot.crm.db import get_engine, session_scope
from supportbot.crm.models import (
    Customer,
    CustomerProfile,
    Decision,
    Interaction,
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
from supportbot.crm.repositories import (
    AddressChangeNotAllowed,
    Binding,
    OrderNotCancellable,
)

__all__ = [
    "AddressChangeNotAllowed",
    "Binding",
    "Customer",
    "CustomerProfile",
    "Decision",
    "Interaction",
    "Invoice",
    "InvoiceStatus",
    "Order",
    "OrderItem",
    "OrderNotCancellable",
    "OrderStatus",
    "Payment",
    "PaymentStatus",
    "Refund",
    "RefundStatus",
    "Ticket",
    "TicketKind",
    "TicketStatus",
    "get_engine",
    "session_scope",
]
