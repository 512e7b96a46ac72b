"""The customer's colleague on a ticket is the customer: ingest, sweep, and the proof document."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from clerk.ingest import run_ingest
from clerk.review.current import account_document
from clerk.store import Store
from clerk.store.tables import SourceRow
from clerk.sweep.run import run_sweep
from tests.ingest.zendesk.test_shapes import DATA

AS_OF = dt.date(2026, 7, 1)


def test_cfo_comment_becomes_a_customer_statement(
    store: Store, example_dir: Path, tmp_path: Path
) -> None:
    # The example account without its notes (they hold another close-days quote), and the
    # Singer tap-zendesk export, where the CFO (an end-user of the organization, not the
    # requester) wrote "We closed the April books in six days" as HTML only.
    data = tmp_path / "data"
    shutil.copytree(
        example_dir / "accounts", data / "accounts", ignore=shutil.ignore_patterns("notes")
    )
    shutil.copytree(DATA / "singer" / "tickets", data / "tickets")
    report = run_ingest(data, store)
    assert report.counts["tickets"].new == 4 and report.exit_code == 0
    assert run_sweep(store, as_of=AS_OF).failed == {}

    with store.session() as session:
        doc = json.loads(json.dumps(account_document(session, "northwind", AS_OF)))
        (statement,) = [
            item
            for item in doc["proof_items"]
            if item["outcome"] == "close_days" and item["kind"] == "customer_statement"
        ]
        assert statement["evidence_category"] == "customer_confirmed"
        (citation,) = statement["citations"]
        assert citation["source"] == "ticket:48121#5003"
        assert "We closed the April books in six days" in citation["quote"]
        text = session.get(SourceRow, citation["source"]).text  # type: ignore[union-attr]
        assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert not [
        g for g in doc["gap_flags"] if g["outcome"] == "close_days" and g["kind"] == "no_evidence"
    ]
