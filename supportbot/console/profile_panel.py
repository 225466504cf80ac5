"""The customer side panel of the console's transcript view: who the customer is and what they
bought, asked and felt before. A guest conversation (nobody verified) has no panel."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportbot.crm.models import Customer, Interaction, Order, Ticket, utc_iso
from supportbot.crm.profile import current_profile
from supportbot.insights.queries import customer_insight

LATEST = 10


def profile_panel(session: Session, sender_id: str) -> dict[str, Any] | None:
    """The panel for the conversation's verified customer, or None for a guest."""
    customer_id = session.scalar(
        select(Interaction.customer_id).where(Interaction.sender_id == sender_id)
    )
    customer = session.get(Customer, customer_id) if customer_id is not None else None
    if customer is None:
        return None
    # Computed now rather than read from customer_profiles: the stored row is refreshed only
    # when one of the customer's messages is analysed, and seeded customers have none yet.
    profile = current_profile(session, customer.id)
    orders = session.scalars(
        select(Order)
        .where(Order.customer_id == customer.id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(LATEST)
    )
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.customer_id == customer.id)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(LATEST)
    )
    previous = session.scalars(
        select(Interaction)
        .where(Interaction.customer_id == customer.id, Interaction.sender_id != sender_id)
        .order_by(Interaction.started_at.desc(), Interaction.id.desc())
        .limit(LATEST)
    )
    return {
        "customer": {
            "id": customer.id,
            "name": customer.name,
            "email": customer.email,
            "tier": profile.tier,
            "value": str(profile.value),
            "since": utc_iso(customer.created_at),
        },
        "orders": [
            {
                "reference": str(order.number),
                "status": order.status.value,
                "total": str(order.total),
                "placed_at": utc_iso(order.placed_at),
            }
            for order in orders
        ],
        "tickets": [
            {
                "reference": ticket.reference,
                "subject": ticket.subject,
                "status": ticket.status.value,
                "priority": ticket.priority,
                "opened_at": utc_iso(ticket.created_at),
            }
            for ticket in tickets
        ],
        "previous_conversations": [
            {
                "sender_id": interaction.sender_id,
                "started_at": utc_iso(interaction.started_at),
                "intents": list(interaction.intents or []),
                "outcome": interaction.outcome,
                "sentiment_average": interaction.sentiment_average,
                "csat_rating": interaction.csat_rating,
            }
            for interaction in previous
        ],
        # What the nightly insights run predicted, with its reasons (None before the first run).
        "insights": customer_insight(session, customer.id),
        "stats": {
            "interaction_count": profile.interaction_count,
            "satisfaction_average": profile.satisfaction_average,
            "csat_average": profile.csat_average,
            "handoff_count": profile.handoff_count,
            "sentiment_history": list(profile.sentiment_history),
        },
    }
