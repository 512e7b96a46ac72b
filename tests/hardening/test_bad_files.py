"""Adversarial data folders: each bad record is a clear reject (file, line, field), the rest
of the folder still loads, and nothing aborts the ingest (issue 13)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import func, select
from typer.testing import CliRunner

from clerk.cli import app
from clerk.ingest import run_ingest
from clerk.ingest.report import Reject
from clerk.store import Store
from clerk.store.tables import AccountRow, SourceRow, UsageEventRow
from tests.ingest.helpers import add_account, write

runner = CliRunner()

CASE = """source: Business case
outcomes:
  - id: saved
    title: Hours saved
    category: cost
    unit: hours
    target: {target}
    formula: {formula}
    inputs:
      done: {{metric: approval.completed{where}}}
      minutes: {minutes}
{payback}"""


def _case(
    *, formula: str = "done * minutes / 60", minutes: str = "16.5", target: str = "100",
    where: str = "", payback: str = "",
) -> str:  # fmt: skip
    return CASE.format(
        formula=formula, minutes=minutes, target=target, where=where, payback=payback
    )


def _ingest_two(store: Store, tmp_path: Path, broken_case: str) -> list[Reject]:
    data = tmp_path / "data"
    add_account(data, "good", org=1, value_case=_case())
    add_account(data, "broken", org=2, value_case=broken_case)
    report = run_ingest(data, store)
    with store.session() as session:
        assert session.get(AccountRow, "good") is not None
        assert session.get(AccountRow, "broken") is None
    assert report.exit_code == 1
    rejects = report.rejects
    assert rejects and all(r.file == "accounts/broken/value_case.yaml" for r in rejects)
    return rejects


# --- usage CSV >= 1 MiB through the CLI ----------------------------------------------------


def _big_csv(data: Path, rows: int) -> Path:
    add_account(data, "acme")
    lines = ["id,subject,type,time,amount,note"]
    lines += [
        f"r{i},acme,approval.completed,2026-05-{1 + i % 28:02d}T10:00:00Z,{i % 997}.25," + "x" * 40
        for i in range(rows)
    ]
    return write(data / "usage" / "big.csv", "\n".join(lines) + "\n")


@pytest.mark.parametrize("tty", [False, True], ids=["no-tty", "tty"])
def test_multi_mib_csv_ingests_through_the_cli(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tty: bool
) -> None:
    data = tmp_path / "data"
    path = _big_csv(data, 40_000)
    assert path.stat().st_size > 3 * (1 << 20)
    write(data / "tickets" / "t.json", json.dumps({"tickets": []}))
    if tty:  # the progress bar draws only on a terminal: force one
        monkeypatch.setattr(
            "clerk.cli.ingest.console", Console(file=io.StringIO(), force_terminal=True)
        )
    result = runner.invoke(app, ["ingest", str(data), "--no-index"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(UsageEventRow)) == 40_000


# --- numbers in usage data ----------------------------------------------------------------


def test_a_huge_data_value_keeps_the_usage_digests(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "acme")
    events = [
        {"specversion": "1.0", "id": str(i), "source": "s", "type": "paid", "subject": "acme",
         "time": "2026-05-02T10:00:00Z", "data": {"amount": 1e30 if i == 0 else 12.5}}
        for i in range(3)
    ]  # fmt: skip
    write(data / "usage" / "e.jsonl", "\n".join(json.dumps(e) for e in events))
    report = run_ingest(data, store)
    assert report.exit_code == 0 and report.digests == 1
    with store.session() as session:
        digest = session.get(SourceRow, "digest:acme/paid/2026-05")
    assert digest is not None and "max 1,000,000,000,000,000,000,000,000,000,000." in digest.text


@pytest.mark.parametrize("name", ["events.jsonl", "events.json"])
def test_a_byte_order_mark_before_usage_json_is_read_not_rejected(
    store: Store, tmp_path: Path, name: str
) -> None:
    """Excel and PowerShell write UTF-8 with a BOM; it used to make line 1 'not JSON'."""
    data = tmp_path / "data"
    add_account(data, "acme")
    events = [
        {"specversion": "1.0", "id": str(i), "source": "s", "type": "paid", "subject": "acme",
         "time": "2026-05-02T10:00:00Z", "data": {"amount": 12.5}}
        for i in range(3)
    ]  # fmt: skip
    if name.endswith(".jsonl"):
        body = "\n".join(json.dumps(e) for e in events) + "\n"
    else:
        body = json.dumps(events)
    write(data / "usage" / name, b"\xef\xbb\xbf" + body.encode())
    report = run_ingest(data, store)
    assert report.rejects == [] and report.exit_code == 0
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(UsageEventRow)) == 3


# --- formulas ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("+".join(["done"] * 60_000), "at most 2,000 allowed"),
        ("-" * 5_000 + "done", "at most 2,000 allowed"),
        ("-" * 500 + "done", "nested more than 64 levels"),
        ("done * " + "9" * 400, "is larger than"),
        ("min + done", "min is a function"),
    ],
    ids=["60k-terms", "5k-unary-minus", "500-unary-minus", "400-digit-literal", "bare-min"],
)
def test_hostile_formula_is_a_reject_naming_file_line_field(
    store: Store, tmp_path: Path, formula: str, expected: str
) -> None:
    rejects = _ingest_two(store, tmp_path, _case(formula=json.dumps(formula)))
    assert len(rejects) == 1
    assert rejects[0].field == "outcomes[0].formula" and rejects[0].line == 8
    assert expected in rejects[0].reason


def test_formula_that_overflows_is_a_gap_not_inf() -> None:
    from clerk.domain.formula import Uncomputable, parse

    formula = parse("done * 1e15 * 1e15 * 1e15")
    with pytest.raises(Uncomputable, match="not a finite number"):
        formula.evaluate({"done": 1e300})
    with pytest.raises(Uncomputable, match="not a finite number"):
        formula.evaluate({"done": float("nan")})


# --- numbers in value cases ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "field", "expected"),
    [
        (_case(minutes=".inf"), "outcomes[0].inputs.minutes.assumption", "finite"),
        (_case(minutes=".nan"), "outcomes[0].inputs.minutes.assumption", "finite"),
        (_case(target="-50"), "outcomes[0].target", "negative"),
        (_case(target=".inf"), "outcomes[0].target", "finite"),
        (_case(payback="payback: {benefit: saved, investment: 0}"), "payback.investment",
         "positive"),
        (_case(payback="payback: {benefit: saved, investment: -5, forecast_months: 6}"),
         "payback.investment", "positive"),
        (_case(payback="payback: {benefit: saved, forecast_months: .nan}"),
         "payback.forecast_months", "positive"),
    ],
    ids=["inf-assumption", "nan-assumption", "negative-target", "inf-target", "investment-0",
         "investment-negative", "nan-forecast"],
)  # fmt: skip
def test_value_case_numbers_that_give_false_results_are_rejected(
    store: Store, tmp_path: Path, case: str, field: str, expected: str
) -> None:
    rejects = _ingest_two(store, tmp_path, case)
    assert [r.field for r in rejects] == [field]
    assert expected in rejects[0].reason and rejects[0].line is not None


FRONT = "date: 2026-05-01\nkind: meeting\nauthor: a@b.c\n"

# --- YAML alias bombs ----------------------------------------------------------------------

BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
)


def test_alias_bomb_in_a_value_case_is_a_reject(store: Store, tmp_path: Path) -> None:
    case = BOMB + "\n" + _case(where=", where: {mode: *a8}")
    assert len(case) < 2_000  # sub-kilobyte bomb plus an ordinary value case
    rejects = _ingest_two(store, tmp_path, case)
    assert "alias" in rejects[0].reason and rejects[0].line is not None


def test_recursive_alias_is_a_reject(store: Store, tmp_path: Path) -> None:
    rejects = _ingest_two(store, tmp_path, "loop: &x [*x]\n" + _case())
    assert "contains it" in rejects[0].reason


def test_alias_bomb_in_note_front_matter_rejects_that_note_only(
    store: Store, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    folder = add_account(data, "acme")
    front = BOMB.replace("\n", "\n") + "\ndate: 2026-05-01\nkind: meeting\nauthor: a@b.c\n"
    write(folder / "notes" / "bomb.md", f"---\n{front}attendees: *a8\n---\nHello.\n")
    write(
        folder / "notes" / "ok.md",
        "---\ndate: 2026-05-01\nkind: meeting\nauthor: a@b.c\n---\nFine.\n",
    )
    report = run_ingest(data, store)
    assert report.counts["notes"].new == 1 and report.counts["notes"].rejected == 1
    (reject,) = report.rejects
    assert reject.file == "accounts/acme/notes/bomb.md" and "alias" in reject.reason


# --- symlinks ------------------------------------------------------------------------------


def test_symlinks_out_of_the_data_folder_are_never_read(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = add_account(data, "acme")
    outside = tmp_path / "outside"
    secret_note = write(
        outside / "secret.md",
        f'---\n{FRONT}---\nCFO said "we saved 9,999 hours".\n',
    )
    secret_events = write(
        outside / "events.jsonl",
        json.dumps({"specversion": "1.0", "id": "1", "source": "s", "type": "t",
                    "subject": "acme", "time": "2026-05-01T00:00:00Z"}),
    )  # fmt: skip
    (folder / "notes").mkdir()
    os.symlink(secret_note, folder / "notes" / "secret.md")
    (data / "usage").mkdir()
    os.symlink(secret_events, data / "usage" / "events.jsonl")
    os.symlink(outside, data / "accounts" / "evil")
    # A link that stays inside the folder is an ordinary file.
    write(folder / "kept.md", f"---\n{FRONT}---\nok\n")
    os.symlink(folder / "kept.md", folder / "notes" / "inside.md")

    report = run_ingest(data, store)
    files = sorted(r.file for r in report.rejects)
    assert files == ["accounts/acme/notes/secret.md", "accounts/evil", "usage/events.jsonl"]
    assert all("outside the data folder" in r.reason for r in report.rejects)
    with store.session() as session:
        texts = [s.text for s in session.scalars(select(SourceRow))]
        assert session.scalar(select(func.count()).select_from(UsageEventRow)) == 0
    assert not any("9,999" in t for t in texts)
    assert report.counts["notes"].new == 1  # the inside link was read
