"""The current proof of an account at a date: the one definition every reader uses.

The UI, the JSON API, `clerk items`, `clerk gaps`, the manager grid, proof coverage and the
packet all ask this module what is in force, so they cannot disagree.

At a date D an account's current proof is:

* its *items* whose period is the reporting period D gives their outcome (the payback: the
  period of its benefit outcome; a contract-to-date outcome: any period from the contract
  start to D), first drafted on or before D, and not superseded. A later sweep that finds the
  same evidence again gets the same id and only moves ``last_confirmed``, so an approval stays
  attached to its evidence across sweeps;
* its *gap flags* of those periods plus the account-wide ones, not resolved.

D defaults to :func:`latest_as_of`, the newest date the account was swept at.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import bindparam, func, literal_column, select, true, union_all
from sqlalchemy.orm import Session

from clerk.domain.models import Account, Outcome, Period, ValueCase
from clerk.domain.periods import label as period_label
from clerk.domain.periods import reporting_period
from clerk.domain.vocabulary import OPEN_GAP_STATUSES, PENDING_STATUSES, PROVEN_STATUSES, kind_rank
from clerk.store.db import read_rows
from clerk.store.rows import account_from_row, gap_document, item_document, value_case_from_rows
from clerk.store.tables import (
    AccountRow,
    GapFlagRow,
    OutcomeRow,
    ProofItemRow,
    SweepStateRow,
    ValueCaseRow,
)


def periods_at(account: Account, value_case: ValueCase, as_of: dt.date) -> dict[str | None, Period]:
    """The period of every outcome (and of the payback, key ``None``) at ``as_of``."""
    periods: dict[str | None, Period] = {
        o.id: reporting_period(o.period, as_of, account.contract.start) for o in value_case.outcomes
    }
    if value_case.payback is not None and value_case.payback.benefit in periods:
        periods[None] = periods[value_case.payback.benefit]
    return periods


def _in_period(
    outcome: str | None,
    start: dt.date | None,
    end: dt.date | None,
    periods: dict[str | None, Period],
    open_ended: set[str | None],
) -> bool:
    wanted = periods.get(outcome)
    if wanted is None or start is None or end is None:
        return False
    if outcome in open_ended:
        # contract to date: the period's end is the date it was drafted at, any up to as-of
        return start == wanted.start and end <= wanted.end
    return (start, end) == (wanted.start, wanted.end)


def item_is_current(
    row: ProofItemRow,
    periods: dict[str | None, Period],
    as_of: dt.date,
    open_ended: set[str | None] = frozenset(),  # type: ignore[assignment]
) -> bool:
    """True when ``row`` is part of the account's proof at ``as_of`` (see the module doc)."""
    if row.status == "superseded" or row.as_of > as_of:
        return False
    return _in_period(row.outcome_id, row.period_start, row.period_end, periods, open_ended)


def gap_is_current(
    row: GapFlagRow,
    periods: dict[str | None, Period],
    open_ended: set[str | None] = frozenset(),  # type: ignore[assignment]
) -> bool:
    """True when the flag is unresolved and about the periods in force (or account-wide)."""
    if row.status == "resolved":
        return False
    if row.outcome_id is None:
        return True
    period = row.payload.get("period")
    if not period:
        return False
    return _in_period(
        row.outcome_id,
        dt.date.fromisoformat(period["start"]),
        dt.date.fromisoformat(period["end"]),
        periods,
        open_ended,
    )


def _open_ended(value_case: ValueCase) -> set[str | None]:
    out: set[str | None] = {o.id for o in value_case.outcomes if o.period == "contract"}
    if value_case.payback is not None and value_case.payback.benefit in out:
        out.add(None)
    return out


