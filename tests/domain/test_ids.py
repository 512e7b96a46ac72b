"""Source ids: built and read back in one place (FORMATS, "Source ids")."""

from __future__ import annotations

import datetime as dt

from clerk.domain.ids import (
    assumption_source_id,
    comment_source_id,
    digest_source_id,
    event_source_id,
    metric_source_id,
    note_source_id,
    outcome_source_id,
    parse_source_id,
    ticket_source_id,
)


def test_built_ids_match_the_contract() -> None:
    assert ticket_source_id(4512) == "ticket:4512"
    assert comment_source_id(4512, 9001) == "ticket:4512#9001"
    assert note_source_id("northwind", "2026-06-12-call.md") == "note:northwind/2026-06-12-call.md"
    assert digest_source_id("acme", "approval.completed", "2026-05") == (
        "digest:acme/approval.completed/2026-05"
    )
    assert event_source_id("lago", "tx_1") == "event:lago/tx_1"
    assert assumption_source_id("hours_saved", "minutes_saved_per_approval") == (
        "assumption:hours_saved.minutes_saved_per_approval"
    )
    q2 = (dt.date(2026, 4, 1), dt.date(2026, 7, 1))
    assert metric_source_id("approval.completed", "mode=auto", *q2) == (
        "metric:approval.completed?mode=auto@2026-04-01..2026-07-01"
    )
    assert metric_source_id("login", "", *q2) == "metric:login@2026-04-01..2026-07-01"


def test_parse_reads_back_what_was_built() -> None:
    q2 = (dt.date(2026, 4, 1), dt.date(2026, 7, 1))
    comment = parse_source_id(comment_source_id("4512", "9001"))
    assert (comment.scheme, comment.ticket_id, comment.comment_id) == ("ticket", "4512", "9001")
    assert comment.thread == "ticket:4512"
    ticket = parse_source_id("ticket:4512")
    assert (ticket.ticket_id, ticket.comment_id, ticket.thread) == ("4512", None, "ticket:4512")
    note = parse_source_id("note:northwind/2026-06-12 call #2.md")
    assert (note.scheme, note.account_id, note.name) == (
        "note",
        "northwind",
        "2026-06-12 call #2.md",
    )
    assert (
        note.thread == "note:northwind/2026-06-12 call #2.md"
    )  # a '#' in a file name is no comment
    digest = parse_source_id("digest:acme/approval.completed/2026-05")
    assert (digest.account_id, digest.name, digest.month) == (
        "acme",
        "approval.completed",
        "2026-05",
    )
    assumption = parse_source_id("assumption:hours_saved.rate")
    assert (assumption.outcome_id, assumption.name, assumption.is_data) == (
        "hours_saved",
        "rate",
        True,
    )
    metric = parse_source_id("metric:approval.completed?mode=auto@2026-04-01..2026-07-01")
    assert (metric.name, metric.is_data) == ("approval.completed", True)
    assert parse_source_id("event:csv/e1").is_data
    outcome = parse_source_id(outcome_source_id("hours_saved", *q2))
    assert outcome.raw == "outcome:hours_saved@2026-04-01..2026-07-01"
    assert (outcome.scheme, outcome.outcome_id, outcome.is_data) == (
        "outcome",
        "hours_saved",
        False,
    )


def test_parse_never_raises_on_other_text() -> None:
    for raw in ("", "plain", "https://example.com/x", "unknown:thing"):
        ref = parse_source_id(raw)
        assert (ref.scheme, ref.thread, ref.is_data) == ("", raw, False)
