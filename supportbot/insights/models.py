"""The batch job's results: one row per run, and what each run learnt.

Every result row names its run, so an agent can see which models (and which version of them)
said what, and when. A customer's row in `customer_insights` is the latest run's.
Complaint themes keep references to the feedback they cite, never a copy of its text, so that
erasing a customer's conversation or ticket also removes it from the themes' examples.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from supportbot.crm.models import Base, Money, utcnow


class InsightRun(Base):
    __tablename__ = "insight_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|finished|failed
    # Model name -> version, and what each step measured (k, silhouette, held-out scores...).
    versions: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class CustomerInsight(Base):
    __tablename__ = "customer_insights"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[int] = mapped_column(ForeignKey("insight_runs.id"), index=True)
    segment: Mapped[str | None] = mapped_column(String(60), index=True)
    churn_risk: Mapped[float | None] = mapped_column(Float)  # P(no order in the horizon)
    expected_orders: Mapped[float | None] = mapped_column(Float)
    expected_value: Mapped[Decimal | None] = mapped_column(Money)
    # Share of customers who spent less in the last year (0..1): "valued" is the top fifth.
    value_rank: Mapped[float | None] = mapped_column(Float)
    predicted_satisfaction: Mapped[float | None] = mapped_column(Float)  # 1-5
    # Next-best products from the run's rules for the latest order: [{"sku", "reason"}].
    next_products: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Readable reasons per prediction: {"churn": [...], "segment": [...], "satisfaction": [...]}.
    reasons: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SegmentSummary(Base):
    __tablename__ = "segment_summaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("insight_runs.id"), index=True)
    label: Mapped[str] = mapped_column(String(60))
    size: Mapped[int]
    # Feature -> the centroid's value in the feature's own unit (days, orders, currency...).
    centroid: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)


class ProductRuleRow(Base):
    __tablename__ = "product_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("insight_runs.id"), index=True)
    antecedent: Mapped[list[str]] = mapped_column(JSON)
    consequent: Mapped[str] = mapped_column(String(40))
    support: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    lift: Mapped[float] = mapped_column(Float)
    count: Mapped[int]


class ComplaintThemeRow(Base):
    __tablename__ = "complaint_themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("insight_runs.id"), index=True)
    label: Mapped[str] = mapped_column(String(80))
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    volume: Mapped[int]
    change: Mapped[float] = mapped_column(Float)
    weekly_counts: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    # [{"source": "csat_comment" | "ticket", "id": row id}], read back when shown.
    examples: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