@dataclass
class CurrentProof:
    """An account's proof in force at ``as_of`` (``as_of`` None: never swept)."""

    account: Account
    value_case: ValueCase
    as_of: dt.date | None
    periods: dict[str | None, Period]
    items: list[ProofItemRow] = field(default_factory=list)
    gaps: list[GapFlagRow] = field(default_factory=list)

    @property
    def outcomes(self) -> list[Outcome]:
        return list(self.value_case.outcomes)

    @property
    def proven_outcomes(self) -> set[str]:
        """Outcomes with approved or edited proof: what proof coverage counts."""
        outcome_ids = {o.id for o in self.value_case.outcomes}
        return {
            r.outcome_id
            for r in self.items
            if r.status in PROVEN_STATUSES and r.outcome_id in outcome_ids
        }

    @property
    def pending(self) -> list[ProofItemRow]:
        return [r for r in self.items if r.status in PENDING_STATUSES]

    @property
    def open_gaps(self) -> list[GapFlagRow]:
        return [g for g in self.gaps if g.status in OPEN_GAP_STATUSES]

    @property
    def coverage(self) -> float | None:
        n = len(self.value_case.outcomes)
        return len(self.proven_outcomes) / n if n else None


def _sort(proof: CurrentProof) -> CurrentProof:
    order = {o: n for n, o in enumerate(proof.periods)}
    proof.items.sort(
        key=lambda r: (
            order.get(r.outcome_id, len(order)),
            kind_rank(r.kind),
            r.created_at or dt.datetime.min,
            r.id,
        )
    )
    proof.gaps.sort(key=lambda r: (order.get(r.outcome_id, len(order)), r.kind, r.id))
    return proof


def _account_and_case(
    account_row: AccountRow, case_row: ValueCaseRow | None, outcome_rows: list[OutcomeRow]
) -> tuple[Account, ValueCase]:
    """The account and its value case; the outcomes are the stored ``outcomes`` rows (what
    every page lists), in their value-case order."""
    return account_from_row(account_row), value_case_from_rows(
        account_row.id, case_row, outcome_rows
    )


def current_proof(
    session: Session, account_id: str, as_of: dt.date | None = None, *, plain: bool = False
) -> CurrentProof:
    """The account's current proof at ``as_of`` (default: its newest sweep date).

    Raises LookupError for an unknown account. ``plain``: see :func:`current_proofs`.
    """
    return current_proofs(session, [account_id], as_of=as_of, strict=True, plain=plain)[account_id]


def current_proofs(
    session: Session,
    account_ids: Iterable[str] | None = None,
    *,
    as_of: dt.date | None = None,
    strict: bool = False,
    plain: bool = False,
) -> dict[str, CurrentProof]:
    """:func:`current_proof` of many accounts (None: all) in four queries.

    Each account is read at ``as_of`` when given, else at its own newest sweep date.
    ``strict`` raises LookupError for an id that names no account. ``plain``: the items and
    gap flags as read-only rows with the columns of ProofItemRow / GapFlagRow instead of ORM
    objects (about half the cost per row; for readers that change nothing, the review page).
    """
    ids = None if account_ids is None else list(dict.fromkeys(account_ids))
    reads, params = _reads(_scope(ids)), _scope_params(ids)
    if ids is not None and len(ids) == 1:
        # one account: a row the caller already read (an access check) costs no query
        one = session.get(AccountRow, ids[0])
        accounts = {} if one is None else {one.id: one}
    else:
        accounts = {r.id: r for r in session.scalars(reads.accounts, params)}
    if strict and ids is not None:
        for account_id in ids:
            if account_id not in accounts:
                raise LookupError(f"unknown account {account_id!r}")
    # value cases and outcomes as plain rows (read only; same attribute names as the ORM's)
    cases: dict[str, Any] = {r.account_id: r for r in read_rows(session, reads.cases, params)}
    outcome_rows: dict[str, list[Any]] = defaultdict(list)
    for outcome_row in read_rows(session, reads.outcomes, params):
        outcome_rows[outcome_row.account_id].append(outcome_row)
    latest = {} if as_of is not None else _latest_by_account(session, ids)  # unused then
    items: dict[str, list[ProofItemRow]] = defaultdict(list)
    gaps: dict[str, list[GapFlagRow]] = defaultdict(list)
    if plain:
        item_rows: Any = read_rows(session, reads.plain_items, params)
        gap_rows: Any = read_rows(session, reads.plain_gaps, params)
    else:
        item_rows = session.scalars(reads.items, params)
        gap_rows = session.scalars(reads.gaps, params)
    for row in item_rows:
        items[row.account_id].append(row)
    for gap in gap_rows:
        gaps[gap.account_id].append(gap)
    out: dict[str, CurrentProof] = {}
    for account_id, account_row in accounts.items():
        account, value_case = _account_and_case(
            account_row, cases.get(account_id), outcome_rows[account_id]
        )
        day = as_of or latest.get(account_id)
        if day is None:
            out[account_id] = CurrentProof(account, value_case, None, {})
            continue
        periods = periods_at(account, value_case, day)
        open_ended = _open_ended(value_case)
        out[account_id] = _sort(
            CurrentProof(
                account,
                value_case,
                day,
                periods,
                [r for r in items[account_id] if item_is_current(r, periods, day, open_ended)],
                [g for g in gaps[account_id] if gap_is_current(g, periods, open_ended)],
            )
        )
    return out


