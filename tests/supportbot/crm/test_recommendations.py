"""Co-purchase recommendations over the seeded order history."""

from __future__ import annotations

from supportbot.crm import Customer
from supportbot.crm.recommendations import mine_co_purchases, recommend_for_customer
from supportbot.crm.seed import THEMES
from supportbot.store import crm_session
from tests.actions.conftest import customer_id


def test_mined_pairs_follow_the_seeded_baskets(crm_url):
    with crm_session(crm_url) as crm:
        mined = mine_co_purchases(crm.session)
    theme_of = {sku: index for index, theme in enumerate(THEMES) for sku in theme}
    together = sum(mined.pair_counts[a][b] for a in mined.pair_counts for b in mined.pair_counts[a])
    same_theme = sum(
        count
        for a, partners in mined.pair_counts.items()
        for b, count in partners.items()
        if theme_of.get(a) is not None and theme_of.get(a) == theme_of.get(b)
    )
    # Most seeded baskets come from one theme, so most pairs found are within a theme.
    assert together > 0 and same_theme / together > 0.6


def test_recommendations_for_ada_go_with_her_latest_order_and_are_new_to_her(crm_url):
    ada = customer_id(crm_url, "ada@example.com")
    with crm_session(crm_url) as crm:
        basis, picks = recommend_for_customer(crm.session, ada)
        owned = {
            item.sku for order in crm.session.get(Customer, ada).orders for item in order.items
        }
        assert basis is not None and basis.number == 100004  # her latest order
        basket = {item.product_name for item in basis.items}
    assert picks, "the seeded history has co-purchases for Ada's basket"
    assert all(p.sku not in owned for p in picks)
    assert all(p.because_of in basket for p in picks)
    assert all(0 < p.confidence <= 1 for p in picks)
    assert len({p.sku for p in picks}) == len(picks) <= 3


def test_no_orders_no_recommendation(crm_url):
    with crm_session(crm_url) as crm:
        newcomer = Customer(name="New Comer", email="new@example.com", shipping_address="")
        crm.session.add(newcomer)
        crm.session.flush()
        assert recommend_for_customer(crm.session, newcomer.id) == (None, [])
