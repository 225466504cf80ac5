"""identity: failed verifications counted per email, order number and client (keyed hashes)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verification_failures",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        "ix_verification_failures_last_failure_at", "verification_failures", ["last_failure_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_verification_failures_last_failure_at", table_name="verification_failures")
    op.drop_table("verification_failures")
