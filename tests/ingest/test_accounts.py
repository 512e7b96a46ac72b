"""account.yaml / value_case.yaml: broken files name file, line and field; others still load."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from clerk.ingest import run_ingest
from clerk.ingest.report import Reject
from clerk.store import Store
from clerk.store.tables import AccountRow
from tests.ingest.helpers import add_account, write

GOOD_CASE = """source: Business case
outcomes:
  - id: saved
    title: Hours saved
    category: cost
    unit: hours
    formula: done * minutes / 60
    inputs:
      done: {metric: approval.completed}
      minutes: 16.5
"""


def _case(outcomes: str, payback: str = "") -> str:
    return "outcomes:\n" + outcomes + payback


def _rejects_for(store: Store, tmp_path: Path, value_case: str) -> list[Reject]:
    data = tmp_path / "data"
    add_account(data, "good", org=1, value_case=GOOD_CASE)
    add_account(data, "broken", org=2, value_case=value_case)
    report = run_ingest(data, store)
    with store.session() as session:
        assert session.get(AccountRow, "good") is not None  # the other account still loads
        assert session.get(AccountRow, "broken") is None  # only the broken one is skipped
    assert report.counts["accounts"].new == 1 and report.counts["accounts"].rejected == 1
    assert report.exit_code == 1
    assert all(r.file == "accounts/broken/value_case.yaml" for r in report.rejects)
    return report.rejects


def test_good_value_case_is_stored_with_defaults(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "good", value_case=GOOD_CASE)
    report = run_ingest(data, store)
    assert report.exit_code == 0
    with store.session() as session:
        from clerk.store.tables import OutcomeRow

        row = session.scalars(select(OutcomeRow).where(OutcomeRow.account_id == "good")).first()
        assert row is not None
        inputs = row.data["inputs"]
        assert inputs[0]["aggregation"] == "count"  # defaulted, and stored explicitly
        assert inputs[1] == {**inputs[1], "name": "minutes", "assumption": 16.5}


def test_bad_formula_token_names_file_outcome_and_token(store: Store, tmp_path: Path) -> None:
    case = GOOD_CASE.replace("done * minutes / 60", "done ** 2 + minutes")
    [reject] = _rejects_for(store, tmp_path, case)
    assert reject.field == "outcomes[0].formula"
    assert "outcome saved" in reject.reason and "'**'" in reject.reason
    assert reject.line == 7


def test_undeclared_formula_name(store: Store, tmp_path: Path) -> None:
    case = GOOD_CASE.replace("done * minutes / 60", "done * rate")
    [reject] = _rejects_for(store, tmp_path, case)
    assert "'rate'" in reject.reason and reject.field == "outcomes[0].formula"


def test_sum_without_field(store: Store, tmp_path: Path) -> None:
    case = GOOD_CASE.replace(
        "{metric: approval.completed}", "{metric: approval.completed, aggregation: sum}"
    )
    [reject] = _rejects_for(store, tmp_path, case)
    assert reject.field == "outcomes[0].inputs.done.field"
    assert "sum needs field" in reject.reason
    assert reject.line == 9


def test_unknown_aggregation_names_the_pydantic_location(store: Store, tmp_path: Path) -> None:
    case = GOOD_CASE.replace(
        "{metric: approval.completed}", "{metric: approval.completed, aggregation: median}"
    )
    [reject] = _rejects_for(store, tmp_path, case)
    assert reject.field == "outcomes[0].inputs.done.aggregation"
    assert reject.reason.startswith("outcomes[0].inputs.done.aggregation:")


REFERRING = """  - id: {id}
    title: {id}
    category: cost
    unit: USD
    formula: other
    inputs:
      other: {{outcome: {ref}}}
"""


def test_reference_cycle(store: Store, tmp_path: Path) -> None:
    case = _case(REFERRING.format(id="a", ref="b") + REFERRING.format(id="b", ref="a"))
    [reject] = _rejects_for(store, tmp_path, case)
    assert "cycle" in reject.reason and "a -> b -> a" in reject.reason


def test_reference_to_a_missing_outcome(store: Store, tmp_path: Path) -> None:
    case = _case(REFERRING.format(id="a", ref="ghost"))
    [reject] = _rejects_for(store, tmp_path, case)
    assert reject.field == "outcomes[0].inputs.other.outcome" and "'ghost'" in reject.reason


def test_payback_and_customer_reported_rules(store: Store, tmp_path: Path) -> None:
    case = (
        GOOD_CASE
        + """  - id: close
    title: Close days
    category: productivity
    unit: days
    evidence: customer_reported
    formula: done