Scope = Literal["one", "many", "all"]


def _scope(ids: list[str] | None) -> Scope:
    return "all" if ids is None else "one" if len(ids) == 1 else "many"


def _scope_params(ids: list[str] | None) -> dict[str, Any]:
    if ids is None:
        return {}
    return {"account_id": ids[0]} if len(ids) == 1 else {"account_ids": ids}


@dataclass(frozen=True)
class _Reads:
    accounts: Any
    cases: Any
    outcomes: Any
    items: Any
    gaps: Any
    plain_items: Any
    plain_gaps: Any
    swept: Any
    confirmed: Any
    latest_one: Any  # one account: both of the above in one statement


@functools.cache
def _reads(scope: Scope) -> _Reads:
    """The statements of :func:`current_proofs`, built once per scope: one account (every
    account page: a plain ``=``, no expanding IN), some, or all. Building a statement costs
    about as much as running one of these small indexed reads."""

    def scoped(col: Any) -> Any:
        if scope == "one":
            return col == bindparam("account_id")
        return col.in_(bindparam("account_ids", expanding=True)) if scope == "many" else true()

    confirmed = func.max(func.coalesce(ProofItemRow.last_confirmed, ProofItemRow.as_of))
    # Which items and gap flags are current: one rule for the ORM and the plain reads.
    current_items = (scoped(ProofItemRow.account_id), ProofItemRow.status != "superseded")
    current_gaps = (scoped(GapFlagRow.account_id), GapFlagRow.status != "resolved")
    return _Reads(
        accounts=select(AccountRow).where(scoped(AccountRow.id)),
        cases=select(*ValueCaseRow.__table__.c).where(scoped(ValueCaseRow.account_id)),
        outcomes=select(*OutcomeRow.__table__.c).where(scoped(OutcomeRow.account_id)),
        items=select(ProofItemRow).where(*current_items),
        gaps=select(GapFlagRow).where(*current_gaps),
        plain_items=select(*ProofItemRow.__table__.c).where(*current_items),
        plain_gaps=select(*GapFlagRow.__table__.c).where(*current_gaps),
        swept=select(SweepStateRow.account_id, func.max(SweepStateRow.as_of))
        .where(scoped(SweepStateRow.account_id))
        .group_by(SweepStateRow.account_id),
        confirmed=select(ProofItemRow.account_id, confirmed)
        .where(scoped(ProofItemRow.account_id))
        .group_by(ProofItemRow.account_id),
        latest_one=select(
            select(func.max(SweepStateRow.as_of))
            .where(scoped(SweepStateRow.account_id))
            .scalar_subquery(),
            select(confirmed).where(scoped(ProofItemRow.account_id)).scalar_subquery(),
        ),
    )


