"""The customer profile: value and tier from orders, figures from conversations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from supportbot.crm import Customer, CustomerProfile, Interaction, Order, OrderStatus
from supportbot.crm.profile import (
    check_satisfaction_estimates,
    customer_value,
    refresh_profile,
    satisfaction_estimate,
    sentiment_trend,
    tier_for,
)
from supportbot.crm.seed import REFERENCE_DAY
from supportbot.store import crm_session
from tests.actions.conftest import customer_id


def order(days_ago: int, total: str, status: OrderStatus = OrderStatus.DELIVERED) -> Order:
    return Order(
        status=status, placed_at=REFERENCE_DAY - timedelta(days=days_ago), total=Decimal(total)
    )


def test_value_grows_with_spend_and_frequency_and_fades_with_recency():
    regular = customer_value([order(5, "120"), order(40, "80"), order(100, "100")], REFERENCE_DAY)
    assert regular.frequency == 3 and regular.monetary == Decimal("300.00")
    assert regular.recency_days == 5
    lapsed = customer_value([order(300, "120"), order(320, "80"), order(340, "100")], REFERENCE_DAY)
    assert lapsed.monetary == regular.monetary
    assert lapsed.value < regular.value
    assert customer_value([order(5, "120")], REFERENCE_DAY).value < regular.value


def test_cancelled_returned_and_old_orders_are_not_value():
    value = customer_value(
        [
            order(5, "500", OrderStatus.CANCELLED),
            order(6, "500", OrderStatus.RETURNED),
            order(400, "500"),
        ],
        REFERENCE_DAY,
    )
    assert value.frequency == 0 and value.value == 0 and value.tier == "bronze"


def test_tiers_are_bands_of_value():
    assert [tier_for(Decimal(v)) for v in ("0", "250", "799.99", "800", "1500")] == [
        "bronze",
        "silver",
        "silver",
        "gold",
        "platinum",
    ]


def test_sentiment_trend_is_the_slope_of_the_scores():
    assert sentiment_trend([0.5]) is None
    assert sentiment_trend([0.0, -0.5, -1.0]) == -0.5
    assert sentiment_trend([-0.6, 0.0, 0.6]) == 0.6


def test_satisfaction_estimate_reads_mood_outcome_and_failures():
    happy = Interaction(
        message_sentiments=[{"score": 0.2}, {"score": 0.9}],
        outcome="resolved",
        handoff=False,
        fallback_count=0,
    )
    unhappy = Interaction(
        message_sentiments=[{"score": -0.4}, {"score": -0.9}],
        outcome="handoff",
        handoff=True,
        fallback_count=2,
    )
    assert 4.5 <= satisfaction_estimate(happy) <= 5.0
    assert 1.0 <= satisfaction_estimate(unhappy) <= 2.0


def test_refresh_profile_summarises_orders_and_conversations(crm_url):
    ada = customer_id(crm_url, "ada@example.com")
    with crm_session(crm_url) as crm:
        crm.interactions.bind_customer("c-1", ada, method="token")
        crm.interactions.record_sentiment("c-1", intent="track_order", label="neutral", score=0.0)
        crm.interactions.record_sentiment("c-1", intent="complaint", label="negative", score=-0.7)
        crm.interactions.finish("c-1", "resolved")
        crm.interactions.bind_customer("c-2", ada, method="token")
        crm.interactions.record_sentiment("c-2", intent="thank", label="positive", score=0.8)
        crm.interactions.record_csat("c-2", 5, "  quick and kind ")

        profile = crm.profiles.refresh(ada)

        assert profile.interaction_count == 2
        assert profile.intent_counts == {"track_order": 1, "complaint": 1, "thank": 1}
        assert profile.sentiment_history == [-0.35, 0.8]
        assert profile.csat_average == 5.0
        assert profile.satisfaction_average is not None
        assert profile.tier == "platinum"  # the seeded Ada is the demo's best customer
        assert profile.frequency == 3 and profile.value > Decimal(1500)
    with crm_session(crm_url) as crm:
        stored = crm.session.get(CustomerProfile, ada)
        assert stored is not None and stored.interaction_count == 2
        interaction = crm.interactions.start_or_get("c-2")
        assert interaction.csat_comment == "quick and kind"


def test_a_customer_without_orders_or_conversations_is_bronze(crm_url):
    with crm_session(crm_url) as crm:
        newcomer = Customer(name="New Comer", email="new@example.com", shipping_address="")
        crm.session.add(newcomer)
        crm.session.flush()
        profile = refresh_profile(crm.session, newcomer.id)
        assert profile.tier == "bronze" and profile.interaction_count == 0
        assert profile.recency_days is None and profile.last_contact_at is None


def test_csat_rating_must_be_one_to_five(crm_url):
    with crm_session(crm_url) as crm, pytest.raises(ValueError, match="1 to 5"):
        crm.interactions.record_csat("c-9", 6, None)


def test_satisfaction_estimates_are_checked_against_csat(crm_url):
    with crm_session(crm_url) as crm:
        assert check_satisfaction_estimates(crm.session).rated == 0
        for sender, score, rating in (("a", 0.9, 5), ("b", -0.9, 1), ("c", 0.0, 5)):
            crm.interactions.record_sentiment(sender, intent="inform", label="x", score=score)
            crm.interactions.finish(sender, "resolved")
            crm.interactions.record_csat(sender, rating, None)
        check = check_satisfaction_estimates(crm.session)
    assert check.rated == 3
    assert check.mean_absolute_error is not None and 0 < check.mean_absolute_error < 2
    assert check.within_one_point == pytest.approx(2 / 3, abs=1e-3)
