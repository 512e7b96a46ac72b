"""Writes generated accounts as a FORMATS §1 data folder and counts what ingest must report.

Usage events go out in all three shapes: CloudEvents and Lago mixed in the same JSON Lines
files, and CSV exports (one per recipe, so every row has the same columns). On top of the
planted events the writer adds exact duplicates (same identity, counted once), malformed rows
(rejected) and events whose subject routes to no account (unrouted), and returns the counts
an ingest of the folder must print (``new`` includes unrouted events, which are stored).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from evals.plans import AccountOut
from evals.synth import Event

BOOL_OR_NUMBER_FILTERS = {"revenue", "backlog", "adoption"}


def _iso(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _jsonl(e: Event, source: str) -> str:
    if e.shape == "lago":
        row: dict[str, Any] = {
            "transaction_id": e.ident,
            "external_customer_id": e.subject,
            "code": e.type,
            "timestamp": int(e.time.timestamp()),
            "properties": e.data,
        }
    else:
        row = {
            "specversion": "1.0",
            "id": e.ident,
            "source": source,
            "type": e.type,
            "subject": e.subject,
            "time": _iso(e.time),
            "data": e.data,
        }
    return json.dumps(row)


def _malformed_jsonl(k: int, subject: str) -> list[str]:
    """Three rows ingest must reject: truncated JSON, no type, a timestamp that is no time."""
    return [
        '{"specversion": "1.0", "id": "evt-broken-' + str(k) + '", "source": "gen", "type": ',
        json.dumps(
            {
                "specversion": "1.0",
                "id": f"evt-notype-{k}",
                "source": "gen",
                "subject": subject,
                "time": "2026-03-02T10:00:00Z",
                "data": {},
            }
        ),
        json.dumps(
            {
                "transaction_id": f"tx-badtime-{k}",
                "external_customer_id": subject,
                "code": "report.exported",
                "timestamp": "yesterday",
                "properties": {},
            }
        ),
    ]


def write_folder(
    out: Path, accounts: Sequence[AccountOut], rng: random.Random, as_of: dt.date
) -> dict[str, int]:
    """Write everything under ``out``; return the expected ingest counts."""
    (out / "usage").mkdir(parents=True, exist_ok=True)
    (out / "tickets").mkdir(parents=True, exist_ok=True)
    for a in accounts:
        folder = out / "accounts" / a.id
        (folder / "notes").mkdir(parents=True, exist_ok=True)
        (folder / "account.yaml").write_text(
            yaml.safe_dump(a.account, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        (folder / "value_case.yaml").write_text(
            yaml.safe_dump(a.value_case, sort_keys=False, allow_unicode=True), encoding="utf-8"
        )
        for name, text in a.sink.notes.items():
            (folder / "notes" / name).write_text(text, encoding="utf-8")

    n_files = max(1, min(4, len(accounts) // 10 + 1))
    jsonl: list[list[str]] = [[] for _ in range(n_files)]
    csv_rows: dict[str, list[Event]] = {}
    seq = 0
    new = 0
    for idx, a in enumerate(accounts):
        source = f"{a.id.split('-')[0]}-app"
        for e in a.events:
            seq += 1
            new += 1
            recipe_key = _recipe_key(e)
            if recipe_key in a.csv_recipes and recipe_key not in BOOL_OR_NUMBER_FILTERS:
                e.shape, e.ident = "csv", f"row-{seq:07d}"
                csv_rows.setdefault(recipe_key, []).append(e)
                continue
            if rng.random() < 0.3:
                e.shape, e.ident = "lago", f"tx-{seq:07d}"
            else:
                e.shape, e.ident = "cloudevents", f"evt-{seq:07d}"
            jsonl[idx % n_files].append(_jsonl(e, source))

    duplicates = rejected = unrouted = 0
    for k, lines in enumerate(jsonl):
        dups = [line for line in lines if rng.random() < 0.01]
        duplicates += len(dups)
        for j in range(rng.randint(3, 6)):
            seq += 1
            ghost = Event(
                "report.exported",
                f"ghost-{k}-{j}",
                dt.datetime(as_of.year, as_of.month, 1, 9, j, tzinfo=dt.UTC)
                - dt.timedelta(days=20),
                {"format": "csv"},
                "cloudevents",
                f"evt-{seq:07d}",
            )
            lines.append(_jsonl(ghost, "gen"))
            unrouted += 1
            new += 1
        broken = _malformed_jsonl(k, accounts[0].id if accounts else "x")
        rejected += len(broken)
        lines.extend(broken)
        lines.extend(dups)
        rng.shuffle(lines)
        (out / "usage" / f"events-{k + 1}.jsonl").write_text(
            "\n".join(lines) + "\n", encoding="utf-8"
        )

    for recipe_key, rows in sorted(csv_rows.items()):
        fields = sorted({f for e in rows for f in e.data})
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["id", "subject", "type", "time", *fields])
        body: list[list[Any]] = [
            [e.ident, e.subject, e.type, _iso(e.time), *[e.data.get(f, "") for f in fields]]
            for e in rows
        ]
        copies = [row for row in body if rng.random() < 0.01]
        duplicates += len(copies)
        bad: list[Any] = [
            f"bad-{recipe_key}",
            rows[0].subject,
            rows[0].type,
            "not-a-time",
            *["" for _ in fields],
        ]
        rejected += 1
        body = body + copies + [bad]
        rng.shuffle(body)
        writer.writerows(body)
        (out / "usage" / f"{recipe_key}-export.csv").write_text(buf.getvalue(), encoding="utf-8")

    n_ticket_files = max(1, min(3, len(accounts) // 20 + 1))
    bundles: list[list[dict[str, Any]]] = [[] for _ in range(n_ticket_files)]
    for idx, a in enumerate(accounts):
        bundles[idx % n_ticket_files].extend(a.sink.tickets)
    for k, tickets in enumerate(bundles):
        (out / "tickets" / f"zendesk-export-{k + 1}.json").write_text(
            json.dumps({"tickets": tickets}, indent=1) + "\n", encoding="utf-8"
        )
    return {
        "new_events": new,
        "duplicates": duplicates,
        "rejected_rows": rejected,
        "unrouted_events": unrouted,
    }


def _recipe_key(e: Event) -> str:
    """The recipe an event belongs to, read from its type (recipes own their types)."""
    t = e.type
    if t.endswith(".processed"):
        return "hours"
    if t.endswith(".resolved"):
        return "rate"
    if t == "report.exported":
        return "reports"
    if t.endswith(".page_timing"):
        return "peak"
    if t.endswith(".backlog_snapshot"):
        return "backlog"
    if t.startswith("billing."):
        return "revenue"
    return "adoption"
