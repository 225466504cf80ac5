"""Next-best products: rules mined from baskets with planted patterns, and picks from them."""

from __future__ import annotations

import random

import pytest

from supportbot.insights.product_rules import (
    ProductRule,
    Recommendation,
    mine_product_rules,
    next_best_products,
)

MUG, COFFEE, KETTLE, TEA = "SKU-MUG", "SKU-COFFEE", "SKU-KETTLE", "SKU-TEA"
DESCALER, BAG, GIFT_CARD = "SKU-DESCALER", "SKU-BAG", "SKU-GIFTCARD"
NOISE = [f"SKU-N{number:02d}" for number in range(1, 13)]
NAMES = {MUG: "Ceramic coffee mug", KETTLE: "Electric kettle", COFFEE: "Arabica beans 1 kg"}


def planted_baskets() -> list[list[str]]:
    """200 baskets: mug and coffee together in 40%, kettle -> tea, a rare kettle + descaler
    pair (1.5%), a gift card bought with the bag less often than the bag's usual rate, and
    0-3 random noise products in every basket."""
    rng = random.Random(1234)
    baskets = []
    for i in range(200):
        basket = set(rng.sample(NOISE, rng.randint(0, 3)))
        if i % 5 < 2:
            basket |= {MUG, COFFEE}
        if i % 20 in (2, 3, 4):
            basket.add(KETTLE)
        if i % 20 in (2, 3, 7):
            basket.add(TEA)
        if i in (2, 22, 42):
            basket.add(DESCALER)
        if i % 2 == 0:
            basket.add(BAG)
        if i % 20 in (9, 10, 11, 12, 13):
            basket.add(GIFT_CARD)
        baskets.append(sorted(basket))
    return baskets


def by_hand(baskets: list[list[str]], antecedent: set[str], consequent: str) -> dict[str, float]:
    """Support, confidence and lift of `antecedent -> consequent`, counted directly."""
    n = len(baskets)
    with_antecedent = sum(antecedent <= set(b) for b in baskets)
    with_consequent = sum(consequent in b for b in baskets)
    together = sum(antecedent | {consequent} <= set(b) for b in baskets)
    confidence = together / with_antecedent
    return {
        "count": together,
        "support": together / n,
        "confidence": confidence,
        "lift": confidence / (with_consequent / n),
    }


def find(rules: list[ProductRule], antecedent: tuple[str, ...], consequent: str) -> ProductRule:
    matches = [r for r in rules if r.antecedent == antecedent and r.consequent == consequent]
    assert len(matches) == 1, f"expected one rule {antecedent} -> {consequent}, got {matches}"
    return matches[0]


def has(rules: list[ProductRule], antecedent: tuple[str, ...], consequent: str) -> bool:
    return any(r.antecedent == antecedent and r.consequent == consequent for r in rules)


@pytest.fixture(scope="module")
def baskets() -> list[list[str]]:
    return planted_baskets()


@pytest.fixture(scope="module")
def rules(baskets: list[list[str]]) -> list[ProductRule]:
    return mine_product_rules(baskets, min_support=0.02, min_confidence=0.2)


@pytest.mark.parametrize(
    ("antecedent", "consequent"),
    [((MUG,), COFFEE), ((COFFEE,), MUG), ((KETTLE,), TEA), ((TEA,), KETTLE)],
)
def test_planted_rules_are_found_with_their_measures(
    baskets: list[list[str]], rules: list[ProductRule], antecedent: tuple[str, ...], consequent: str
) -> None:
    expected = by_hand(baskets, set(antecedent), consequent)
    rule = find(rules, antecedent, consequent)
    assert rule.count == expected["count"]
    assert rule.support == pytest.approx(expected["support"], abs=1e-12)
    assert rule.confidence == pytest.approx(expected["confidence"], abs=1e-12)
    assert rule.lift == pytest.approx(expected["lift"], rel=1e-12)