def _latest_by_account(session: Session, ids: list[str] | None) -> dict[str, dt.date]:
    """Each account's newest sweep date; accounts with drafts but no sweep state (drafts
    written by hand or by an older version) fall back to their newest confirmation."""
    reads, params = _reads(_scope(ids)), _scope_params(ids)
    if ids is not None and len(ids) == 1:  # one statement (every account page)
        swept, last = read_rows(session, reads.latest_one, params).one()
        days = [d for d in (swept, last) if d is not None]
        return {ids[0]: max(days)} if days else {}
    latest: dict[str, dt.date] = {}
    for account_id, day in read_rows(session, reads.swept, params):
        latest[account_id] = day
    for account_id, day in read_rows(session, reads.confirmed, params):
        if day is not None and (account_id not in latest or day > latest[account_id]):
            latest[account_id] = day
    return latest


def latest_as_of(session: Session, account_id: str) -> dt.date | None:
    """The newest date the account was swept at (or its drafts confirmed), if any.

    The default date of every reader: the UI, the API, `clerk items` and the packet.
    """
    return _latest_by_account(session, [account_id]).get(account_id)


def reporting_periods(
    session: Session, account_id: str, as_of: dt.date
) -> tuple[Account, ValueCase, dict[str | None, Period]]:
    """The period of every outcome (and of the payback, key ``None``) at ``as_of``."""
    row = session.get(AccountRow, account_id)
    if row is None:
        raise LookupError(f"unknown account {account_id!r}")
    outcome_rows = list(
        session.scalars(select(OutcomeRow).where(OutcomeRow.account_id == account_id))
    )
    account, value_case = _account_and_case(
        row, session.get(ValueCaseRow, account_id), outcome_rows
    )
    return account, value_case, periods_at(account, value_case, as_of)


@dataclass(frozen=True)
class PeriodOption:
    """One choice of the period selector: reading the account at ``as_of`` reports on
    ``label`` (several outcome period kinds can end on the same day: "Q2 2026 · June 2026")."""

    as_of: dt.date
    label: str
    end: dt.date


# The account's draft periods (kind 0) and sweep dates (kind 1), in one statement.
_PERIODS_AND_SWEEPS: Any = union_all(
    select(literal_column("0"), ProofItemRow.period_start, ProofItemRow.period_end)
    .where(ProofItemRow.account_id == bindparam("account_id"), ProofItemRow.status != "superseded")
    .distinct(),
    select(literal_column("1"), SweepStateRow.as_of, SweepStateRow.as_of).where(
        SweepStateRow.account_id == bindparam("account_id")
    ),
)


def period_options(session: Session, account_id: str) -> list[PeriodOption]:
    """The complete reporting periods the account has drafts for, newest first.

    Each option's date is the newest sweep date that reports on that period (so the newest
    option is the default view), else the period's end.
    """
    labels: dict[dt.date, set[tuple[int, str]]] = defaultdict(set)
    months = {"month": 1, "quarter": 3, "year": 12}
    sweeps = []
    rows = read_rows(session, _PERIODS_AND_SWEEPS, {"account_id": account_id})
    for kind_of_row, start, end in rows:
        if kind_of_row:
            sweeps.append(start)
            continue
        if start is None or end is None:
            continue
        span = (end.year - start.year) * 12 + end.month - start.month
        kind = next((k for k, n in months.items() if n == span and start.day == end.day == 1), None)
        if kind is None:
            continue  # contract to date: shown within whichever period is chosen
        labels[end].add((span, period_label(kind, start, end)))  # type: ignore[arg-type]
    sweeps.sort()
    ends = sorted(labels)
    options = []
    for n, end in enumerate(ends):
        upper = ends[n + 1] if n + 1 < len(ends) else dt.date.max
        days = [d for d in sweeps if end <= d < upper]
        text = " · ".join(name for _span, name in sorted(labels[end], reverse=True))
        options.append(PeriodOption(max(days) if days else end, text, end))
    return sorted(options, key=lambda o: o.end, reverse=True)


def account_document(
    session: Session, account_id: str, as_of: dt.date | None = None
) -> dict[str, Any]:
    """FORMATS §8: the account's current proof items and gap flags at ``as_of``."""
    proof = current_proof(session, account_id, as_of)
    day = proof.as_of or as_of
    return {
        "account": account_id,
        "as_of": day.isoformat() if day else None,
        "proof_items": [item_document(r) for r in proof.items],
        "gap_flags": [gap_document(r) for r in proof.gaps],
    }
