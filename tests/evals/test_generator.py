"""The generator: deterministic, FORMATS-shaped, and its planted truth holds on the files.

The round-trip tests read the written files back with a parser of their own (CloudEvents,
Lago and CSV, deduplicated by identity) and recompute planted values from them, so a writer
bug cannot hide behind the generator's in-memory events.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from clerk.domain.models import GAP_KINDS, Account, Outcome, OutcomeInput, ValueCase
from evals.generator import generate
from evals.synth import Event, Window, aggregate, period_before, reporting_period

AS_OF = dt.date(2026, 7, 1)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("gen") / "data"
    return out, generate(out, 8, seed=11, as_of=AS_OF)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "a", 3, seed=5, as_of=AS_OF)
    generate(tmp_path / "b", 3, seed=5, as_of=AS_OF)
    generate(tmp_path / "c", 3, seed=6, as_of=AS_OF)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def _events(folder: Path) -> list[Event]:
    """Every valid event in usage/, first occurrence of each identity, as ingest reads it."""
    seen: dict[str, Event] = {}
    for path in sorted((folder / "usage").iterdir()):
        if path.suffix == ".jsonl":
            for line in path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if "transaction_id" in row:
                    if not isinstance(row.get("timestamp"), int):
                        continue
                    key = f"event:lago/{row['transaction_id']}"
                    event = Event(
                        row["code"],
                        row["external_customer_id"],
                        dt.datetime.fromtimestamp(row["timestamp"], dt.UTC),
                        row["properties"],
                    )
                else:
                    if "type" not in row:
                        continue
                    key = f"event:{row['source']}/{row['id']}"
                    event = Event(
                        row["type"],
                        row["subject"],
                        dt.datetime.fromisoformat(row["time"]),
                        row["data"],
                    )
                seen.setdefault(key, event)
        elif path.suffix == ".csv":
            with path.open() as fh:
                for row in csv.DictReader(fh):
                    try:
                        time = dt.datetime.fromisoformat(row.pop("time"))
                    except ValueError:
                        continue
                    data = {
                        k: _csv_value(v)
                        for k, v in row.items()
                        if k not in ("id", "subject", "type")
                    }
                    seen.setdefault(
                        f"event:csv/{row['id']}", Event(row["type"], row["subject"], time, data)
                    )
    return list(seen.values())


def _csv_value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _load(folder: Path, account: str) -> tuple[Account, ValueCase]:
    base = folder / "accounts" / account
    acc = Account.model_validate(yaml.safe_load((base / "account.yaml").read_text()))
    raw = yaml.safe_load((base / "value_case.yaml").read_text())
    outcomes = [
        Outcome.model_validate(
            {
                **o,
                "inputs": [
                    OutcomeInput.model_validate({"name": n, **spec})
                    for n, spec in o.get("inputs", {}).items()
                ],
            }
        )
        for o in raw["outcomes"]
    ]
    return acc, ValueCase(
        account_id=account, source=raw.get("source"), outcomes=outcomes, payback=raw.get("payback")
    )


def test_files_are_in_the_data_contract(data: tuple[Path, dict[str, Any]]) -> None:
    folder, expected = data
    assert expected == json.loads((folder / "expected.json").read_text())
    assert expected["as_of"] == AS_OF.isoformat()
    shapes = set()
    for line in (folder / "usage" / "events-1.jsonl").read_text().splitlines():
        shapes.add("lago" if '"transaction_id"' in line else "cloudevents")
    assert shapes == {"lago", "cloudevents"}
    assert list((folder / "usage").glob("*.csv")), "no CSV export written"
    tickets = json.loads(next((folder / "tickets").glob("*.json")).read_text())["tickets"]
    assert {"id", "organization_id", "requester_id", "comments", "status"} <= set(tickets[0])
    for account, exp in expected["accounts"].items():
        acc, vc = _load(folder, account)
        assert acc.id == account
        for flag in exp["gap_flags"] + exp["optional_gap_flags"]:
            assert flag["kind"] in GAP_KINDS
        outcome_ids = {o.id for o in vc.outcomes}
        for item in exp["proof_items"]:
            assert item["outcome"] is None or item["outcome"] in outcome_ids


def test_every_planted_case_is_covered(data: tuple[Path, dict[str, Any]]) -> None:
    folder, expected = data
    kinds = {f["kind"] for a in expected["accounts"].values() for f in a["gap_flags"]}
    # unconfirmed_by_customer comes from share links in the review UI, never from a data folder
    assert kinds == set(GAP_KINDS) - {"unconfirmed_by_customer"}
    aggregations, where_types, periods, directions, refs = set(), set(), set(), set(), 0
    emails = 0
    for account in expected["accounts"]:
        acc, vc = _load(folder, account)
        for o in vc.outcomes:
            periods.add(o.period)
            directions.add(o.direction)
            for i in o.inputs:
                aggregations.add(i.aggregation)
                where_types |= {type(v).__name__ for v in i.where.values()}
                refs += i.outcome is not None
        for note in (folder / "accounts" / account / "notes").glob("*.md"):
            head = yaml.safe_load(note.read_text().split("---")[1])
            domain = str(head["author"]).split("@")[-1]
            emails += head["kind"] == "email" and domain in acc.customer_domains
    assert {"count", "sum", "max", "latest", "unique_count"} <= aggregations
    assert where_types == {"str", "bool", "int"}
    assert periods == {"month", "quarter", "year", "contract"}
    assert directions == {"increase", "decrease"} and refs > 0 and emails > 0
    items = [i for a in expected["accounts"].values() for i in a["proof_items"]]
    assert {"calculation", "customer_statement", "payback"} == {i["kind"] for i in items}
    assert any(a["injected_numbers"] for a in expected["accounts"].values())
    counts = expected["ingest"]
    assert min(counts.values()) > 0


def test_planted_values_hold_on_the_written_files(data: tuple[Path, dict[str, Any]]) -> None:
    """Single-input calculations recomputed from the files equal expected.json's values,
    and the planted usage drops sit on the right side of 30 %."""
    folder, expected = data
    events = _events(folder)
    checked = drops = 0
    for account, exp in expected["accounts"].items():
        acc, vc = _load(folder, account)
        mine = [e for e in events if e.subject in acc.usage_subjects]
        for item in exp["proof_items"]:
            outcome = vc.outcome(item["outcome"]) if item["outcome"] else None
            if outcome is None or item["kind"] != "calculation" or len(outcome.inputs) != 1:
                continue
            (inp,) = outcome.inputs
            window = reporting_period(outcome.period, AS_OF, acc.contract.start)
            value = aggregate(
                mine, str(inp.metric), str(inp.aggregation), inp.field, inp.where, window
            )
            assert value == pytest.approx(item["delivered"], rel=1e-9), (account, outcome.id)
            checked += 1
        for outcome in vc.outcomes:
            metric = next((i for i in outcome.inputs if i.metric), None)
            if metric is None or outcome.period == "contract":
                continue
            now = reporting_period(outcome.period, AS_OF, acc.contract.start)
            before = period_before(outcome.period, now)
            assert isinstance(before, Window)
            args = (mine, str(metric.metric), str(metric.aggregation), metric.field, metric.where)
            v_now, v_before = aggregate(*args, now), aggregate(*args, before)
            if not v_now or not v_before:
                continue
            fall = (v_before - v_now) / v_before
            flagged = {"outcome": outcome.id, "kind": "usage_drop"} in exp["gap_flags"]
            assert flagged == (fall >= 0.30), (account, outcome.id, fall)
            if "drop_below" in exp["features"] and 0.28 <= fall < 0.30:
                drops += 1
            if flagged:
                drops += 1
    assert checked >= 8 and drops >= 2


def test_statement_dates_match_stale_flags(data: tuple[Path, dict[str, Any]]) -> None:
    folder, expected = data
    for account, exp in expected["accounts"].items():
        stale = {f["outcome"] for f in exp["gap_flags"] if f["kind"] == "stale_evidence"}
        for item in exp["proof_items"]:
            if item["kind"] != "customer_statement":
                continue
            (source,) = item["sources"]
            if source.startswith("note:"):
                text = folder / "accounts" / account / "notes" / source.split("/", 1)[1]
                day = yaml.safe_load(text.read_text().split("---")[1])["date"]
                age = (AS_OF - day).days
                assert (age > 90) == (item["outcome"] in stale), (account, source, age)