def test_planted_numbers_are_what_the_baskets_say(baskets: list[list[str]]) -> None:
    # Guards the fixture itself: mug and coffee together in 40% of baskets, kettle -> tea 2/3.
    assert by_hand(baskets, {MUG}, COFFEE)["support"] == 0.4
    assert by_hand(baskets, {KETTLE}, TEA)["confidence"] == pytest.approx(2 / 3)


def test_rules_are_sorted_strongest_first_with_sorted_antecedents(
    rules: list[ProductRule],
) -> None:
    assert rules == sorted(
        rules, key=lambda r: (-r.lift, -r.confidence, r.antecedent, r.consequent)
    )
    for rule in rules:
        assert list(rule.antecedent) == sorted(set(rule.antecedent))
        assert rule.consequent not in rule.antecedent
        assert 1 <= len(rule.antecedent) <= 2  # max_len 3 = antecedent + one consequent


def test_rule_below_min_support_is_absent(baskets: list[list[str]]) -> None:
    assert by_hand(baskets, {DESCALER}, KETTLE)["support"] == 0.015
    above = mine_product_rules(baskets, min_support=0.02)
    assert not has(above, (DESCALER,), KETTLE)
    assert not any(DESCALER in (*r.antecedent, r.consequent) for r in above)
    # The same pair is a rule once the threshold is below its support.
    below = mine_product_rules(baskets, min_support=0.01)
    assert find(below, (DESCALER,), KETTLE).confidence == 1.0


def test_rule_with_lift_below_min_lift_is_filtered(baskets: list[list[str]]) -> None:
    expected = by_hand(baskets, {GIFT_CARD}, BAG)
    # Frequent and confident enough: only its lift (0.8) keeps it out.
    assert expected["support"] >= 0.02 and expected["confidence"] >= 0.2
    assert expected["lift"] == pytest.approx(0.8)
    assert not has(mine_product_rules(baskets, min_support=0.02, min_lift=1.0), (GIFT_CARD,), BAG)
    kept = find(mine_product_rules(baskets, min_support=0.02, min_lift=0.0), (GIFT_CARD,), BAG)
    assert kept.lift == pytest.approx(expected["lift"])


def test_rule_below_min_confidence_is_filtered(baskets: list[list[str]]) -> None:
    confidence = by_hand(baskets, {MUG}, COFFEE)["confidence"]
    assert confidence == 1.0
    assert has(mine_product_rules(baskets, min_confidence=1.0), (MUG,), COFFEE)
    # kettle -> tea holds 2 times in 3: out at 0.7, in at exactly 2/3 (thresholds are inclusive).
    assert not has(mine_product_rules(baskets, min_confidence=0.7), (KETTLE,), TEA)
    assert has(mine_product_rules(baskets, min_confidence=2 / 3), (KETTLE,), TEA)


def test_itemset_exactly_at_min_support_is_kept() -> None:
    # 7 of 100 baskets is exactly 0.07; 0.07 * 100 is 7.000000000000001 in floats.
    baskets = [[MUG, COFFEE]] * 7 + [[TEA]] * 93
    rules = mine_product_rules(baskets, min_support=0.07)
    assert find(rules, (MUG,), COFFEE).count == 7
    assert mine_product_rules(baskets, min_support=0.071) == []


def test_single_item_baskets_count_toward_support() -> None:
    pairs = [[MUG, COFFEE]] * 10 + [[MUG]] * 10
    singles = pairs + [[TEA]] * 30
    rule = find(mine_product_rules(singles, min_support=0.01), (COFFEE,), MUG)
    assert rule.support == pytest.approx(10 / 50)
    assert rule.lift == pytest.approx(1.0 / (20 / 50))


def test_same_baskets_give_the_same_rules(baskets: list[list[str]]) -> None:
    first = mine_product_rules(baskets, min_support=0.02)
    assert mine_product_rules(baskets, min_support=0.02) == first
    shuffled = [random.Random(i).sample(b, len(b)) for i, b in enumerate(baskets)]
    random.Random(99).shuffle(shuffled)
    assert mine_product_rules(shuffled, min_support=0.02) == first


