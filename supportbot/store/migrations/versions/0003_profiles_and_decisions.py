"""customer profiles, logged decisions, per-conversation sentiment and CSAT

Revision ID: 0003
Revises: 0002_knowledge_base
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002_knowledge_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("message_sentiments", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("sentiment_average", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("sentiment_trend", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("fallback_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("satisfaction_estimate", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("csat_rating", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("csat_comment", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("csat_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_sender_id"), ["sender_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "customer_profiles",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("interaction_count", sa.Integer(), nullable=False),
        sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("intent_counts", sa.JSON(), nullable=False),
        sa.Column("sentiment_history", sa.JSON(), nullable=False),
        sa.Column("handoff_count", sa.Integer(), nullable=False),
        sa.Column("satisfaction_average", sa.Float(), nullable=True),
        sa.Column("csat_average", sa.Float(), nullable=True),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("value", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("tier", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("customer_id"),
    )


def downgrade() -> None:
    op.drop_table("customer_profiles")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_customer_id"))
        batch_op.drop_index(batch_op.f("ix_decisions_sender_id"))
    op.drop_table("decisions")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        for column in (
            "csat_at",
            "csat_comment",
            "csat_rating",
            "satisfaction_estimate",
            "fallback_count",
            "sentiment_trend",
            "sentiment_average",
            "message_sentiments",
        ):
            batch_op.drop_column(column)
