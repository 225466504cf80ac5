"""mlxtend or efficient-apriori for the next-best-product rules: the same rules, measured.

    .venv/bin/python -m lab.insights.rules_choice

Builds seeded synthetic baskets (1k, 10k and 100k baskets over 25 and 500 products:
popular and rare products by a Zipf-like law, plus planted bundles and "kettle -> tea" style
follow-ups), mines them with `supportbot.insights.product_rules.mine_product_rules` (mlxtend:
TransactionEncoder, fpgrowth, association_rules) and with `efficient_apriori.apriori` at the
same thresholds (min_support 0.01, and 0.002 on 100k baskets), checks both give the same
rules (same antecedent and consequent, support, confidence and lift within 1e-9, same counts),
and prints a markdown table of the rule count, seconds (best of a few runs) and peak traced
memory (a separate tracemalloc run, since tracing slows pure-Python code down) of each.
Exits 1 if the two disagree.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from efficient_apriori import apriori

from supportbot.insights.product_rules import ProductRule, mine_product_rules

MIN_SUPPORT = 0.01
# (baskets, products, min_support): the grid at the default support, then a lower support on
# the largest baskets, where far more itemsets are frequent.
CASES = (
    (1_000, 25, MIN_SUPPORT),
    (1_000, 500, MIN_SUPPORT),
    (10_000, 25, MIN_SUPPORT),
    (10_000, 500, MIN_SUPPORT),
    (100_000, 25, MIN_SUPPORT),
    (100_000, 500, MIN_SUPPORT),
    (100_000, 500, 0.002),
)
MIN_CONFIDENCE = 0.2
MIN_LIFT = 1.0
MAX_LEN = 3
TOLERANCE = 1e-9
SEED = 20240611

Baskets = list[list[str]]
Miner = Callable[[Baskets, float], list[ProductRule]]


@dataclass(frozen=True)
class Measurement:
    rules: list[ProductRule]
    seconds: float  # best of the timed runs
    peak_mib: float  # peak traced allocation during one extra run


@dataclass(frozen=True)
class Row:
    baskets: int
    products: int
    min_support: float
    rules: int
    differences: int  # rules missing on one side, or with a measure off by more than 1e-9
    mlxtend: Measurement
    efficient_apriori: Measurement


def synthetic_baskets(baskets: int, products: int, seed: int = SEED) -> Baskets:
    """Seeded baskets with a long tail of noise and planted co-purchases.

    Per 25 products, two bundles (a pair and a triple bought together), each in 2-6% of
    baskets, and one follow-up (A in 4% of baskets, and B with A 60% of the time)."""
    rng = random.Random(seed * 1_000_003 + baskets * 1_009 + products)
    catalogue = [f"SKU-{number:04d}" for number in range(1, products + 1)]
    # Zipf-like popularity: a few best sellers, many rarely bought products.
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(products)]
    # Per 25 products: a pair and a triple bought together, and a follow-up (lead -> follow).
    groups = max(1, products // 25)
    planted = rng.sample(catalogue, k=7 * groups)
    bundles: list[tuple[tuple[str, ...], float]] = []
    follow_ups: list[tuple[str, str]] = []
    for start in range(0, len(planted), 7):
        group = planted[start : start + 7]
        bundles.append((tuple(group[0:2]), rng.uniform(0.02, 0.06)))
        bundles.append((tuple(group[2:5]), rng.uniform(0.02, 0.06)))
        follow_ups.append((group[5], group[6]))

    result: Baskets = []
    for _ in range(baskets):
        size = rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6))
        basket = set(rng.choices(catalogue, weights=weights, k=size))
        for bundle, share in bundles:
            if rng.random() < share:
                basket.update(bundle)
        for lead, follow in follow_ups:
            if rng.random() < 0.04:
                basket.add(lead)
                if rng.random() < 0.6:
                    basket.add(follow)
        result.append(sorted(basket))
    return result


def mine_with_mlxtend(baskets: Baskets, min_support: float) -> list[ProductRule]:
    return mine_product_rules(
        baskets,
        min_support=min_support,
        min_confidence=MIN_CONFIDENCE,
        min_lift=MIN_LIFT,
        max_len=MAX_LEN,
    )


def mine_with_efficient_apriori(baskets: Baskets, min_support: float) -> list[ProductRule]:
    """The same rules as `mine_product_rules`, from efficient-apriori."""
    transactions = [tuple(sorted(set(basket))) for basket in baskets]
    _, found = apriori(
        transactions,
        min_support=min_support,
        min_confidence=MIN_CONFIDENCE,
        max_length=MAX_LEN,
    )
    rules = [
        ProductRule(
            antecedent=tuple(sorted(rule.lhs)),
            consequent=rule.rhs[0],
            support=rule.support,
            confidence=rule.confidence,
            lift=rule.lift,
            count=rule.count_full,
        )
        for rule in found
        if len(rule.rhs) == 1 and rule.lift >= MIN_LIFT
    ]
    return sorted(rules, key=lambda r: (-r.lift, -r.confidence, r.antecedent, r.consequent))


def measure(miner: Miner, baskets: Baskets, min_support: float, repeats: int) -> Measurement:
    seconds = []
    rules: list[ProductRule] = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        rules = miner(baskets, min_support)
        seconds.append(time.perf_counter() - start)
    gc.collect()
    tracemalloc.start()
    miner(baskets, min_support)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return Measurement(rules, min(seconds), peak / 2**20)


def differences(left: Sequence[ProductRule], right: Sequence[ProductRule]) -> list[str]:
    """Human-readable disagreements between two rule lists (empty when they agree)."""
    by_key = {(rule.antecedent, rule.consequent): rule for rule in right}
    problems = []
    for rule in left:
        other = by_key.pop((rule.antecedent, rule.consequent), None)
        if other is None:
            problems.append(f"only mlxtend: {rule}")
            continue
        off = [
            name
            for name in ("support", "confidence", "lift")
            if abs(getattr(rule, name) - getattr(other, name)) > TOLERANCE
        ]
        if off or rule.count != other.count:
            problems.append(f"measures differ ({', '.join(off) or 'count'}): {rule} vs {other}")
    problems.extend(f"only efficient-apriori: {rule}" for rule in by_key.values())
    return problems


def run(
    cases: Sequence[tuple[int, int, float]] = CASES, log: Callable[[str], None] = print
) -> list[Row]:
    rows = []
    for baskets, products, min_support in cases:
        data = synthetic_baskets(baskets, products)
        repeats = 3 if baskets <= 10_000 else 1
        mlxtend = measure(mine_with_mlxtend, data, min_support, repeats)
        efficient = measure(mine_with_efficient_apriori, data, min_support, repeats)
        problems = differences(mlxtend.rules, efficient.rules)
        case = f"{baskets:>7} baskets x {products:>3} products, support {min_support}"
        for problem in problems[:5]:
            log(f"  {case}: {problem}")
        rows.append(
            Row(
                baskets,
                products,
                min_support,
                len(mlxtend.rules),
                len(problems),
                mlxtend,
                efficient,
            )
        )
        log(
            f"{case}: {len(mlxtend.rules)} rules, "
            f"mlxtend {mlxtend.seconds:.2f}s, efficient-apriori {efficient.seconds:.2f}s"
        )
    return rows


def table(rows: Sequence[Row]) -> str:
    lines = [
        f"Thresholds: min_support as shown, min_confidence {MIN_CONFIDENCE}, "
        f"min_lift {MIN_LIFT}, max_len {MAX_LEN}. Seconds: best of 3 (1 at 100k baskets); "
        "memory: peak traced by tracemalloc.",
        "",
        "| baskets | products | min_support | rules | same rules | mlxtend s "
        "| efficient-apriori s | mlxtend peak MiB | efficient-apriori peak MiB |",
        "|---:|---:|---:|---:|:---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        same = "yes" if not row.differences else f"no ({row.differences})"
        lines.append(
            f"| {row.baskets:,} | {row.products} | {row.min_support} | {row.rules} | {same} "
            f"| {row.mlxtend.seconds:.3f} | {row.efficient_apriori.seconds:.3f} "
            f"| {row.mlxtend.peak_mib:.1f} | {row.efficient_apriori.peak_mib:.1f} |"
        )
    return "\n".join(lines)


def main() -> int:
    started = time.perf_counter()
    rows = run(log=lambda line: print(line, file=sys.stderr))
    print(table(rows))
    print(f"\n(total {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return 1 if any(row.differences for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
