"""The demo CRM's synthetic history (supportbot.crm.seed): deterministic, with the structure its
docstring promises (seasonality, complaints before churn, CSAT that follows the conversation),
and Ada and Grace exactly as documented. Real SQLite databases, migrated as in production."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from supportbot.crm.db import session_scope
from supportbot.crm.models import (
    Customer,
    Interaction,
    Invoice,
    Order,
    OrderStatus,
    Refund,
    Ticket,
    TicketKind,
    as_utc,
)
from supportbot.crm.profile import satisfaction_estimate, sentiment_trend
from supportbot.crm.seed import (
    COMPLAINT_TEXTS,
    FIRST_NAMES,
    LAST_NAMES,
    NEUTRAL_TEXTS,
    PRAISE_TEXTS,
    REFERENCE_DAY,
    seed_demo_data,
)
from supportbot.store import migrate

CUSTOMERS = 200
MONTH_STARTS = [(2025, 11, 1), (2026, 1, 1), (2026, 3, 1)]  # Nov-Dec 2025, Jan-Feb 2026
DAY = timedelta(days=1)


def seeded_url(directory: Path, customers: int, random_seed: int = 7) -> str:
    url = f"sqlite:///{directory / f'crm-{customers}-{random_seed}.db'}"
    migrate(url)
    with session_scope(url) as session:
        assert seed_demo_data(session, customers=customers, random_seed=random_seed).created
    return url


@dataclass(frozen=True)
class History:
    url: str
    customers: list[Any]
    orders: list[Any]
    interactions: list[Any]
    tickets: list[Any]


def read_history(url: str) -> History:
    with session_scope(url) as session:
        return History(
            url=url,
            customers=list(
                session.execute(select(Customer.id, Customer.email, Customer.created_at))
            ),
            orders=list(
                session.execute(
                    select(
                        Order.number,
                        Order.customer_id,
                        Order.status,
                        Order.placed_at,
                        Order.total,
                    ).order_by(Order.number)
                )
            ),
            interactions=list(
                session.execute(
                    select(
                        Interaction.sender_id,
                        Interaction.customer_id,
                        Interaction.started_at,
                        Interaction.ended_at,
                        Interaction.intents,
                        Interaction.outcome,
                        Interaction.handoff,
                        Interaction.handoff_ticket_id,
                        Interaction.message_sentiments,
                        Interaction.sentiment_average,
                        Interaction.sentiment_trend,
                        Interaction.fallback_count,
                        Interaction.satisfaction_estimate,
                        Interaction.csat_rating,
                        Interaction.csat_comment,
                    ).order_by(Interaction.sender_id)
                )
            ),
            tickets=list(
                session.execute(
                    select(
                        Ticket.id,
                        Ticket.customer_id,
                        Ticket.kind,
                        Ticket.subject,
                        Ticket.description,
                        Ticket.sender_id,
                        Ticket.created_at,
                    ).order_by(Ticket.id)
                )
            ),
        )


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return read_history(seeded_url(tmp_path_factory.mktemp("seed"), CUSTOMERS))


def template_pattern(template: str) -> re.Pattern[str]:
    """A comment template as a pattern: its slots match any words; case-insensitive, since an
    opener ("Honestly, ...") lower-cases the first letter."""
    parts = re.split(r"\{[a-z_]+\}", template)
    return re.compile(".+?".join(re.escape(part) for part in parts), re.IGNORECASE)


THEME_PATTERNS = {
    theme: [template_pattern(t) for t in texts] for theme, texts in COMPLAINT_TEXTS.items()
}
PRAISE_PATTERNS = [template_pattern(t) for t in PRAISE_TEXTS]
NEUTRAL_PATTERNS = [template_pattern(t) for t in NEUTRAL_TEXTS]


def themes_of(text: str) -> set[str]:
    return {
        theme for theme, patterns in THEME_PATTERNS.items() if any(p.search(text) for p in patterns)
    }


# --- determinism and idempotence -------------------------------------------------------------


def test_the_same_arguments_give_the_same_history(tmp_path: Path) -> None:
    first = read_history(seeded_url(tmp_path / "a", 60))
    second = read_history(seeded_url(tmp_path / "b", 60))
    assert first.orders and first.interactions and first.tickets
    assert first.orders == second.orders  # numbers, customers, statuses, dates and totals
    assert first.interactions == second.interactions
    assert first.tickets == second.tickets
    other = read_history(seeded_url(tmp_path / "c", 60, random_seed=8))
    assert [o.total for o in other.orders] != [o.total for o in first.orders]


def test_a_second_seed_leaves_the_history_alone(history: History) -> None:
    with session_scope(history.url) as session:
        again = seed_demo_data(session, customers=CUSTOMERS)
    assert not again.created and again.interactions == 0
    assert read_history(history.url) == history


# --- orders ------------------------------------------------------------------------------


def test_history_spans_two_years_and_numbers_start_where_documented(history: History) -> None:
    generated = [o for o in history.orders if o.number >= 100100]
    placed = [as_utc(o.placed_at) for o in generated]
    assert REFERENCE_DAY - min(placed) > timedelta(days=700)
    assert max(placed) < REFERENCE_DAY
    assert [o.number for o in generated] == list(range(100100, 100100 + len(generated)))
    with session_scope(history.url) as session:
        invoices = sorted(
            int(n[4:]) for n in session.scalars(select(Invoice.number)) if n >= "INV-500100"
        )
        refunds = sorted(
            int(n[3:]) for n in session.scalars(select(Refund.number)) if n >= "RF-700100"
        )
    assert invoices == list(range(500100, 500100 + len(invoices)))
    assert refunds == list(range(700100, 700100 + len(refunds)))
    # Personas come in fixed shares: 15 % are new, signed up in the last three months.
    generated_customers = [c for c in history.customers if c.email.endswith("@example.net")]
    recent = [c for c in generated_customers if REFERENCE_DAY - as_utc(c.created_at) < 91 * DAY]
    assert len(generated_customers) == CUSTOMERS
    assert len(recent) == round(0.15 * CUSTOMERS)


def test_the_gift_season_sells_more_a_day_than_the_new_year(history: History) -> None:
    placed = [as_utc(o.placed_at) for o in history.orders]
    # The adjacent seasons: the customer base grows from one to the next, which works against
    # the difference, so the seasonality must carry it.
    peak = sum(
        1
        for at in placed
        if datetime(2025, 11, 1, tzinfo=UTC) <= at < datetime(2026, 1, 1, tzinfo=UTC)
    )
    dip = sum(
        1
        for at in placed
        if datetime(2026, 1, 1, tzinfo=UTC) <= at < datetime(2026, 3, 1, tzinfo=UTC)
    )
    assert peak / 61 > 1.4 * (dip / 59)


def test_order_status_follows_age(history: History) -> None:
    for order in history.orders:
        if order.number < 100100:
            continue
        age = REFERENCE_DAY - as_utc(order.placed_at)
        if age > 20 * DAY:
            assert order.status in {
                OrderStatus.DELIVERED,
                OrderStatus.CANCELLED,
                OrderStatus.RETURNED,
            }
        if order.status in (OrderStatus.PENDING, OrderStatus.PROCESSING):
            assert age < 3 * DAY
    old = [o for o in history.orders if REFERENCE_DAY - as_utc(o.placed_at) > 20 * DAY]
    cancelled = sum(1 for o in old if o.status is OrderStatus.CANCELLED) / len(old)
    returned = sum(1 for o in old if o.status is OrderStatus.RETURNED) / len(old)
    assert 0.02 < cancelled < 0.07 and 0.02 < returned < 0.07


@pytest.mark.parametrize("random_seed", [7, 11, 23])
def test_every_order_status_occurs_with_thirty_customers(tmp_path: Path, random_seed: int):
    url = seeded_url(tmp_path, 30, random_seed)
    with session_scope(url) as session:
        statuses = set(session.scalars(select(Order.status).where(Order.number >= 100100)))
    assert statuses == set(OrderStatus)


# --- conversations -----------------------------------------------------------------------


def test_conversations_are_recorded_as_the_assistant_records_them(history: History) -> None:
    assert len(history.interactions) > CUSTOMERS  # a few each, more for the unhappy
    handoff_tickets = {t.id: t for t in history.tickets if t.kind is TicketKind.HANDOFF}
    for row in history.interactions:
        assert re.fullmatch(r"seed-\d+-\d+", row.sender_id)
        assert as_utc(row.started_at) < REFERENCE_DAY
        scores = [m["score"] for m in row.message_sentiments]
        assert [m["intent"] for m in row.message_sentiments] == row.intents
        assert all(-1 <= s <= 1 for s in scores)
        assert {m["label"] for m in row.message_sentiments} <= {"negative", "neutral", "positive"}
        assert row.sentiment_average == round(sum(scores) / len(scores), 4)
        assert row.sentiment_trend == sentiment_trend(scores)
        assert row.fallback_count == row.intents.count("nlu_fallback")
        assert row.outcome in ("resolved", "handoff", None)
        assert row.handoff == (row.outcome == "handoff")
        assert (row.ended_at is None) == (row.outcome is None)
        rebuilt = Interaction(
            message_sentiments=row.message_sentiments,
            outcome=row.outcome,
            handoff=row.handoff,
            fallback_count=row.fallback_count,
        )
        assert row.satisfaction_estimate == satisfaction_estimate(rebuilt)
        if row.handoff:
            ticket = handoff_tickets[row.handoff_ticket_id]
            assert ticket.sender_id == row.sender_id and ticket.customer_id == row.customer_id


def test_churners_complain_in_the_weeks_before_their_last_order(history: History) -> None:
    """Churn told by behaviour alone: three or more orders, none for 120 days. Active
    customers (an order in the last 30 days) are compared over the same 60-day window."""
    placed: dict[int, list[datetime]] = defaultdict(list)
    for order in history.orders:
        placed[order.customer_id].append(as_utc(order.placed_at))
    negative: dict[int, list[datetime]] = defaultdict(list)
    for row in history.interactions:
        if row.sentiment_average < -0.25:
            negative[row.customer_id].append(as_utc(row.started_at))
    for ticket in history.tickets:
        if ticket.kind in (TicketKind.COMPLAINT, TicketKind.PAYMENT_ISSUE):
            negative[ticket.customer_id].append(as_utc(ticket.created_at))

    def signals(customer_id: int) -> int:
        last = max(placed[customer_id])
        return sum(1 for at in negative[customer_id] if last - 60 * DAY <= at <= last)

    regular = [c for c, times in placed.items() if len(times) >= 3]
    churned = [c for c in regular if REFERENCE_DAY - max(placed[c]) > 120 * DAY]
    active = [c for c in regular if REFERENCE_DAY - max(placed[c]) <= 30 * DAY]
    assert len(churned) >= 15 and len(active) >= 15
    churned_rate = np.mean([signals(c) for c in churned])
    active_rate = np.mean([signals(c) for c in active])
    assert churned_rate > 0.8 and churned_rate > 4 * active_rate
    with_any = np.mean([signals(c) > 0 for c in churned])
    assert with_any > 2 * np.mean([signals(c) > 0 for c in active])


def test_csat_follows_the_conversation_but_not_the_estimate(history: History) -> None:
    rated = [row for row in history.interactions if row.csat_rating is not None]
    assert 0.3 < len(rated) / len(history.interactions) < 0.5
    ratings = pd.Series([row.csat_rating for row in rated], dtype=float)
    sentiment = pd.Series([row.sentiment_average for row in rated])
    spearman = ratings.rank().corr(sentiment.rank())
    assert spearman > 0.3
    same = sum(1 for row in rated if round(row.satisfaction_estimate) == row.csat_rating)
    assert same / len(rated) < 0.5
    # Handing over costs satisfaction; every rating from 1 to 5 occurs.
    by_outcome = ratings.groupby([row.outcome for row in rated]).mean()
    assert by_outcome["handoff"] < by_outcome["resolved"]
    assert set(ratings) == {1, 2, 3, 4, 5}


def test_comments_are_varied_and_say_what_the_rating_says(history: History) -> None:
    rated = [row for row in history.interactions if row.csat_rating is not None]
    commented = [row for row in rated if row.csat_comment]
    assert 0.35 < len(commented) / len(rated) < 0.65
    assert len({row.csat_comment for row in commented}) > len(commented) / 3
    low = [row.csat_comment for row in commented if row.csat_rating <= 2]
    for text in low:
        assert themes_of(text), text
    for row in commented:
        if row.csat_rating >= 4:
            assert any(p.search(row.csat_comment) for p in PRAISE_PATTERNS), row.csat_comment
            assert not themes_of(row.csat_comment)
    complaints = [
        t.description
        for t in history.tickets
        if t.kind in (TicketKind.COMPLAINT, TicketKind.PAYMENT_ISSUE)
    ]
    seen = set().union(*(themes_of(text) for text in [*low, *complaints]))
    assert seen == set(COMPLAINT_TEXTS)
    assert len(set(complaints)) > 0.8 * len(complaints)


def test_free_text_holds_no_personal_data(history: History) -> None:
    names = re.compile(r"\b(" + "|".join(FIRST_NAMES + LAST_NAMES) + r")\b")
    texts = [row.csat_comment for row in history.interactions if row.csat_comment]
    texts += [t.description for t in history.tickets] + [t.subject for t in history.tickets]
    for text in texts:
        assert "@" not in text and not names.search(text), text
        # Order numbers (six digits, after "Order") are the only long numbers.
        assert not re.search(r"\d{4,}", re.sub(r"^Order \d{6}: ", "", text)), text


# --- the documented customers ------------------------------------------------------------

ADA_AND_GRACE = {
    # number: (email, status, placed_at, total, carrier, items, invoices, refunds)
    100001: (
        "ada@example.com",
        OrderStatus.SHIPPED,
        datetime(2026, 10, 28, 18, tzinfo=UTC),
        "258.00",
        ("UPS", "1Z999AA10123456784"),
        [("SKU-1015", 2, "129.00")],
        [("INV-500001", "paid")],
        [],
    ),
    100002: (
        "grace@example.com",
        OrderStatus.PROCESSING,
        datetime(2026, 10, 31, 5, tzinfo=UTC),
        "19.90",
        (None, None),
        [("SKU-1016", 1, "19.90")],
        [("INV-500002", "open")],
        [],
    ),
    100003: (
        "ada@example.com",
        OrderStatus.DELIVERED,
        datetime(2026, 10, 2, 5, tzinfo=UTC),
        "348.00",
        ("UPS", "UP5866948781"),
        [("SKU-1015", 1, "129.00"), ("SKU-1017", 2, "95.00"), ("SKU-1018", 1, "29.00")],
        [("INV-500003", "paid")],
        [("RF-700001", "approved", "129.00")],
    ),
    100004: (
        "ada@example.com",
        OrderStatus.PENDING,
        datetime(2026, 10, 31, 18, tzinfo=UTC),
        "95.00",
        (None, None),
        [("SKU-1017", 1, "95.00")],
        [],
        [],
    ),
    100005: (
        "grace@example.com",
        OrderStatus.DELIVERED,
        datetime(2026, 9, 16, 15, tzinfo=UTC),
        "137.50",
        ("USPS", "US8633139480"),
        [("SKU-1006", 1, "79.00"), ("SKU-1021", 2, "16.00"), ("SKU-1025", 1, "26.50")],
        [],
        [],
    ),
}


def test_ada_and_grace_are_unchanged(history: History) -> None:
    with session_scope(history.url) as session:
        documented = list(
            session.scalars(
                select(Customer).where(Customer.email.in_(["ada@example.com", "grace@example.com"]))
            )
        )
        found = {}
        for customer in documented:
            assert not customer.tickets
            for order in customer.orders:
                found[order.number] = (
                    customer.email,
                    order.status,
                    as_utc(order.placed_at),
                    str(order.total),
                    (order.carrier, order.tracking_number),
                    sorted((i.sku, i.quantity, str(i.unit_price)) for i in order.items),
                    [(i.number, i.status.value) for i in order.invoices],
                    [(r.number, r.status.value, str(r.amount)) for r in order.refunds],
                )
        ids = {customer.id for customer in documented}
        assert not session.scalars(
            select(Interaction).where(Interaction.customer_id.in_(ids))
        ).all()
    assert found == ADA_AND_GRACE
