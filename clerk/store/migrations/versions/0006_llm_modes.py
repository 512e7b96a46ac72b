"""llm_modes: the structured-output mode that works per endpoint and model; llm_calls.mode

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 08:40:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_modes",
        sa.Column("endpoint", sa.String(length=512), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("system_honoured", sa.Boolean(), nullable=True),
        sa.Column(
            "misses",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("endpoint", "model"),
    )
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(sa.Column("mode", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("mode")
    op.drop_table("llm_modes")
