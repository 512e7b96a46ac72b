"""Usage exports as their systems write them: one data folder per shape, outcomes by hand.

Every fixture under ``tests/ingest/fixtures/usage/<system>/`` is written from the system's
public docs (field names, wrappers, time formats, string numbers) and holds the same six
approvals for Northwind, one of them in two files, one in Q1, plus records that are not usage
(Segment identify, Amplitude $identify). Where the system ships files compressed (Segment's
S3 destination gzips, Amplitude's Export API zips gzipped files, Mixpanel gzips on request)
the test compresses the fixture the same way.

Hand-computed for Q2 2026 (approvals e1, e2, e4, e6 are `auto`; e3 is manual; e5 is in Q1):
- approvals automated: 4 -> hours saved 4 * 30 / 60 = 2 -> cost recovered 2 * 60 = 120 USD
- amount approved: "1250.00" + "980.50" + "12" + "1e3" + 2500 = 5,742.5
- approvers: u-1, u-2, u-3 = 3
- payback: 1,200 / (120 / 3 months) = 30 months
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import shutil
import zipfile
from pathlib import Path

import pytest

from clerk.ingest import run_ingest
from clerk.store import Store
from clerk.sweep.account import prepare
from tests.ingest.helpers import write

FIXTURES = Path(__file__).parent / "fixtures" / "usage"
AS_OF = dt.date(2026, 7, 1)

ACCOUNT = """id: northwind
name: Northwind Logistics
csm: dana@vendor.example
contract: {start: 2026-01-01, renewal: 2027-01-01, currency: USD}
usage_subjects: [northwind, sub-northwind-2026, grp_northwind, cus_NciAYcXfLnqBoz]
"""

VALUE_CASE = """source: "Business case v1"
outcomes:
  - id: hours_saved
    title: Hours saved on invoice approvals
    category: cost
    unit: hours
    period: quarter
    target: 1
    formula: approvals * minutes_per_approval / 60
    inputs:
      approvals: {{metric: approval.completed, aggregation: count, where: {{mode: auto}}}}
      minutes_per_approval: {{assumption: 30, unit: minutes, source: "Time study"}}
  - id: amount_approved
    title: Invoice amount approved
    category: revenue
    unit: USD
    period: quarter
    target: 1000
    formula: amount
    inputs:
      amount: {{metric: approval.completed, aggregation: sum, field: {amount}}}
  - id: approvers
    title: Approvers working in the product
    category: adoption
    unit: people
    period: quarter
    target: 2
    formula: people
    inputs:
      people: {{metric: approval.completed, aggregation: unique_count, field: approver}}
  - id: cost_recovered
    title: Labour cost recovered
    category: cost
    unit: USD
    period: quarter
    target: 100
    formula: hours_saved * rate
    inputs:
      hours_saved: {{outcome: hours_saved}}
      rate: {{assumption: 60, unit: USD/hour, source: "Finance"}}
payback:
  benefit: cost_recovered
  investment: 1200