def test_no_baskets_no_rules() -> None:
    assert mine_product_rules([]) == []
    assert mine_product_rules([[], []]) == []
    assert mine_product_rules([[MUG], [TEA]]) == []  # nothing bought together


def test_a_basket_given_as_a_string_is_refused() -> None:
    with pytest.raises(ValueError, match=r"basket 1 is a single string \('SKU-1'\)"):
        mine_product_rules([[MUG, COFFEE], "SKU-1"])
    with pytest.raises(ValueError, match="not a string"):
        mine_product_rules("SKU-1")
    with pytest.raises(ValueError, match="SKUs must be non-empty strings"):
        mine_product_rules([[MUG, 42]])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="basket is a single string"):
        next_best_products([], "SKU-1", [])


@pytest.mark.parametrize(
    "thresholds",
    [{"min_support": 0.0}, {"min_confidence": 1.5}, {"min_lift": -1.0}, {"max_len": 1}],
)
def test_thresholds_out_of_range_are_refused(thresholds: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(thresholds))):
        mine_product_rules([[MUG, COFFEE]], **thresholds)  # type: ignore[arg-type]


def test_recommends_from_the_basket_but_never_what_is_owned(rules: list[ProductRule]) -> None:
    picks = next_best_products(rules, [KETTLE], [])
    assert TEA in [p.sku for p in picks]
    tea = next(p for p in picks if p.sku == TEA)
    assert tea.because_of == (KETTLE,)
    assert tea.confidence == find(rules, (KETTLE,), TEA).confidence

    assert TEA not in [p.sku for p in next_best_products(rules, [KETTLE], [TEA], limit=50)]
    # Already in the basket: nothing to offer from it.
    assert TEA not in [p.sku for p in next_best_products(rules, [KETTLE, TEA], [], limit=50)]
    # Not in the basket, even if owned: the rule does not fire.
    assert next_best_products(rules, [], [KETTLE, MUG]) == []


def test_strongest_rule_wins_for_a_consequent() -> None:
    rules = [
        ProductRule((MUG,), TEA, support=0.1, confidence=0.5, lift=1.5, count=10),
        ProductRule((KETTLE,), TEA, support=0.1, confidence=0.4, lift=3.0, count=10),
        ProductRule((KETTLE, MUG), TEA, support=0.05, confidence=0.9, lift=2.0, count=5),
        ProductRule((MUG,), COFFEE, support=0.2, confidence=0.8, lift=2.5, count=20),
        ProductRule((MUG,), BAG, support=0.2, confidence=0.6, lift=2.5, count=20),
    ]
    picks = next_best_products(rules, [MUG, KETTLE], [])
    assert [p.sku for p in picks] == [TEA, COFFEE, BAG]  # lift, then confidence
    assert (picks[0].because_of, picks[0].lift, picks[0].confidence) == ((KETTLE,), 3.0, 0.4)
    # Without the kettle, the mug's own rule is the one that fires.
    only_mug = next_best_products(rules, [MUG], [], limit=1)
    assert [(p.sku, p.because_of) for p in only_mug] == [(COFFEE, (MUG,))]
    assert next_best_products(rules, [MUG], [], limit=0) == []


def test_reason_names_the_products_for_the_agent() -> None:
    rules = [
        ProductRule((MUG,), COFFEE, support=0.2, confidence=0.42, lift=2.31, count=20),
        ProductRule((KETTLE, MUG), TEA, support=0.05, confidence=0.5, lift=4.0, count=5),
    ]
    tea, coffee = next_best_products(rules, [MUG, KETTLE], [], names=NAMES)
    assert coffee.reason == "in 42% of orders with it (Ceramic coffee mug), 2.3x the usual rate"
    assert tea.reason == (
        "in 50% of orders with both (Electric kettle and Ceramic coffee mug), 4.0x the usual rate"
    )
    # No name known: the SKU stands in.
    unnamed = Recommendation(TEA, confidence=0.25, lift=1.04, because_of=("SKU-X",))
    assert unnamed.reason.startswith("in 25% of orders with it (SKU-X)")