payback: {benefit: nothing}
"""
    )
    rejects = _rejects_for(store, tmp_path, case)
    fields = {r.field for r in rejects}
    assert fields == {"outcomes[1].formula", "payback.benefit"}


def test_broken_yaml_and_account_fields(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "good")
    write(data / "accounts" / "syntax" / "account.yaml", "id: syntax\nname: [unclosed\n")
    write(data / "accounts" / "nodate" / "account.yaml", "id: nodate\nname: N\ncontract: {}\n")
    write(
        data / "accounts" / "mismatch" / "account.yaml",
        "id: other\nname: M\ncontract: {start: 2026-01-01}\n",
    )
    write(data / "accounts" / "Bad Name" / "account.yaml", "id: x\n")
    report = run_ingest(data, store)
    found = {r.file: r for r in report.rejects}
    assert "not valid YAML" in found["accounts/syntax/account.yaml"].reason
    assert found["accounts/syntax/account.yaml"].line is not None
    assert found["accounts/nodate/account.yaml"].field == "contract.start"
    assert found["accounts/nodate/account.yaml"].line == 3
    assert found["accounts/mismatch/account.yaml"].field == "id"
    assert "folder name" in found["accounts/Bad Name"].reason
    assert report.counts["accounts"].new == 1 and report.counts["accounts"].rejected == 4


def test_subject_claimed_by_two_accounts(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    add_account(data, "alpha", org=1)
    folder = add_account(data, "beta", org=2)
    path = folder / "account.yaml"
    path.write_text(path.read_text() + "usage_subjects: [alpha]\n")
    report = run_ingest(data, store)
    [reject] = report.rejects
    assert reject.field == "usage_subjects" and "'alpha'" in reject.reason


def test_aliases_are_stored_and_read_back(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    case = GOOD_CASE.replace(
        "    unit: hours\n", "    unit: hours\n    aliases: [AP time, approval hours]\n"
    )
    add_account(data, "good", value_case=case)
    assert run_ingest(data, store).exit_code == 0
    with store.session() as session:
        from clerk.store.rows import stored_value_case

        case_read = stored_value_case(session, "good")
        assert case_read.outcomes[0].aliases == ["AP time", "approval hours"]


@pytest.mark.parametrize(
    ("aliases", "field", "words"),
    [
        ('["month-end", "  "]', "outcomes[0].aliases[1]", "alias 2 is empty"),
        ('["close", "Close"]', "outcomes[0].aliases[1]", "alias 'Close' is given twice"),
        (f'["{"x" * 121}"]', "outcomes[0].aliases[0]", "longer than 120 characters"),
        ("[1]", "outcomes[0].aliases[0]", "valid string"),
        ("month-end", "outcomes[0].aliases", "valid list"),
    ],
)
def test_bad_aliases_name_the_file_line_and_field(
    store: Store, tmp_path: Path, aliases: str, field: str, words: str
) -> None:
    case = GOOD_CASE.replace("    unit: hours\n", f"    unit: hours\n    aliases: {aliases}\n")
    [reject] = _rejects_for(store, tmp_path, case)
    assert reject.field == field
    assert words in reject.reason
    assert reject.line == 7


def test_input_labels_are_kept_and_an_empty_one_is_refused(store: Store, tmp_path: Path) -> None:
    empty = GOOD_CASE.replace(
        "{metric: approval.completed}", "{metric: approval.completed, label: ' '}"
    )
    [reject] = _rejects_for(store, tmp_path / "bad", empty)
    assert reject.field == "outcomes[0].inputs.done.label"
    assert "label must be 1 to 120 characters" in reject.reason
    labelled = GOOD_CASE.replace(
        "{metric: approval.completed}",
        "{metric: approval.completed, label: Approvals completed}",
    )
    data = tmp_path / "ok"
    add_account(data, "labelled", org=3, value_case=labelled)
    assert run_ingest(data, store).exit_code == 0
    with store.session() as session:
        from clerk.store.tables import OutcomeRow

        row = session.get(OutcomeRow, ("labelled", "saved"))
        assert row is not None
        assert row.data["inputs"][0]["label"] == "Approvals completed"
