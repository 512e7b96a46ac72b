"""proof items remember when a sweep last found them

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 08:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proof_items") as batch:
        batch.add_column(sa.Column("last_confirmed", sa.Date(), nullable=True))
    # Until now a draft was only ever confirmed by the sweep that first wrote it.
    op.execute("UPDATE proof_items SET last_confirmed = as_of WHERE last_confirmed IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("proof_items") as batch:
        batch.drop_column("last_confirmed")
