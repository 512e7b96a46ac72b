"""outcomes stored once: the outcomes table, no copy in value_cases.data

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 09:10:00

Before this revision ingest wrote every outcome twice: inside ``value_cases.data["outcomes"]``
and as a row of ``outcomes``; the sweep read the first, the packet, UI and retrieval the second.
Now the ``outcomes`` table is the one copy. The upgrade rebuilds each account's outcome rows
from its value case's copy (what the sweep used to read, so drafts keep resting on the same
outcomes), then drops that copy. ``content_hash`` is left alone: it still covers the whole
value case, so no account is redrafted for the move. No column changes.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
value_cases = sa.table("value_cases", sa.column("account_id", sa.String), sa.column("data", _JSON))
outcomes = sa.table(
    "outcomes",
    sa.column("account_id", sa.String),
    sa.column("id", sa.String),
    sa.column("position", sa.Integer),
    sa.column("title", sa.String),
    sa.column("category", sa.String),
    sa.column("period", sa.String),
    sa.column("data", _JSON),
)


def _outcome_row(account_id: str, position: int, outcome: dict[str, Any]) -> dict[str, Any]:
    data = dict(outcome)
    if isinstance(data.get("inputs"), dict):  # the YAML shape, inputs keyed by name
        data["inputs"] = [{**v, "name": k} for k, v in data["inputs"].items()]
    return {
        "account_id": account_id,
        "id": data["id"],
        "position": position,
        "title": data.get("title", ""),
        "category": data.get("category", ""),
        "period": data.get("period", ""),
        "data": data,
    }


def upgrade() -> None:
    bind = op.get_bind()
    for account_id, data in bind.execute(
        sa.select(value_cases.c.account_id, value_cases.c.data)
    ).all():
        data = dict(data or {})
        if "outcomes" not in data:
            continue
        copies = data.pop("outcomes") or []
        bind.execute(sa.delete(outcomes).where(outcomes.c.account_id == account_id))
        rows = [_outcome_row(account_id, n, o) for n, o in enumerate(copies)]
        if rows:
            bind.execute(sa.insert(outcomes), rows)
        bind.execute(
            sa.update(value_cases).where(value_cases.c.account_id == account_id).values(data=data)
        )


def downgrade() -> None:
    bind = op.get_bind()
    for account_id, data in bind.execute(
        sa.select(value_cases.c.account_id, value_cases.c.data)
    ).all():
        rows = bind.execute(
            sa.select(outcomes.c.data)
            .where(outcomes.c.account_id == account_id)
            .order_by(outcomes.c.position)
        )
        data = {**(data or {}), "outcomes": [row for (row,) in rows]}
        bind.execute(
            sa.update(value_cases).where(value_cases.c.account_id == account_id).values(data=data)
        )
