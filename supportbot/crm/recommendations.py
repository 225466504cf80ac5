"""Product recommendations mined from co-purchases: what other customers bought together.

For each product in the customer's latest order, every other product is scored by the share
of orders containing the first that also contain it (association-rule confidence), summed over
the basket. Products the customer already bought are left out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportbot.crm.models import Order, OrderItem, OrderStatus

# Pairs seen fewer times than this are noise, not a pattern.
MIN_PAIR_COUNT = 2


@dataclass(frozen=True)
class Recommendation:
    sku: str
    product_name: str
    confidence: float  # share of orders with the basis product that also had this one
    because_of: str  # the product in the customer's order that suggests it


@dataclass(frozen=True)
class CoPurchases:
    pair_counts: dict[str, Counter[str]]
    product_counts: Counter[str]
    names: dict[str, str]


def mine_co_purchases(session: Session) -> CoPurchases:
    """Count products and product pairs over all orders that were not cancelled."""
    rows = session.execute(
        select(OrderItem.order_id, OrderItem.sku, OrderItem.product_name)
        .join(Order)
        .where(Order.status != OrderStatus.CANCELLED)
    )
    baskets: dict[int, set[str]] = defaultdict(set)
    names: dict[str, str] = {}
    for order_id, sku, name in rows:
        baskets[order_id].add(sku)
        names[sku] = name
    pair_counts: dict[str, Counter[str]] = defaultdict(Counter)
    product_counts: Counter[str] = Counter()
    for basket in baskets.values():
        product_counts.update(basket)
        for sku in basket:
            pair_counts[sku].update(basket - {sku})
    return CoPurchases(dict(pair_counts), product_counts, names)


def recommend_for_customer(
    session: Session, customer_id: int, *, limit: int = 3, mined: CoPurchases | None = None
) -> tuple[Order | None, list[Recommendation]]:
    """The customer's latest order and what goes with it, best first."""
    orders = list(
        session.scalars(
            select(Order).where(Order.customer_id == customer_id).order_by(Order.placed_at.desc())
        )
    )
    basis = next((o for o in orders if o.status is not OrderStatus.CANCELLED), None)
    if basis is None:
        return None, []
    mined = mined or mine_co_purchases(session)
    owned = {item.sku for order in orders for item in order.items}
    scores: dict[str, float] = defaultdict(float)
    reasons: dict[str, tuple[float, str]] = {}
    for item in basis.items:
        seen = mined.product_counts.get(item.sku, 0)
        for other, together in mined.pair_counts.get(item.sku, Counter()).items():
            if other in owned or together < MIN_PAIR_COUNT or not seen:
                continue
            confidence = together / seen
            scores[other] += confidence
            if confidence > reasons.get(other, (0.0, ""))[0]:
                reasons[other] = (confidence, item.product_name)
    ranked = sorted(scores, key=lambda sku: (-scores[sku], sku))[:limit]
    return basis, [
        Recommendation(sku, mined.names[sku], round(reasons[sku][0], 3), reasons[sku][1])
        for sku in ranked
    ]
