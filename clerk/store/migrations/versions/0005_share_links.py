"""share links and customer responses (issue 16)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 08:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "share_links",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_links_account_id"), ["account_id"], unique=False)
    op.create_table(
        "share_responses",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("share_id", _ID, nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("claim", sa.Text(), nullable=True),
        sa.Column("responder_name", sa.String(length=255), nullable=False),
        sa.Column("responder_email", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["share_id"], ["share_links.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("share_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_responses_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_share_responses_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_share_responses_share_id"), ["share_id"], unique=False)


def downgrade() -> None:
    op.drop_table("share_responses")
    op.drop_table("share_links")
