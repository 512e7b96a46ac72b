"""Row <-> model conversion: the one place that reads stored drafts and entities as models.

The row is the truth for status; JSON payloads hold the rest of the draft.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from clerk.domain.models import Account, GapFlag, Outcome, ProofItem, ValueCase
from clerk.store.tables import AccountRow, GapFlagRow, OutcomeRow, ProofItemRow, ValueCaseRow


def item_from_row(row: ProofItemRow) -> ProofItem:
    """The stored draft with the row's status (the row is the truth for status)."""
    item = ProofItem.model_validate(row.payload)
    item.status = row.status  # type: ignore[assignment]
    return item


def gap_from_row(row: GapFlagRow) -> GapFlag:
    """The gap flag with the reviewers' owner, next action, due date and status applied."""
    data = dict(row.payload)
    data.update(status=row.status, version=row.version, account=row.account_id)
    if row.owner is not None:
        data["owner"] = row.owner
    if row.next_action is not None:
        data["next_action"] = row.next_action
    if row.due_date is not None:
        data["due_date"] = row.due_date.isoformat()
    return GapFlag.model_validate(data)


_ITEM_KEYS = (
    "id",
    "outcome",
    "kind",
    "claim",
    "period",
    "delivered",
    "target",
    "unit",
    "attainment",
    "calculation",
    "citations",
    "evidence_category",
    "confidence",
    "status",
    "drafted_by",
)


_GAP_KEYS = (
    "id",
    "outcome",
    "kind",
    "severity",
    "message",
    "next_action",
    "risk",
    "owner",
    "status",
)


def item_document(row: ProofItemRow) -> dict[str, Any]:
    """One proof item in the FORMATS §8 shape.

    The draft is shown as the clerk wrote it with the row's status; an ``edited`` item carries
    the CSM's version beside it under ``edited``, a rejected one its ``reject_reason``.
    """
    full = item_from_row(row).model_dump(mode="json")
    out = {k: full[k] for k in _ITEM_KEYS}
    if out["period"] is not None:
        out["period"] = {"start": out["period"]["start"], "end": out["period"]["end"]}
    if row.kind == "payback":
        out["forecast"] = full.get("forecast")
    if full.get("confidence_reasons"):
        out["confidence_reasons"] = full["confidence_reasons"]
    if row.status == "unverified":
        out["verification_errors"] = full.get("verification_errors", [])
    if row.edited is not None:
        out["edited"] = row.edited
    if row.reject_reason:
        out["reject_reason"] = row.reject_reason
    return out


def gap_document(row: GapFlagRow) -> dict[str, Any]:
    """One gap flag in the FORMATS §8 shape; citations when it rests on evidence."""
    full = gap_from_row(row).model_dump(mode="json")
    out = {k: full[k] for k in _GAP_KEYS}
    if full.get("citations"):
        out["citations"] = full["citations"]
    if full.get("sources"):
        out["sources"] = full["sources"]
    if full.get("period"):
        out["period"] = {"start": full["period"]["start"], "end": full["period"]["end"]}
    if row.due_date is not None:
        out["due_date"] = row.due_date.isoformat()
    return out


def account_from_row(row: AccountRow) -> Account:
    """The Account model of a row (the ingested account.yaml, with column fallbacks)."""
    data = dict(row.data or {})
    data.setdefault("id", row.id)
    data.setdefault("name", row.name)
    data.setdefault("csm", row.csm)
    data.setdefault("contract", {"start": dt.date.min.isoformat(), "renewal": row.renewal})
    return Account.model_validate(data)


def outcome_from_row(row: OutcomeRow) -> Outcome:
    """The Outcome model of a row (its value-case entry, with column fallbacks)."""
    data = {
        "id": row.id,
        "title": row.title,
        "category": row.category,
        "period": row.period,
        "unit": "",
        **(row.data or {}),
    }
    if isinstance(data.get("inputs"), dict):
        # Tolerate the YAML shape (inputs keyed by name) as well as the model's list.
        data["inputs"] = [{**v, "name": k} for k, v in data["inputs"].items()]
    return Outcome.model_validate(data)


def value_case_to_rows(value_case: ValueCase) -> tuple[dict[str, Any], list[OutcomeRow]]:
    """What ``value_cases.data`` keeps (all but the outcomes) and one row per outcome.

    Outcomes are stored once, in the ``outcomes`` table (queried by the packet, the UI and
    retrieval); the value case's row holds its own fields (source, payback).
    """
    data = value_case.model_dump(mode="json", exclude={"outcomes"})
    rows = [
        OutcomeRow(
            account_id=value_case.account_id,
            id=outcome.id,
            position=position,
            title=outcome.title,
            category=outcome.category,
            period=outcome.period,
            data=outcome.model_dump(mode="json"),
        )
        for position, outcome in enumerate(value_case.outcomes)
    ]
    return data, rows


def stored_value_case(session: Session, account_id: str) -> ValueCase:
    """The account's value case as stored: its row and its outcome rows, in order.

    An account without a value case gets an empty one.
    """
    row = session.get(ValueCaseRow, account_id)
    outcomes = session.scalars(_OUTCOMES_OF, {"account_id": account_id}).all()
    return value_case_from_rows(account_id, row, outcomes)


# Built once (a sweep reads every account's outcomes), the account bound as a parameter.
_OUTCOMES_OF = (
    select(OutcomeRow)
    .where(OutcomeRow.account_id == bindparam("account_id"))
    .order_by(OutcomeRow.position)
)


def value_case_from_rows(
    account_id: str, row: ValueCaseRow | None, outcomes: Iterable[OutcomeRow]
) -> ValueCase:
    """A value case from its row and its outcome rows (any order: sorted by position)."""
    data = {k: v for k, v in (row.data if row is not None else {}).items() if k != "outcomes"}
    data["account_id"] = account_id
    value_case = ValueCase.model_validate(data)
    value_case.outcomes = [outcome_from_row(o) for o in sorted(outcomes, key=lambda o: o.position)]
    return value_case
