"""`supportbot insights run`: learn from the whole CRM and store what every customer looks like.

One run, in order, each step saying what it did:
1. churn risk and expected value from order history (BG/NBD boosted with LightGBM), first
   scored on a time split (trained without the last `horizon` weeks, judged on them, next to
   BG/NBD), then retrained on everything for the predictions that are stored;
2. segments by k-means (k by silhouette);
3. satisfaction learnt from CSAT answers, or the formula where the model does not beat it;
4. association rules over order baskets (the bot's next-best products);
5. complaint themes from low-rated CSAT comments and complaint tickets.
Results are written in one transaction at the end; a failure leaves the previous run's results
in place and marks this run failed with the error.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from supportbot.crm.db import session_scope
from supportbot.crm.models import (
    ERASED_EMAIL_DOMAIN,
    Customer,
    Interaction,
    Order,
    OrderStatus,
    Ticket,
    TicketKind,
    as_utc,
    utcnow,
)
from supportbot.insights import lifetime_value, satisfaction, segments
from supportbot.insights.complaint_themes import Feedback, mine_complaint_themes
from supportbot.insights.models import (
    ComplaintThemeRow,
    CustomerInsight,
    InsightRun,
    ProductRuleRow,
    SegmentSummary,
)
from supportbot.insights.product_rules import mine_product_rules, next_best_products
from supportbot.insights.purchase_history import HistoryError

log = logging.getLogger(__name__)
Progress = Callable[[str], None]
DEFAULT_HORIZON_WEEKS = 13
CENT = Decimal("0.01")
_NOT_REVENUE = (OrderStatus.CANCELLED, OrderStatus.RETURNED)
LOW_RATING = 2  # CSAT comments at or below it are read as complaints (a 3 is mixed)


@dataclass(frozen=True)
class RunResult:
    run_id: int
    customers: int
    summary: dict[str, Any]


def run_insights(
    url: str | None = None,
    *,
    now: datetime | None = None,
    horizon_weeks: int = DEFAULT_HORIZON_WEEKS,
    progress: Progress | None = None,
) -> RunResult:
    """Run every step on the CRM at `url` and store the results (see the module docstring)."""
    say = progress or (lambda _line: None)
    moment = as_utc(now or utcnow())
    if horizon_weeks < 1:
        raise ValueError("the horizon must be at least one week")
    with session_scope(url) as session:
        run = InsightRun(started_at=utcnow(), status="running", versions={}, summary={})
        session.add(run)
        session.flush()
        run_id = run.id
    try:
        with session_scope(url) as session:
            result = _run(session, run_id, moment, horizon_weeks, say)
    except Exception as error:
        with session_scope(url) as session:
            failed = session.get(InsightRun, run_id)
            if failed is not None:
                failed.status, failed.finished_at = "failed", utcnow()
                failed.error = f"{type(error).__name__}: {error}"[:2000]
        raise
    return result


def _run(
    session: Session, run_id: int, now: datetime, horizon_weeks: int, say: Progress
) -> RunResult:
    started = time.perf_counter()
    # Erased customers stay as anonymous owners of their orders: nothing is predicted about them.
    customers = list(
        session.scalars(
            select(Customer.id)
            .where(Customer.email.not_like(f"%@{ERASED_EMAIL_DOMAIN}"))
            .order_by(Customer.id)
        )
    )
    orders = list(session.scalars(select(Order).where(Order.status.not_in(_NOT_REVENUE))))
    interactions = list(
        session.scalars(select(Interaction).where(Interaction.customer_id.is_not(None)))
    )
    tickets = list(session.scalars(select(Ticket).where(Ticket.customer_id.is_not(None))))
    say(
        f"CRM: {len(customers):,} customers, {len(orders):,} orders, "
        f"{len(interactions):,} conversations, {len(tickets):,} tickets"
    )
    summary: dict[str, Any] = {"horizon_weeks": horizon_weeks, "now": now.isoformat()}
    versions: dict[str, str] = {}
    rows: dict[int, dict[str, Any]] = {c: {"reasons": {}} for c in customers}

    say("1/5 churn risk and expected value from order history...")
    purchases = pd.DataFrame(
        {
            "customer_id": [o.customer_id for o in orders],
            "at": [as_utc(o.placed_at).replace(tzinfo=None) for o in orders],
            "value": [float(o.total) for o in orders],
            "items": [sum(item.quantity for item in o.items) for o in orders],
        }
    )
    summary["churn"] = _churn_and_value(purchases, now, horizon_weeks, rows, say)
    versions["churn"] = lifetime_value.MODEL_VERSION

    say("2/5 segments...")
    features = _segment_features(customers, orders, interactions, tickets, now)
    ranks = features["spend_last_year"].rank(method="max", pct=True)
    for customer, rank in ranks.items():
        spent = features.at[customer, "spend_last_year"]
        rows[int(customer)]["value_rank"] = round(float(rank), 4) if spent > 0 else 0.0
    try:
        segmentation = segments.segment_customers(features)
    except ValueError as error:
        summary["segments"] = {"skipped": str(error)}
        segmentation = None
        say(f"  skipped: {error}")
    if segmentation is not None:
        for customer, label in segmentation.labels.items():
            rows[int(customer)]["segment"] = label
            rows[int(customer)]["reasons"]["segment"] = segmentation.reasons[int(customer)]
        summary["segments"] = {
            "k": segmentation.k,
            "silhouette": segmentation.silhouette,
            "silhouettes": {str(k): v for k, v in segmentation.silhouettes.items()},
            "sizes": segmentation.sizes,
        }
        versions["segments"] = segments.MODEL_VERSION
        say(
            f"  k={segmentation.k} (silhouette {segmentation.silhouette:.3f}): "
            + ", ".join(f"{name} {size}" for name, size in segmentation.sizes.items())
        )

    say("3/5 satisfaction from CSAT answers...")
    model = satisfaction.learn_satisfaction(interactions)
    summary["satisfaction"] = {"chosen": model.chosen, **model.evaluation}
    versions["satisfaction"] = (
        satisfaction.MODEL_VERSION if model.chosen == "learned" else "formula"
    )
    say(f"  {model.chosen}: {model.evaluation}")
    latest: dict[int, list[Interaction]] = defaultdict(list)
    for interaction in sorted(interactions, key=lambda i: as_utc(i.started_at), reverse=True):
        if interaction.customer_id is not None and len(latest[interaction.customer_id]) < 5:
            latest[interaction.customer_id].append(interaction)
    for customer, recent in latest.items():
        predictions = [p for p in (model.predict(i) for i in recent) if p is not None]
        if predictions and customer in rows:
            rows[customer]["predicted_satisfaction"] = round(float(np.mean(predictions)), 2)
            rows[customer]["reasons"]["satisfaction"] = model.reasons(recent[0])

    say("4/5 next-best products (association rules)...")
    baskets = [sorted({item.sku for item in o.items}) for o in orders if o.items]
    rules = mine_product_rules(baskets, min_support=0.01, min_confidence=0.2, min_lift=1.2)
    summary["rules"] = {"baskets": len(baskets), "rules": len(rules)}
    names = {item.sku: item.product_name for o in orders for item in o.items}
    latest_order: dict[int, Order] = {}
    owned: dict[int, set[str]] = defaultdict(set)
    for order in sorted(orders, key=lambda o: (as_utc(o.placed_at), o.id)):
        latest_order[order.customer_id] = order
        owned[order.customer_id].update(item.sku for item in order.items)
    for customer, order in latest_order.items():
        if customer in rows:
            picks = next_best_products(
                rules, {i.sku for i in order.items}, owned[customer], limit=3, names=names
            )
            rows[customer]["next_products"] = [
                {"sku": p.sku, "name": names.get(p.sku, p.sku), "reason": p.reason} for p in picks
            ]
    versions["rules"] = "mlxtend-fpgrowth"
    say(f"  {len(rules)} rules from {len(baskets):,} baskets")

    say("5/5 complaint themes...")
    feedback, references = _feedback(interactions, tickets)
    themes = mine_complaint_themes(feedback, now=now) if feedback else []
    summary["themes"] = {"feedback": len(feedback), "themes": len(themes)}
    versions["themes"] = "spacy-noun-chunks+nltk-collocations"
    say(f"  {len(themes)} themes from {len(feedback)} pieces of feedback")

    computed_at = utcnow()
    session.execute(delete(CustomerInsight))
    for customer, row in rows.items():
        session.add(
            CustomerInsight(
                customer_id=customer,
                run_id=run_id,
                segment=row.get("segment"),
                churn_risk=row.get("churn_risk"),
                expected_orders=row.get("expected_orders"),
                expected_value=row.get("expected_value"),
                value_rank=row.get("value_rank"),
                predicted_satisfaction=row.get("predicted_satisfaction"),
                next_products=row.get("next_products", []),
                reasons=row["reasons"],
                computed_at=computed_at,
            )
        )
    if segmentation is not None:
        for label, size in segmentation.sizes.items():
            session.add(
                SegmentSummary(
                    run_id=run_id, label=label, size=size, centroid=segmentation.centroids[label]
                )
            )
    for rule in rules:
        session.add(
            ProductRuleRow(
                run_id=run_id,
                antecedent=list(rule.antecedent),
                consequent=rule.consequent,
                support=rule.support,
                confidence=rule.confidence,
                lift=rule.lift,
                count=rule.count,
            )
        )
    for theme in themes:
        session.add(
            ComplaintThemeRow(
                run_id=run_id,
                label=theme.label[:80],
                terms=list(theme.terms),
                volume=theme.volume,
                change=theme.change,
                weekly_counts=[[week.isoformat(), count] for week, count in theme.weekly_counts],
                examples=[references[text] for text in theme.examples if text in references],
            )
        )
    run = session.get(InsightRun, run_id)
    assert run is not None  # created above, in its own transaction
    summary["seconds"] = round(time.perf_counter() - started, 1)
    run.status, run.finished_at, run.versions, run.summary = "finished", utcnow(), versions, summary
    say(f"Stored insights for {len(rows):,} customers in {summary['seconds']} s (run {run_id})")
    return RunResult(run_id, len(rows), summary)


def _churn_and_value(
    purchases: pd.DataFrame,
    now: datetime,
    horizon_weeks: int,
    rows: dict[int, dict[str, Any]],
    say: Progress,
) -> dict[str, Any]:
    end = pd.Timestamp(now.replace(tzinfo=None))
    horizon = pd.Timedelta(weeks=horizon_weeks)
    report: dict[str, Any] = {}
    try:
        # The time split: the model never sees the last `horizon` weeks it is judged on.
        model = lifetime_value.PurchaseModel.fit(purchases, end - horizon, log=say)
        seen = purchases[purchases["at"] <= end - horizon]
        outlook = model.predict(seen, end - horizon, horizon_weeks).frame
        bought = set(purchases[purchases["at"] > end - horizon]["customer_id"])
        truth = outlook.index.isin(list(bought))
        if 0 < truth.sum() < len(truth):
            report["held_out"] = {
                "customers": len(truth),
                "bought_again": int(truth.sum()),
                "auc": round(float(roc_auc_score(truth, outlook["buys_again"])), 3),
                "bgnbd_auc": round(float(roc_auc_score(truth, outlook["bgnbd_buys_again"])), 3),
            }
            say(f"  time split (last {horizon_weeks} weeks held out): {report['held_out']}")
        final = lifetime_value.PurchaseModel.fit(purchases, end)
        current = final.predict(purchases, end, horizon_weeks)
    except HistoryError as error:
        say(f"  skipped: {error}")
        return {"skipped": str(error)}
    reasons = final.churn_reasons(current)
    for customer, row in current.frame.iterrows():
        target = rows.get(int(customer))
        if target is None:
            continue
        target["churn_risk"] = round(float(row["churn_risk"]), 4)
        target["expected_orders"] = round(float(row["expected_purchases"]), 3)
        target["expected_value"] = Decimal(str(float(row["expected_value"]))).quantize(CENT)
        target["reasons"]["churn"] = reasons.get(customer, [])
    report["customers"] = len(current.frame)
    return report


def _segment_features(
    customers: list[int],
    orders: list[Order],
    interactions: list[Interaction],
    tickets: list[Ticket],
    now: datetime,
) -> pd.DataFrame:
    year_ago = now - timedelta(days=365)
    frame = pd.DataFrame(
        0.0, index=pd.Index(customers, name="customer_id"), columns=list(segments.FEATURES)
    )
    frame["days_since_last_order"] = 730.0
    first_seen: dict[int, datetime] = {}
    moods: dict[int, list[float]] = defaultdict(list)
    for order in orders:
        if order.customer_id not in frame.index:  # an erased customer's kept orders
            continue
        placed = as_utc(order.placed_at)
        customer = order.customer_id
        first_seen[customer] = min(first_seen.get(customer, placed), placed)
        days = max(0.0, (now - placed).total_seconds() / 86400)
        frame.at[customer, "days_since_last_order"] = min(
            frame.at[customer, "days_since_last_order"], days
        )
        if placed >= year_ago:
            frame.at[customer, "spend_last_year"] += float(order.total)
            frame.at[customer, "orders_last_year"] += 1
    for interaction in interactions:
        if interaction.customer_id is None or interaction.customer_id not in frame.index:
            continue
        customer = interaction.customer_id
        if as_utc(interaction.started_at) >= year_ago:
            frame.at[customer, "contacts_last_year"] += 1
            if "complaint" in (interaction.intents or []):
                frame.at[customer, "complaints_last_year"] += 1
        if interaction.sentiment_average is not None:
            moods[customer].append(interaction.sentiment_average)
    for ticket in tickets:
        if ticket.customer_id is None or ticket.customer_id not in frame.index:
            continue
        customer = ticket.customer_id
        if as_utc(ticket.created_at) >= year_ago:
            frame.at[customer, "contacts_last_year"] += 1
            if ticket.kind is TicketKind.COMPLAINT:
                frame.at[customer, "complaints_last_year"] += 1
    for customer, scores in moods.items():
        frame.at[customer, "mood"] = float(np.mean(scores))
    for customer in customers:
        since = first_seen.get(customer)
        frame.at[customer, "tenure_days"] = (now - since).days if since else 0.0
    return frame


def _feedback(
    interactions: list[Interaction], tickets: list[Ticket]
) -> tuple[list[Feedback], dict[str, dict[str, Any]]]:
    """Low-rated CSAT comments and complaint tickets, and where each text came from."""
    feedback: list[Feedback] = []
    references: dict[str, dict[str, Any]] = {}
    for interaction in interactions:
        comment = (interaction.csat_comment or "").strip()
        rating = interaction.csat_rating
        if comment and rating is not None and rating <= LOW_RATING:
            at = as_utc(interaction.csat_at or interaction.started_at)
            feedback.append(Feedback(comment, at, "csat_comment"))
            references.setdefault(comment, {"source": "csat_comment", "id": interaction.id})
    for ticket in tickets:
        text = (ticket.description or "").strip()
        if ticket.kind is TicketKind.COMPLAINT and text:
            feedback.append(Feedback(text, as_utc(ticket.created_at), "ticket"))
            references.setdefault(text, {"source": "ticket", "id": ticket.id})
    return feedback, references
