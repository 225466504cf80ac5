"""The CRM profile store: models, the session pattern, repositories and the demo seed."""

import bot.console.models  # (the agent console's tables share the CRM metadata)
import bot.kb.models  # noqa: F401  (and so does the knowledge base's)
from bot.crm.db import get_engine, migrate, session_scope
from bot.crm.models import (
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
from bot.crm.repositories import (
    CRM,
    AddressChangeNotAllowed,
    IdentityConflict,
    OrderNotCancellable,
    crm_session,
)

__all__ = [
    "CRM",
    "AddressChangeNotAllowed",
    "Customer",
    "CustomerProfile",
    "Decision",
    "IdentityConflict",
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
    "crm_session",
    "get_engine",
    "migrate",
    "session_scope",
]
