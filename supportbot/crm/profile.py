"""The customer profile: value from order history, and what conversations taught the CRM.

Value is a simple customer-lifetime-value estimate from RFM figures over the last year:
average order value x orders per year x an expected three-year relationship, discounted when
the customer has not ordered for a while. The tier is a band of that value.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportbot.crm.models import CustomerProfile, Interaction, Order, OrderStatus, as_utc, utcnow

YEAR_DAYS = 365
HORIZON_YEARS = Decimal(3)
# Tier floors in currency units of lifetime value, highest first.
TIERS: tuple[tuple[str, Decimal], ...] = (
    ("platinum", Decimal(1500)),
    ("gold", Decimal(800)),
    ("silver", Decimal(250)),
    ("bronze", Decimal(0)),
)
HIGH_VALUE_TIERS = frozenset({"platinum", "gold"})
SENTIMENT_HISTORY_LENGTH = 20
_NOT_REVENUE = (OrderStatus.CANCELLED, OrderStatus.RETURNED)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CustomerValue:
    recency_days: int | None  # days since the last order, None if never ordered
    frequency: int  # orders in the last year
    monetary: Decimal  # spend in the last year
    value: Decimal  # lifetime value estimate
    tier: str


def tier_for(value: Decimal) -> str:
    return next(name for name, floor in TIERS if value >= floor)


def customer_value(orders: list[Order], now: datetime) -> CustomerValue:
    """RFM over the last year and the lifetime value estimate built from it."""
    revenue = [o for o in orders if o.status not in _NOT_REVENUE]
    recency = min(((now - as_utc(o.placed_at)).days for o in revenue), default=None)
    last_year = [o for o in revenue if (now - as_utc(o.placed_at)).days <= YEAR_DAYS]
    frequency = len(last_year)
    monetary = sum((o.total for o in last_year), Decimal(0))
    if frequency == 0 or recency is None:
        value = Decimal(0)
    else:
        average_order = monetary / frequency
        # A customer quiet for half a year is worth less than one who ordered last week.
        retention = Decimal(max(0.25, 1 - recency / YEAR_DAYS))
        value = average_order * frequency * HORIZON_YEARS * retention
    value = value.quantize(CENT)
    return CustomerValue(recency, frequency, monetary.quantize(CENT), value, tier_for(value))


def satisfaction_estimate(interaction: Interaction) -> float:
    """A 1-5 satisfaction prediction from sentiment, outcome, fallbacks and handoff.

    Weights are hand-set and checked against explicit CSAT (`supportbot satisfaction-check`).
    """
    estimate = 3.5
    scores = [float(m["score"]) for m in interaction.message_sentiments if "score" in m]
    if scores:
        # The end of a conversation weighs more than its start.
        estimate += 1.2 * (0.4 * (sum(scores) / len(scores)) + 0.6 * scores[-1])
    if interaction.outcome == "resolved":
        estimate += 0.5
    if interaction.handoff:
        estimate -= 0.5
    estimate -= 0.4 * min(interaction.fallback_count, 3)
    return round(min(5.0, max(1.0, estimate)), 2)


def sentiment_trend(scores: list[float]) -> float | None:
    """Least-squares slope of scores over message index (None with fewer than two)."""
    n = len(scores)
    if n < 2:
        return None
    mean_x, mean_y = (n - 1) / 2, sum(scores) / n
    covariance = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(scores))
    variance = sum((i - mean_x) ** 2 for i in range(n))
    return round(covariance / variance, 4)


def refresh_profile(
    session: Session, customer_id: int, now: datetime | None = None
) -> CustomerProfile:
    """Recompute the customer's profile from their orders and conversations."""
    profile = session.get(CustomerProfile, customer_id)
    if profile is None:
        profile = CustomerProfile(customer_id=customer_id)
        session.add(profile)
    _fill_profile(session, profile, now or utcnow())
    session.flush()
    return profile


def current_profile(
    session: Session, customer_id: int, now: datetime | None = None
) -> CustomerProfile:
    """The profile `refresh_profile` would store, computed without writing (for read-only views;
    the stored one is as fresh as the customer's last finished or handed-over conversation)."""
    profile = CustomerProfile(customer_id=customer_id)
    _fill_profile(session, profile, now or utcnow())
    return profile


def _fill_profile(session: Session, profile: CustomerProfile, now: datetime) -> None:
    customer_id = profile.customer_id
    orders = list(session.scalars(select(Order).where(Order.customer_id == customer_id)))
    interactions = list(
        session.scalars(
            select(Interaction)
            .where(Interaction.customer_id == customer_id)
            .order_by(Interaction.started_at)
        )
    )
    value = customer_value(orders, now)
    profile.recency_days = value.recency_days
    profile.frequency = value.frequency
    profile.monetary = value.monetary
    profile.value = value.value
    profile.tier = value.tier

    profile.interaction_count = len(interactions)
    profile.last_contact_at = max((as_utc(i.started_at) for i in interactions), default=None)
    profile.intent_counts = dict(Counter(name for i in interactions for name in i.intents))
    profile.sentiment_history = [
        round(i.sentiment_average, 3) for i in interactions if i.sentiment_average is not None
    ][-SENTIMENT_HISTORY_LENGTH:]
    profile.handoff_count = sum(1 for i in interactions if i.handoff)
    estimates = [i.satisfaction_estimate for i in interactions if i.satisfaction_estimate]
    ratings = [i.csat_rating for i in interactions if i.csat_rating is not None]
    profile.satisfaction_average = round(sum(estimates) / len(estimates), 2) if estimates else None
    profile.csat_average = round(sum(ratings) / len(ratings), 2) if ratings else None
    profile.updated_at = now


@dataclass(frozen=True)
class SatisfactionCheck:
    rated: int  # conversations with both an estimate and the customer's own rating
    mean_absolute_error: float | None
    within_one_point: float | None  # share of estimates within 1 of the rating


def check_satisfaction_estimates(session: Session) -> SatisfactionCheck:
    """How well the satisfaction estimate predicts the CSAT customers actually give."""
    pairs = session.execute(
        select(Interaction.satisfaction_estimate, Interaction.csat_rating).where(
            Interaction.satisfaction_estimate.is_not(None), Interaction.csat_rating.is_not(None)
        )
    ).all()
    if not pairs:
        return SatisfactionCheck(0, None, None)
    errors = [
        abs(estimate - rating)
        for estimate, rating in pairs
        if estimate is not None and rating is not None  # the query already ensures it
    ]
    return SatisfactionCheck(
        len(pairs),
        round(sum(errors) / len(errors), 3),
        round(sum(1 for e in errors if e <= 1) / len(errors), 3),
    )
