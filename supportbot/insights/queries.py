"""Reading what the batch job stored: a customer's insight, the rules, segments and themes.

The console, the actions and the web app read through here, so a view never needs to know how
runs and their rows are laid out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from supportbot.crm.models import Interaction, Order, OrderItem, OrderStatus, Ticket, utc_iso
from supportbot.insights.models import (
    ComplaintThemeRow,
    CustomerInsight,
    InsightRun,
    ProductRuleRow,
    SegmentSummary,
)
from supportbot.insights.product_rules import ProductRule, Recommendation, next_best_products

TREND_RUNS = 5
# A valued customer at risk: in the top fifth by last year's spend, and more likely than not
# to order nothing within the run's horizon.
VALUED_RANK = 0.8
AT_RISK = 0.5


def latest_run(session: Session) -> InsightRun | None:
    return session.scalars(
        select(InsightRun).where(InsightRun.status == "finished").order_by(InsightRun.id.desc())
    ).first()


def customer_insight(session: Session, customer_id: int) -> dict[str, Any] | None:
    """The customer's latest insight as the console shows it, or None before the first run."""
    row = session.get(CustomerInsight, customer_id)
    if row is None:
        return None
    return {
        "segment": row.segment,
        "churn_risk": row.churn_risk,
        "expected_orders": row.expected_orders,
        "expected_value": None if row.expected_value is None else str(row.expected_value),
        "value_rank": row.value_rank,
        "predicted_satisfaction": row.predicted_satisfaction,
        "next_products": list(row.next_products or []),
        "reasons": dict(row.reasons or {}),
        "computed_at": utc_iso(row.computed_at),
        "run_id": row.run_id,
    }


@dataclass(frozen=True)
class AtRisk:
    """A valued customer the insights say may leave: their reasons, for the decision log."""

    churn_risk: float
    value_rank: float
    segment: str | None
    reasons: list[str]
    run_id: int

    @property
    def sentence(self) -> str:
        why = "; ".join(self.reasons[:2]) or "their order history"
        return (
            f"a valued customer (top {max(1, round((1 - self.value_rank) * 100))}% by spend) at "
            f"{self.churn_risk:.0%} churn risk ({why})"
        )

    def details(self) -> dict[str, Any]:
        return {
            "churn_risk": self.churn_risk,
            "value_rank": self.value_rank,
            "segment": self.segment,
            "churn_reasons": self.reasons,
            "insights_run": self.run_id,
        }


def valued_at_risk(session: Session, customer_id: int) -> AtRisk | None:
    """The customer's insight when it marks them as valued and at risk of leaving."""
    row = session.get(CustomerInsight, customer_id)
    if row is None or row.churn_risk is None or row.value_rank is None:
        return None
    if row.value_rank < VALUED_RANK or row.churn_risk < AT_RISK:
        return None
    return AtRisk(
        row.churn_risk,
        row.value_rank,
        row.segment,
        list((row.reasons or {}).get("churn", [])),
        row.run_id,
    )


def product_rules(session: Session) -> list[ProductRule]:
    """The latest finished run's association rules ([] before the first run)."""
    run = latest_run(session)
    if run is None:
        return []
    return [
        ProductRule(
            tuple(row.antecedent), row.consequent, row.support, row.confidence, row.lift, row.count
        )
        for row in session.scalars(select(ProductRuleRow).where(ProductRuleRow.run_id == run.id))
    ]


@dataclass(frozen=True)
class Suggestions:
    basis: Order | None  # the customer's latest order that was not cancelled
    picks: list[Recommendation]
    names: dict[str, str]  # SKU -> product name


def recommend_for_customer(session: Session, customer_id: int, *, limit: int = 3) -> Suggestions:
    """The products the stored rules suggest for the customer's latest order, best first;
    nothing the customer already bought. No rules are mined here (the batch job does)."""
    orders = list(
        session.scalars(
            select(Order).where(Order.customer_id == customer_id).order_by(Order.placed_at.desc())
        )
    )
    basis = next((o for o in orders if o.status is not OrderStatus.CANCELLED), None)
    rules = product_rules(session) if basis is not None else []
    if basis is None or not rules:
        return Suggestions(basis, [], {})
    names = {
        sku: name
        for sku, name in session.execute(select(OrderItem.sku, OrderItem.product_name).distinct())
    }
    owned = {item.sku for order in orders for item in order.items}
    basket = {item.sku for item in basis.items}
    picks = next_best_products(rules, basket, owned, limit=limit, names=names)
    return Suggestions(basis, picks, names)


def segments_view(session: Session) -> dict[str, Any]:
    """Sizes and centroids of the latest run's segments, and each segment's size over the last
    runs (oldest first) for the trend."""
    runs = list(
        session.scalars(
            select(InsightRun)
            .where(InsightRun.status == "finished")
            .order_by(InsightRun.id.desc())
            .limit(TREND_RUNS)
        )
    )
    if not runs:
        return {"run": None, "segments": [], "trend": []}
    summaries = list(
        session.scalars(
            select(SegmentSummary).where(SegmentSummary.run_id.in_([r.id for r in runs]))
        )
    )
    latest = runs[0]
    trend = [
        {
            "run_id": run.id,
            "finished_at": utc_iso(run.finished_at),
            "sizes": {s.label: s.size for s in summaries if s.run_id == run.id},
        }
        for run in reversed(runs)
    ]
    return {
        "run": {
            "id": latest.id,
            "finished_at": utc_iso(latest.finished_at),
            "summary": latest.summary,
            "versions": latest.versions,
        },
        "segments": [
            {"label": s.label, "size": s.size, "centroid": s.centroid}
            for s in sorted(summaries, key=lambda s: -s.size)
            if s.run_id == latest.id
        ],
        "trend": trend,
    }


def complaint_themes(session: Session, *, examples: int = 3) -> list[dict[str, Any]]:
    """The latest run's themes with their example texts read from where they live now (an
    erased comment or ticket is simply no longer an example)."""
    run = latest_run(session)
    if run is None:
        return []
    themes = []
    for row in session.scalars(
        select(ComplaintThemeRow)
        .where(ComplaintThemeRow.run_id == run.id)
        .order_by(ComplaintThemeRow.volume.desc(), ComplaintThemeRow.id)
    ):
        texts = []
        for reference in row.examples[:examples]:
            text = _feedback_text(session, reference)
            if text:
                texts.append(text)
        themes.append(
            {
                "label": row.label,
                "terms": row.terms,
                "volume": row.volume,
                "change": row.change,
                "weekly_counts": row.weekly_counts,
                "examples": texts,
            }
        )
    return themes


def _feedback_text(session: Session, reference: dict[str, Any]) -> str | None:
    if reference.get("source") == "csat_comment":
        interaction = session.get(Interaction, reference.get("id"))
        return interaction.csat_comment if interaction is not None else None
    if reference.get("source") == "ticket":
        ticket = session.get(Ticket, reference.get("id"))
        return ticket.description if ticket is not None else None
    return None
