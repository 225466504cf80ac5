"""agent console: agents, sessions, conversation reviews and tags, list indexes

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INTERACTION_INDEXES = {
    "ix_interactions_started_at_id": ["started_at", "id"],
    "ix_interactions_handoff": ["handoff"],
    "ix_interactions_csat_rating": ["csat_rating"],
    "ix_interactions_sentiment_average": ["sentiment_average"],
}


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agents_email", "agents", ["email"], unique=True)

    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_agent_sessions_agent_id", "agent_sessions", ["agent_id"])
    op.create_index("ix_agent_sessions_expires_at", "agent_sessions", ["expires_at"])

    op.create_table(
        "conversation_reviews",
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "reviewed",
                "needs_training_data",
                name="reviewstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["sender_id"], ["interactions.sender_id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["agents.id"]),
        sa.PrimaryKeyConstraint("sender_id"),
    )
    op.create_index("ix_conversation_reviews_status", "conversation_reviews", ["status"])

    op.create_table(
        "conversation_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["sender_id"], ["interactions.sender_id"]),
        sa.ForeignKeyConstraint(["created_by"], ["agents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_id", "tag", name="uq_conversation_tags_sender_tag"),
    )
    op.create_index("ix_conversation_tags_tag", "conversation_tags", ["tag"])

    for name, columns in _INTERACTION_INDEXES.items():
        op.create_index(name, "interactions", columns)


def downgrade() -> None:
    for name in _INTERACTION_INDEXES:
        op.drop_index(name, table_name="interactions")
    op.drop_index("ix_conversation_tags_tag", table_name="conversation_tags")
    op.drop_table("conversation_tags")
    op.drop_index("ix_conversation_reviews_status", table_name="conversation_reviews")
    op.drop_table("conversation_reviews")
    op.drop_index("ix_agent_sessions_expires_at", table_name="agent_sessions")
    op.drop_index("ix_agent_sessions_agent_id", table_name="agent_sessions")
    op.drop_table("agent_sessions")
    op.drop_index("ix_agents_email", table_name="agents")
    op.drop_table("agents")
