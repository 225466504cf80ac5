"""insights: the batch job's runs, customers' segments and predictions, rules and themes

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _run_id() -> sa.Column:
    return sa.Column("run_id", sa.Integer(), sa.ForeignKey("insight_runs.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "insight_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_table(
        "customer_insights",
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _run_id(),
        sa.Column("segment", sa.String(length=60), nullable=True),
        sa.Column("churn_risk", sa.Float(), nullable=True),
        sa.Column("expected_orders", sa.Float(), nullable=True),
        sa.Column("expected_value", sa.Numeric(10, 2), nullable=True),
        sa.Column("value_rank", sa.Float(), nullable=True),
        sa.Column("predicted_satisfaction", sa.Float(), nullable=True),
        sa.Column("next_products", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_customer_insights_run_id", "customer_insights", ["run_id"])
    op.create_index("ix_customer_insights_segment", "customer_insights", ["segment"])
    op.create_table(
        "segment_summaries",
        sa.Column("id", sa.Integer(), primary_key=True),
        _run_id(),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("centroid", sa.JSON(), nullable=False),
    )
    op.create_index("ix_segment_summaries_run_id", "segment_summaries", ["run_id"])
    op.create_table(
        "product_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        _run_id(),
        sa.Column("antecedent", sa.JSON(), nullable=False),
        sa.Column("consequent", sa.String(length=40), nullable=False),
        sa.Column("support", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("lift", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_product_rules_run_id", "product_rules", ["run_id"])
    op.create_table(
        "complaint_themes",
        sa.Column("id", sa.Integer(), primary_key=True),
        _run_id(),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("volume", sa.Integer(), nullable=False),
        sa.Column("change", sa.Float(), nullable=False),
        sa.Column("weekly_counts", sa.JSON(), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
    )
    op.create_index("ix_complaint_themes_run_id", "complaint_themes", ["run_id"])


def downgrade() -> None:
    for table in (
        "complaint_themes",
        "product_rules",
        "segment_summaries",
        "customer_insights",
        "insight_runs",
    ):
        op.drop_table(table)
