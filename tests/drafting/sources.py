"""Build Source objects and DraftRequests by hand, the way docs/ARCHITECTURE.md says ingest does.

Kept independent of clerk.ingest on purpose: the drafter's tests pin the source contract
(note text = the whole file, customer spans = insides of quotation marks or a customer's
whole email body; a ticket's text = subject + description; comments by the requester are
the customer's), so a change on either side shows up here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from clerk.domain.models import (
    Account,
    Evidence,
    Outcome,
    OutcomeInput,
    Period,
    Source,
    Span,
    ValueCase,
)
from clerk.drafting.base import DraftRequest, DraftResult
from clerk.drafting.extractive import ExtractiveDrafter

EXAMPLE = Path(__file__).resolve().parents[2] / "clerk" / "demo_data"
Q2_2026 = Period(start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 1), label="Q2 2026")
_QUOTED = re.compile(r'"([^"\n]+)"|“([^”\n]+)”')


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def note_source(account: Account, name: str, text: str) -> Source:
    """A note: whole file as text; customer spans per FORMATS §6."""
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    body_start = text.index(body)
    author = str(meta.get("author") or "")
    domain = author.rsplit("@", 1)[-1]
    if meta.get("kind") == "email" and domain in account.customer_domains:
        spans = [Span(start=body_start, end=len(text.rstrip()))]
    else:
        spans = [
            Span(
                start=m.start(1) if m.group(1) else m.start(2),
                end=m.end(1) if m.group(1) else m.end(2),
            )
            for m in _QUOTED.finditer(text, body_start)
        ]
    date = meta["date"]
    return Source(
        id=f"note:{account.id}/{name}",
        account_id=account.id,
        kind="note",
        title=name,
        text=text,
        date=dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC),
        author=author,
        customer_spans=spans,
        meta={
            "kind": meta.get("kind"),
            "attendees": meta.get("attendees") or [],
            "body_start": body_start,
        },
    )


def ticket_sources(account_id: str, ticket: dict[str, Any]) -> list[Source]:
    """A ticket and its comments, per docs/ARCHITECTURE.md."""
    subject, description = ticket["subject"], ticket.get("description") or ""
    text = f"{subject}\n\n{description}"
    spans = [Span(start=0, end=len(subject)), Span(start=len(subject) + 2, end=len(text))]
    rating = ticket.get("satisfaction_rating") or {}
    if rating.get("comment"):
        head = f"\n\nSatisfaction ({rating['score']}): "
        spans.append(
            Span(start=len(text) + len(head), end=len(text) + len(head) + len(rating["comment"]))
        )
        text += head + rating["comment"]
    tid = ticket["id"]
    out = [
        Source(
            id=f"ticket:{tid}",
            account_id=account_id,
            kind="ticket",
            title=subject,
            text=text,
            date=utc(ticket["created_at"]),
            customer_spans=spans,
            meta={
                "status": ticket.get("status"),
                "requester_id": ticket.get("requester_id"),
                "satisfaction_score": rating.get("score"),
                "updated_at": ticket.get("updated_at"),
            },
        )
    ]
    for c in ticket.get("comments") or []:
        body = c.get("plain_body") or c.get("body") or ""
        mine = c["author_id"] == ticket.get("requester_id")
        out.append(
            Source(
                id=f"ticket:{tid}#{c['id']}",
                account_id=account_id,
                kind="ticket_comment",
                title=subject,
                text=body,
                date=utc(c["created_at"]),
                public=bool(c.get("public", True)),
                customer_spans=[Span(start=0, end=len(body))] if mine else [],
                meta={
                    "ticket_id": tid,
                    "ticket_subject": subject,
                    "ticket_status": ticket.get("status"),
                    "author_id": c["author_id"],
                },
            )
        )
    return out


def example_account() -> Account:
    return Account(**yaml.safe_load((EXAMPLE / "accounts/northwind/account.yaml").read_text()))


def example_value_case() -> ValueCase:
    raw = yaml.safe_load((EXAMPLE / "accounts/northwind/value_case.yaml").read_text())
    outcomes = []
    for o in raw["outcomes"]:
        inputs = [OutcomeInput(name=k, **v) for k, v in (o.pop("inputs", None) or {}).items()]
        outcomes.append(Outcome(**o, inputs=inputs))
    return ValueCase(
        account_id="northwind",
        source=raw.get("source"),
        outcomes=outcomes,
        payback=raw.get("payback"),
    )


def example_sources() -> dict[str, Source]:
    account = example_account()
    sources: list[Source] = []
    for path in sorted((EXAMPLE / "accounts/northwind/notes").glob("*.md")):
        sources.append(note_source(account, path.name, path.read_text()))
    export = json.loads((EXAMPLE / "tickets/zendesk-export.json").read_text())
    for ticket in export["tickets"]:
        sources += ticket_sources(account.id, ticket)
    return {s.id: s for s in sources}


def evidence_for(sources: dict[str, Source]) -> list[Evidence]:
    """Every source as one whole-text passage, as a generous retriever would hand them over."""
    return [
        Evidence(
            source_id=s.id,
            kind=s.kind,
            text=s.text,
            start=0,
            end=len(s.text),
            date=s.date,
            customer=bool(s.customer_spans),
        )
        for s in sources.values()
    ]


def request_for(
    outcome_id: str, sources: dict[str, Source] | None = None, **extra: Any
) -> DraftRequest:
    sources = example_sources() if sources is None else sources
    outcome = example_value_case().outcome(outcome_id)
    assert outcome is not None
    fields: dict[str, Any] = {
        "account": example_account(),
        "outcome": outcome,
        "period": Q2_2026,
        "as_of": dt.date(2026, 7, 1),
        "evidence": evidence_for(sources),
        "sources": sources,
        "target": outcome.target,
    }
    fields.update(extra)
    return DraftRequest(**fields)


def request_about(
    outcome: Outcome, sources: Iterable[Source], siblings: Iterable[Outcome] = ()
) -> DraftRequest:
    """A request for any ``outcome`` of the example account over ``sources`` (all handed
    over as evidence), beside the account's other outcomes ``siblings``."""
    by_id = {s.id: s for s in sources}
    return DraftRequest(
        account=example_account(),
        outcome=outcome,
        period=Q2_2026,
        as_of=dt.date(2026, 7, 1),
        evidence=evidence_for(by_id),
        sources=by_id,
        siblings=[o for o in siblings if o.id != outcome.id],
    )


def draft_extractive(request: DraftRequest) -> DraftResult:
    return asyncio.run(ExtractiveDrafter().draft(request))
