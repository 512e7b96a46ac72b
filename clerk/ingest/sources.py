"""Citable texts (tickets, comments, notes) into the ``sources`` table, updated on change.

A source's ``content_hash`` covers everything a reader sees, so an edited ticket or note
updates its row (and the vector index picks it up by the same hash), while an unchanged one
is left alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk.domain.models import Source
from clerk.store.tables import SourceRow, utcnow

Status = Literal["new", "updated", "unchanged"]


def source_hash(source: Source) -> str:
    """Stable hash of everything stored for a source."""
    payload = source.model_dump(mode="json")
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def upsert_sources(session: Session, sources: Iterable[Source]) -> dict[str, Status]:
    """Insert new sources, update changed ones. Returns each source id's status."""
    wanted = {s.id: s for s in sources}
    if not wanted:
        return {}
    rows = {
        row.id: row
        for row in session.scalars(select(SourceRow).where(SourceRow.id.in_(list(wanted))))
    }
    status: dict[str, Status] = {}
    for source_id, source in wanted.items():
        digest = source_hash(source)
        row = rows.get(source_id)
        if row is not None and row.content_hash == digest:
            status[source_id] = "unchanged"
            continue
        if row is None:
            row = SourceRow(id=source_id)
            session.add(row)
            status[source_id] = "new"
        else:
            status[source_id] = "updated"
        row.account_id = source.account_id
        row.kind = source.kind
        row.title = source.title
        row.text = source.text
        row.date = source.date
        row.author = source.author
        row.public = source.public
        row.customer_spans = [span.model_dump() for span in source.customer_spans]
        row.meta = source.meta
        row.content_hash = digest
        row.updated_at = utcnow()
    session.flush()
    return status
