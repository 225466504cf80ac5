"""agents: roles, the login lockout, scoped API tokens and the audit trail

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (a default for the NOT NULL ones): no copy of `agents`.
    # Existing agents stay agents; `supportbot agent role EMAIL admin` promotes one.
    op.add_column(
        "agents",
        sa.Column(
            "role",
            sa.Enum("agent", "admin", name="agentrole", native_enum=False, length=20),
            nullable=False,
            server_default="agent",
        ),
    )
    op.add_column(
        "agents", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("agents", sa.Column("failures_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("agents", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "agent_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_agent_tokens_agent_id", "agent_tokens", ["agent_id"])

    op.create_table(
        "audit_trail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_trail_at", "audit_trail", ["at"])
    op.create_index("ix_audit_trail_action_at", "audit_trail", ["action", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_trail_action_at", table_name="audit_trail")
    op.drop_index("ix_audit_trail_at", table_name="audit_trail")
    op.drop_table("audit_trail")
    op.drop_index("ix_agent_tokens_agent_id", table_name="agent_tokens")
    op.drop_table("agent_tokens")
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): a batch copy of `agents` would drop the old
    # table, and with it, through ON DELETE CASCADE, every console session.
    for column in ("locked_until", "failures_since", "failed_logins", "role"):
        op.drop_column("agents", column)
