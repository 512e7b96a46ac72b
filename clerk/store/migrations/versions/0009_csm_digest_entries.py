"""csm digest entries: what each CSM digest owes and the digests that reported it (issue 13)

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-01 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "digest_entries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("sweep_id", sa.Integer(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("csm", sa.String(length=255), nullable=True),
        sa.Column("section", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.String(length=64), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("digest_entries") as batch:
        batch.create_index(batch.f("ix_digest_entries_digest_id"), ["digest_id"], unique=False)
    op.create_table(
        "csm_digests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("csm", sa.String(length=255), nullable=True),
        sa.Column("folder", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("written_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("csm_digests") as batch:
        batch.create_index(batch.f("ix_csm_digests_written_at"), ["written_at"], unique=False)


def downgrade() -> None:
    op.drop_table("csm_digests")
    op.drop_table("digest_entries")