"""


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _usage_files(system: str, usage: Path) -> None:
    """The fixture files of one system, laid out (and compressed) as the system exports them."""
    src = FIXTURES / system
    if system == "segment":  # the S3 destination writes gzipped JSON lines
        s3 = (src / "segment-s3-2026-05.jsonl").read_bytes()
        write(usage / "segment-s3-2026-05.jsonl.gz", _gz(s3))
        shutil.copy(src / "segment-webhook-2026-06.jsonl", usage)
    elif system == "amplitude":  # Export API: a zip of gzipped JSON lines, one per hour
        first = {
            f"418823/{p.name}.gz": _gz(p.read_bytes())
            for p in sorted(src.glob("418823_2026-0[45]*.json"))
        }
        write(usage / "amplitude-export-q2.zip", _zip(first))
        last = src / "418823_2026-06-30_23#0.json"
        write(
            usage / "amplitude-export-late.zip",
            _zip({f"418823/{last.name}.gz": _gz(last.read_bytes())}),
        )
    elif system == "mixpanel":  # the second export asked for Accept-Encoding: gzip
        files = sorted(src.iterdir())
        shutil.copy(files[0], usage)
        write(usage / (files[1].name + ".gz"), _gz(files[1].read_bytes()))
    else:
        for path in sorted(src.iterdir()):
            shutil.copy(path, usage)


def _folder(tmp_path: Path, system: str) -> Path:
    data = tmp_path / "data"
    folder = data / "accounts" / "northwind"
    write(folder / "account.yaml", ACCOUNT)
    amount = "value" if system == "stripe" else "amount"
    write(folder / "value_case.yaml", VALUE_CASE.format(amount=amount))
    usage = data / "usage"
    usage.mkdir(parents=True)
    _usage_files(system, usage)
    return data


SHAPES = {
    "openmeter": {
        "openmeter-batch.json": "CloudEvents (batch array), 5 events",
        "openmeter-list-export.json": "CloudEvents (list export), 2 events",
    },
    "lago": {
        "lago-events-list.json": "Lago events (list export), 5 events",
        "lago-event-bodies.jsonl": (
            "Lago events (event body), 1 event; Lago events (events body), 1 event"
        ),
    },
    "segment": {
        "segment-s3-2026-05.jsonl.gz": (
            "Segment track calls, 5 events; 1 Segment identify call left out"
        ),
        "segment-webhook-2026-06.jsonl": "Segment track calls, 2 events",
    },
    "amplitude": {
        "amplitude-export-q2.zip": (
            "Amplitude export, 5 events; 1 Amplitude $identify record left out"
        ),
        "amplitude-export-late.zip": "Amplitude export, 2 events",
    },
    "mixpanel": {
        "mixpanel-export-2026-04-01-2026-05-31.jsonl": "Mixpanel raw export, 5 events",
        "mixpanel-export-2026-05-20-2026-06-30.jsonl.gz": "Mixpanel raw export, 2 events",
    },
    "stripe": {
        "meter_events_v1.jsonl": "Stripe meter events (v1), 5 events",
        "meter_events_v2.jsonl": "Stripe meter events (v2), 2 events",
    },
    "csv": {
        "excel-eu.csv": "CSV (';'-separated), 5 events",
        "plain.csv": "CSV, 2 events",
    },
}


@pytest.mark.parametrize("system", list(SHAPES))
def test_export_ingests_as_exported_and_outcomes_match_hand_figures(
    store: Store, tmp_path: Path, system: str
) -> None:
    data = _folder(tmp_path, system)
    report = run_ingest(data, store)

    events = report.counts["events"]
    assert report.rejects == [], [r.reason for r in report.rejects]
    # e1..e6 once each; e4 is in both files of the system and counts once.
    assert (events.new, events.duplicates, events.rejected, events.unrouted) == (6, 1, 0, 0)
    assert report.exit_code == 0
    assert {k.removeprefix("usage/"): v for k, v in report.file_shapes.items()} == SHAPES[system]

    with store.session() as session:
        prepared = prepare(session, "northwind", AS_OF)
    results = prepared.results
    assert results["hours_saved"].delivered == pytest.approx(2.0)
    assert results["amount_approved"].delivered == pytest.approx(5742.5)
    assert results["approvers"].delivered == 3
    assert results["cost_recovered"].delivered == pytest.approx(120.0)
    assert prepared.payback is not None and prepared.payback.months == pytest.approx(30.0)
    amount = results["amount_approved"].inputs[0]
    assert amount.non_numeric is None  # every amount, string or not, was a number


def test_a_second_ingest_of_the_same_exports_adds_nothing(store: Store, tmp_path: Path) -> None:
    data = _folder(tmp_path, "amplitude")
    run_ingest(data, store)
    again = run_ingest(data, store)
    assert again.counts["events"].new == 0
    assert again.counts["events"].skipped_files == 2
    assert again.exit_code == 0
