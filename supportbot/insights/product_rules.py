"""Next-best products: association rules mined once from past baskets, then read per request.

The nightly batch job calls `mine_product_rules` over every basket (the SKUs bought together)
and stores the rules; while an agent or the bot talks to a customer, `next_best_products`
picks from the stored rules what goes with the customer's basket, leaving out what they
already own. Both are pure functions: storage and scheduling belong to the job.

Mining uses mlxtend (FP-growth, then its rule generation); `lab/insights/rules_choice.py`
measured it against efficient-apriori on the same baskets and thresholds.

Measures, over n baskets, for a rule A -> c:
- support: share of baskets holding A and c together;
- confidence: share of baskets holding A that also hold c;
- lift: confidence over c's own share of baskets (1.0 = no more often than usual).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# mlxtend compares float ratios of supports against the thresholds; a rule sitting exactly on
# min_confidence can land a rounding error below it. Ask for a little less, then filter on
# exact counts.
_FLOAT_SLACK = 1e-9


@dataclass(frozen=True)
class ProductRule:
    """Customers who bought all of `antecedent` also bought `consequent`."""

    antecedent: tuple[str, ...]  # SKUs, sorted
    consequent: str  # one SKU
    support: float
    confidence: float
    lift: float
    count: int  # baskets holding the antecedent and the consequent together


@dataclass(frozen=True)
class Recommendation:
    """A product to offer, and the basket products that suggest it."""

    sku: str
    confidence: float
    lift: float
    because_of: tuple[str, ...]  # the antecedent SKUs in the basket
    because_of_names: tuple[str, ...] = ()  # their product names, when known

    @property
    def reason(self) -> str:
        """Why it is suggested, in words an agent can repeat to the customer."""
        products = self.because_of_names or self.because_of
        if len(products) == 1:
            basis, which = products[0], "it"
        else:
            basis = ", ".join(products[:-1]) + " and " + products[-1]
            which = "both" if len(products) == 2 else "all of them"
        # Baskets are orders: the rule counts orders, not customers.
        return (
            f"in {self.confidence:.0%} of orders with {which} ({basis}), "
            f"{self.lift:.1f}x the usual rate"
        )


def mine_product_rules(
    baskets: Iterable[Iterable[str]],
    *,
    min_support: float = 0.01,
    min_confidence: float = 0.2,
    min_lift: float = 1.0,
    max_len: int = 3,
) -> list[ProductRule]:
    """Rules `antecedent -> one SKU` over the baskets, strongest lift first.

    Every basket counts toward support, also one with a single item (it cannot form a rule,
    but it is a purchase). `max_len` bounds antecedent plus consequent. Thresholds are
    inclusive. Ties are broken by confidence, then by the SKUs, so the same baskets always give
    the same list.
    """
    check_thresholds(min_support, min_confidence, min_lift, max_len)
    transactions = _transactions(baskets)
    total = len(transactions)
    if not any(transactions):
        return []

    # Here, not at the top: the action server reads stored rules and never loads mlxtend.
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    encoder = TransactionEncoder()
    onehot = pd.DataFrame(
        encoder.fit(transactions).transform(transactions), columns=encoder.columns_
    )
    # fpgrowth turns min_support into a count with ceil(min_support * n), and 0.07 * 100 is
    # 7.000000000000001: an itemset in exactly 7 of 100 baskets would be lost. Pass a support
    # half a basket below the least qualifying count instead.
    least = least_count(min_support, total)
    itemsets = fpgrowth(
        onehot, min_support=(least - 0.5) / total, use_colnames=True, max_len=max_len
    )
    if not (itemsets["itemsets"].map(len) > 1).any():
        return []  # nothing bought together often enough; association_rules needs pairs
    candidates = association_rules(
        itemsets,
        num_itemsets=total,
        metric="confidence",
        min_threshold=max(0.0, min_confidence - _FLOAT_SLACK),
        return_metrics=["antecedent support", "consequent support", "support"],
    )

    rules = []
    for antecedents, consequents, antecedent_share, consequent_share, share in zip(
        candidates["antecedents"],
        candidates["consequents"],
        candidates["antecedent support"],
        candidates["consequent support"],
        candidates["support"],
        strict=True,
    ):
        if len(consequents) != 1:
            continue  # one product to recommend per rule
        # Supports are count / n; back to counts so the measures are exact ratios.
        together = round(share * total)
        with_antecedent = round(antecedent_share * total)
        with_consequent = round(consequent_share * total)
        confidence = together / with_antecedent
        lift = together * total / (with_antecedent * with_consequent)
        if confidence < min_confidence or lift < min_lift:
            continue
        rules.append(
            ProductRule(
                antecedent=tuple(sorted(antecedents)),
                consequent=next(iter(consequents)),
                support=together / total,
                confidence=confidence,
                lift=lift,
                count=together,
            )
        )
    return sorted(rules, key=lambda r: (-r.lift, -r.confidence, r.antecedent, r.consequent))


def next_best_products(
    rules: Sequence[ProductRule],
    basket: Iterable[str],
    owned: Iterable[str],
    *,
    limit: int = 3,
    names: Mapping[str, str] | None = None,
) -> list[Recommendation]:
    """What to offer with `basket`, best first (by lift, then confidence).

    A rule fires when all of its antecedent is in the basket. Products the customer owns or
    has in the basket are never offered. Of the rules suggesting the same product, the
    strongest one gives its confidence, lift and reason. `names` maps SKUs to product names
    for the reason (SKUs are shown where it has none).
    """
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, got {limit}")
    in_basket = frozenset(_skus(basket, "basket"))
    skip = in_basket | frozenset(_skus(owned, "owned"))

    strongest: dict[str, ProductRule] = {}
    for rule in rules:
        if rule.consequent in skip or not in_basket.issuperset(rule.antecedent):
            continue
        held = strongest.get(rule.consequent)
        if held is None or _strength(rule) < _strength(held):
            strongest[rule.consequent] = rule

    best = sorted(strongest.values(), key=_strength)[:limit]
    names = names or {}
    return [
        Recommendation(
            sku=rule.consequent,
            confidence=rule.confidence,
            lift=rule.lift,
            because_of=rule.antecedent,
            because_of_names=tuple(names.get(sku, sku) for sku in rule.antecedent),
        )
        for rule in best
    ]


def _strength(rule: ProductRule) -> tuple[float, float, tuple[str, ...], str]:
    """Sort key: strongest first, then by SKUs so ties always resolve the same way."""
    return (-rule.lift, -rule.confidence, rule.antecedent, rule.consequent)


def check_thresholds(
    min_support: float, min_confidence: float, min_lift: float, max_len: int
) -> None:
    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in [0, 1], got {min_confidence}")
    if not min_lift >= 0.0:
        raise ValueError(f"min_lift must be 0 or more, got {min_lift}")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 2:
        raise ValueError(f"max_len must be an integer of at least 2 (a pair), got {max_len!r}")


def least_count(min_support: float, total: int) -> int:
    """The fewest baskets, out of `total`, whose share reaches `min_support`."""
    count = max(1, math.ceil(min_support * total))
    # ceil of a product carries its rounding error: settle it on the share itself.
    while count > 1 and (count - 1) / total >= min_support:
        count -= 1
    while count / total < min_support:
        count += 1
    return count


def _transactions(baskets: Iterable[Iterable[str]]) -> list[list[str]]:
    """Each basket as a sorted list of distinct SKUs, or a ValueError saying what is wrong."""
    if isinstance(baskets, str | bytes):
        raise ValueError(
            "baskets must be a collection of baskets (each a list of SKUs), not a string"
        )
    try:
        rows = list(baskets)
    except TypeError:
        raise ValueError(
            f"baskets must be a collection of baskets, got {type(baskets).__name__}"
        ) from None
    return [sorted(_skus(basket, f"basket {index}")) for index, basket in enumerate(rows)]


def _skus(items: Iterable[str], what: str) -> set[str]:
    """Distinct SKUs of `items`; a plain string is refused rather than read letter by letter."""
    if isinstance(items, str | bytes):
        shown = repr(items[:40]) + ("..." if len(items) > 40 else "")
        raise ValueError(
            f"{what} is a single string ({shown}), not a list of SKUs; wrap it in a list"
        )
    try:
        skus = list(items)
    except TypeError:
        raise ValueError(f"{what} must be a list of SKUs, got {type(items).__name__}") from None
    for sku in skus:
        if not isinstance(sku, str) or not sku:
            raise ValueError(f"{what} holds {sku!r}; SKUs must be non-empty strings")
    return set(skus)
