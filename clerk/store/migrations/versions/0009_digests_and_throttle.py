"""csm digest entries and throttle hits (issue 13)

digest_entries / csm_digests: what each CSM digest owes and the digest that reported it;
throttle_hits: sign-in and share-link rate limits shared by every worker process.

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
    op.create_table(
        "throttle_hits",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_throttle_hits_scope_key_at", "throttle_hits", ["scope", "key", "at"])


def downgrade() -> None:
    op.drop_index("ix_throttle_hits_scope_key_at", table_name="throttle_hits")
    op.drop_table("throttle_hits")
    op.drop_table("csm_digests")
    op.drop_table("digest_entries")
