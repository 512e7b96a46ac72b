"""One current proof: approve, add evidence, sweep later; every reader still agrees.

The scenario of issue 14 on the real demo, through the JSON API (TestClient), the pages, the
manager grid, `clerk items` and the packet, plus the customer packet's promises: no owner
email, no internal risk text and no number of a rejected item.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from clerk.cli import app as cli
from clerk.demo import DEMO_DATA
from clerk.ingest import run_ingest
from clerk.store import Store
from clerk.sweep.run import run_sweep
from review_ui import create_app
from tests.review_ui.conftest import DEMO_PASSWORDS, text_of

DANA = ("dana@vendor.example", DEMO_PASSWORDS["dana@vendor.example"])
MORGAN = ("morgan@vendor.example", DEMO_PASSWORDS["morgan@vendor.example"])
LATER_NOTE = """---
date: 2026-07-03
author: priya@northwind.example
kind: email
---
Thanks Dana. The approvers like the new flow and we want the summary for Tom next week.
"""


def approve_all(client: TestClient) -> list[str]:
    items = client.get("/api/accounts/northwind/items").json()["proof_items"]
    approved = []
    for item in items:
        if item["status"] == "pending":
            url = f"/api/items/{item['id']}/approve"
            done = client.post(url, json={"version": item["version"]})
            assert done.status_code == 200, done.text
            approved.append(item["id"])
    return approved


def add_evidence_and_sweep_later(store: Store, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DEMO_DATA, data)
    (data / "accounts/northwind/notes/2026-07-03-email.md").write_text(LATER_NOTE)
    assert run_ingest(data, store).exit_code == 0
    report = run_sweep(store, as_of=dt.date(2026, 7, 8))
    assert report.swept == 1 and not report.failed


@pytest.fixture
def demo(store: Store) -> Store:
    """The demo ingested (SQL only: these tests do not search) and swept at 2026-07-01."""
    from clerk.demo import prepare_demo
    from clerk.review.users import add_user

    assert prepare_demo(store, sync_index=False).exit_code == 0
    run_sweep(store, as_of=dt.date(2026, 7, 1))
    for email, password in (DANA, MORGAN):
        add_user(store, email, "csm" if email.startswith("dana") else "manager", password)
    return store


def client(store: Store, who: tuple[str, str] = DANA) -> TestClient:
    """A client of the API that sends HTTP Basic credentials (scripts' way in; no CSRF)."""
    c = TestClient(create_app(store))
    c.auth = who
    return c


def browser_session(store: Store, who: tuple[str, str] = DANA) -> TestClient:
    """A client signed in through the login form, as a person reads the pages."""
    c = TestClient(create_app(store))
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
    assert token is not None
    signed = c.post(
        "/login",
        data={"email": who[0], "password": who[1], "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    return c


def test_approved_proof_survives_new_evidence_and_a_later_sweep(
    demo: Store, tmp_path: Path
) -> None:
    api = client(demo)
    approved = set(approve_all(api))
    assert len(approved) == 5  # four outcomes and the payback
    add_evidence_and_sweep_later(demo, tmp_path)

    # the API: the account at its newest sweep still has every approval, current
    items = api.get("/api/accounts/northwind/items")
    assert items.status_code == 200
    doc = items.json()
    assert doc["as_of"] == "2026-07-08"
    current_approved = {i["id"] for i in doc["proof_items"] if i["status"] == "approved"}
    assert current_approved == approved
    summary = next(a for a in api.get("/api/accounts").json() if a["id"] == "northwind")
    assert (summary["proven_outcomes"], summary["outcomes"]) == (4, 4)

    # the packet: the same items, not "0 of 4 proven"
    packet = api.get("/api/accounts/northwind/packet").json()
    assert packet["as_of"] == "2026-07-08"
    assert {i["id"] for i in packet["proof_items"]} == approved
    assert not any(g["kind"] == "no_evidence" for g in packet["gap_flags"])
    md = client(demo)
    page = text_of(md.get("/api/accounts/northwind/packet").text)
    assert "0 of 4" not in page

    # the manager grid: 4 of 4 proven
    grid = client(demo, MORGAN).get("/api/manager/grid").json()
    row = next(r for r in grid["rows"] if r["account"]["id"] == "northwind")
    assert {c["state"] for c in row["cells"].values()} == {"proven"}
    assert (row["account"]["proven_outcomes"], row["account"]["outcomes"]) == (4, 4)

    # `clerk items`: the same approved ids at the same date
    listed = CliRunner().invoke(cli, ["items", "northwind", "--no-sweep", "--json"])
    assert listed.exit_code == 0, listed.output
    cli_doc = json.loads(listed.stdout)
    assert cli_doc["as_of"] == "2026-07-08"
    assert {i["id"] for i in cli_doc["proof_items"] if i["status"] == "approved"} == approved


def test_the_period_selector_reads_an_earlier_period(demo: Store, tmp_path: Path) -> None:
    api = client(demo)
    approve_all(api)
    add_evidence_and_sweep_later(demo, tmp_path)
    run_sweep(demo, as_of=dt.date(2026, 10, 2))  # Q3: nothing reviewed yet

    pages = browser_session(demo)
    html = pages.get("/accounts/northwind").text
    options = re.findall(r'<option value="([\d-]+)"[^>]*>([^<]+)</option>', html)
    assert options == [("2026-10-02", "Q3 2026 (latest)"), ("2026-07-08", "Q2 2026")]
    assert "selected>Q3 2026" in html
    coverage = re.compile(r'<span class="n">([^<]+)</span><span class="l">proof coverage')
    assert coverage.findall(html) == ["0%"]
    q2 = pages.get("/accounts/northwind?as_of=2026-07-08").text
    assert coverage.findall(q2) == ["100%"]
    assert "selected>Q2 2026" in q2
    assert pages.get("/accounts/northwind?as_of=yesterday").status_code == 422
    # the API and the packet read the same period when asked
    assert api.get("/api/accounts/northwind/packet?as_of=2026-07-08").json()["as_of"] == (
        "2026-07-08"
    )
    q2_packet = api.get("/api/accounts/northwind/packet", params={"as_of": "2026-07-08"}).json()
    assert len(q2_packet["proof_items"]) == 5
    assert api.get("/api/accounts/northwind/packet").json()["proof_items"] == []
    packet_page = pages.get("/accounts/northwind/packet?as_of=2026-07-08").text
    assert 'id="period-select"' in packet_page and "packet.pdf?as_of=2026-07-08" in packet_page


def _pdf_text(pdf: bytes) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def _without_clock_times(text: str) -> str:
    """The text without its time stamps ("Generated 2026-11-29 13:38 UTC", ISO times): a
    packet made at 13:38 shows 38, which is the clock, not the rejected figure."""
    return re.sub(r"\d{4}-\d{2}-\d{2}(?:T|\s+)\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?", " ", text)


def test_customer_packet_of_the_demo_hides_internal_text_and_rejected_numbers(
    demo: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = client(demo)
    items = api.get("/api/accounts/northwind/items").json()["proof_items"]
    for item in items:
        if item["outcome"] == "active_approvers":
            rejected = api.post(
                f"/api/items/{item['id']}/reject",
                json={"version": item["version"], "reason": "wrong_number"},
            )
            assert rejected.status_code == 200, rejected.text
        else:
            api.post(f"/api/items/{item['id']}/approve", json={"version": item["version"]})
    internal_gap = api.get("/api/accounts/northwind/packet").json()["gap_flags"]
    risk = next(g["risk"] for g in internal_gap if g["outcome"] == "active_approvers")
    assert risk  # the internal packet keeps a risk sentence: the customer's must not show it

    monkeypatch.chdir(tmp_path)
    json_run = CliRunner().invoke(cli, ["packet", "northwind", "-f", "json", "-o", "c.json"])
    assert json_run.exit_code == 0, json_run.output
    data = (tmp_path / "c.json").read_text()
    assert "@vendor.example" not in data and risk not in data
    assert not re.search(r"\b38\b", _without_clock_times(data))
    html_run = CliRunner().invoke(cli, ["packet", "northwind", "-f", "html", "-o", "c.html"])
    assert html_run.exit_code == 0, html_run.output
    pdf_run = CliRunner().invoke(cli, ["packet", "northwind", "-o", "c.pdf"])  # pdf by default
    assert pdf_run.exit_code == 0, pdf_run.output
    internal_run = CliRunner().invoke(
        cli, ["packet", "northwind", "--internal", "-f", "html", "-o", "i.html"]
    )
    assert internal_run.exit_code == 0, internal_run.output
    html = text_of((tmp_path / "c.html").read_text())
    pdf = _pdf_text((tmp_path / "c.pdf").read_bytes())
    internal = text_of((tmp_path / "i.html").read_text())
    for shown in (html, pdf):
        assert "dana@vendor.example" not in shown and "@vendor.example" not in shown
        assert risk not in shown and "Risk" not in shown
        assert not re.search(r"\b38\b", _without_clock_times(shown)), (
            "a rejected number reached the customer"
        )
        assert "Approvers working in the product" in shown  # the outcome is listed ...
        assert "Not yet proven" in shown  # ... as not yet proven
        assert "What is not yet proven, and what we will do" in shown
    # the internal packet keeps the full detail, still without the rejected number
    assert risk in internal and "dana@vendor.example" in internal
    assert not re.search(r"\b38\b", internal)


def test_first_pdf_page_holds_the_whole_summary(demo: Store, tmp_path: Path) -> None:
    api = client(demo)
    approve_all(api)
    pdf = browser_session(demo).get("/accounts/northwind/packet.pdf").content
    assert pdf.startswith(b"%PDF")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    first = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-layout", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for part in (
        "3 of 4",
        "proven on target",
        "not yet proven",
        "payback in 4.85 months (ahead of the 6-month forecast)",
        "Promised vs delivered",
        "Approvers working in the product",
        "Delivered against target, last reporting periods",
        "Q1 ’26",
        "Q2 ’26",
    ):
        assert part in first, part
    # the calculation in the customer's language, not the formula's variable names
    whole = " ".join(_pdf_text(pdf).split())
    html = browser_session(demo).get("/accounts/northwind/packet.html").text
    # snake_case only inside the raw source ids printed in small type
    readable = text_of(re.sub(r'<span class="raw">[^<]*</span>', "", html))
    assert re.findall(r"\b[a-z]+_[a-z_]+\b", readable) == []
    assert "Approvals completed automatically" in readable and "Approvals completed" in whole
    assert "approvers = 38" not in whole and "benefit ÷ 3" not in whole
    assert "$19,800 a month" in whole
    assert _pdf_text(pdf).count("\f") <= 3
