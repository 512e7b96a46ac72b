"""The Value Proof Packet: assembly (pure), publishing as immutable versions, the four
formats, and `clerk packet` / `clerk users` from the command line."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clerk.cli import app
from clerk.domain.models import Packet
from clerk.packet.assemble import assemble_packet, draft_packet, get_packet, publish_packet
from clerk.packet.render import render, render_html, render_markdown
from clerk.review import decisions as review
from clerk.review.users import User, authenticate
from clerk.store import Store
from tests.review_ui import factory

ADMIN = User("root@vendor.example", "admin")
TEXT = "Since May we closed the June books in six days, first time ever."
QUOTE = "we closed the June books in six days"


def _world(store: Store) -> None:
    factory.add_account(store, "acme", "dana@vendor.example")
    factory.add_source(store, "acme", "ticket:9#1", TEXT, customer=(0, len(TEXT)))
    factory.add_item(store, factory.calc_item("acme"))
    factory.add_item(store, factory.statement_item("acme", "ticket:9#1", TEXT, QUOTE))
    factory.add_gap(store, "acme")
    factory.add_gap(
        store,
        "acme",
        "gf_acme_owner",
        outcome=None,
        kind="no_owner",
        severity="medium",
        message="Nobody owns the proof for this account.",
        next_action="Name a CSM.",
        risk="Nobody chases the missing proof.",
    )


@pytest.mark.parametrize(
    ("item_status", "gap_status", "items_in", "gaps_in"),
    [
        ("approved", "open", 1, 1),
        ("edited", "acknowledged", 1, 1),
        ("pending", "dismissed", 0, 0),
        ("unverified", "resolved", 0, 0),
        ("rejected", "open", 0, 1),
    ],
)
def test_assembly_keeps_only_reviewed_items_and_all_open_gaps(
    item_status: str, gap_status: Any, items_in: int, gaps_in: int
) -> None:
    account = factory.Account(
        id="acme", name="Acme", contract=factory.Contract(start=dt.date(2026, 1, 1))
    )
    item = factory.calc_item("acme", status=item_status)
    gap = factory.GapFlag(
        id="gf",
        account="acme",
        outcome=None,
        kind="no_owner",
        severity="high",
        message="m",
        next_action="n",
        risk="r",
        status=gap_status,
    )
    packet = assemble_packet(account, [], [item], [gap], as_of=factory.AS_OF, version=3)
    assert (len(packet.proof_items), len(packet.gap_flags), packet.version) == (
        items_in,
        gaps_in,
        3,
    )
    assert packet.published_at is None


def test_gaps_are_ordered_by_severity_and_items_by_outcome() -> None:
    account = factory.Account(
        id="a", name="A", contract=factory.Contract(start=dt.date(2026, 1, 1))
    )
    outcomes = [factory.Outcome(id=o, title=o, category="cost", unit="h") for o in ("x", "y")]
    items = [factory.calc_item("a", f"pi_{o}", outcome=o, status="approved") for o in ("y", "x")]
    gaps = [
        factory.GapFlag(
            id=f"g{s}",
            account="a",
            outcome=None,
            kind="no_owner",
            severity=s,
            message="m",
            next_action="n",
            risk="r",
        )
        for s in ("low", "high")
    ]
    packet = assemble_packet(account, outcomes, items, gaps, as_of=factory.AS_OF, version=1)
    assert [i.outcome for i in packet.proof_items] == ["x", "y"]
    assert [g.severity for g in packet.gap_flags] == ["high", "low"]


def test_publishing_makes_immutable_versions(store: Store) -> None:
    _world(store)
    review.approve(store, "pi_acme_hours", actor=ADMIN, version=1)
    first = publish_packet(store, "acme", actor=ADMIN)
    assert (first.version, first.published_by, len(first.proof_items)) == (
        1,
        "root@vendor.example",
        1,
    )
    review.approve(store, "pi_acme_close", actor=ADMIN, version=1)
    second = publish_packet(store, "acme", actor=ADMIN)
    assert (second.version, len(second.proof_items)) == (2, 2)
    again = get_packet(store, "acme", 1)
    assert again == first  # later approvals never reach an earlier version
    assert draft_packet(store, "acme").version == 3


def test_a_csm_cannot_publish_someone_elses_packet(store: Store) -> None:
    _world(store)
    with pytest.raises(review.Forbidden):
        publish_packet(store, "acme", actor=User("olga@vendor.example", "csm"))


def test_formats_show_edits_assertions_and_unsoftened_gaps(store: Store) -> None:
    _world(store)
    review.edit(
        store,
        "pi_acme_hours",
        actor=ADMIN,
        version=1,
        claim="Approvals saved 2,000 hours <b>in</b> Q2 2026.",
        asserted=True,
        reason="Finance's own count",
    )
    review.approve(store, "pi_acme_close", actor=ADMIN, version=1)
    packet = draft_packet(store, "acme")
    md = render_markdown(packet, "internal")
    assert "Asserted by CSM: Finance's own count" in md
    assert "| Hours saved on approvals | 1,200 hours a quarter | 1,320 hours | 110% |" in md
    assert f"> “{QUOTE}” — Comment on support ticket #9 `ticket:9#1`" in md
    assert "**Whole account: No owner** (severity medium). Nobody owns the proof" in md
    assert "Next action: Ask the champion to confirm this quarter's close time in writing." in md
    assert "Risk: The CFO sees no current proof of the close-time promise at renewal." in md
    assert "DRAFT, not published" in md
    assert "**2 of 2 promised outcomes proven on target**" in md
    # the customer's copy of the same packet: no internal flag, risk or owner
    customer = render_markdown(packet)
    assert "No owner" not in customer and "Risk:" not in customer
    assert "Nobody owns the proof" not in customer and "@vendor.example" not in customer
    html = render_html(packet, "internal")
    assert "Approvals saved 2,000 hours &lt;b&gt;in&lt;/b&gt; Q2 2026." in html
    assert "<b>Asserted by CSM:</b> Finance&#39;s own count" in html
    assert Packet.model_validate(json.loads(render(packet, "json", audience="internal"))) == packet
    pdf = render(packet, "pdf", audience="internal")
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        assert "Asserted by CSM: Finance's own count" in text
        assert "Where proof is missing" in text and "Nobody owns the proof" in text


def test_pending_items_never_reach_the_packet(store: Store) -> None:
    _world(store)
    md = render_markdown(draft_packet(store, "acme"))
    assert "1,320 hours saved" not in md and "Not yet proven" in md


def test_cli_packet_exports_and_publishes(store: Store, tmp_path: Path) -> None:
    _world(store)
    review.approve(store, "pi_acme_hours", actor=ADMIN, version=1)
    runner = CliRunner()
    out = tmp_path / "draft.md"
    result = runner.invoke(app, ["packet", "acme", "--format", "md", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "DRAFT, not published" in out.read_text()
    result = runner.invoke(
        app, ["packet", "acme", "--format", "pdf", "--publish", "-o", str(tmp_path / "v1.pdf")]
    )
    assert result.exit_code == 0, result.output
    assert "Published acme version 1." in result.output
    assert (tmp_path / "v1.pdf").read_bytes().startswith(b"%PDF")
    result = runner.invoke(
        app,
        ["packet", "acme", "--format", "json", "--version", "1", "-o", str(tmp_path / "v1.json")],
    )
    assert json.loads((tmp_path / "v1.json").read_text())["published_by"] == "cli"
    assert runner.invoke(app, ["packet", "nope", "--format", "md"]).exit_code == 2
    assert runner.invoke(app, ["packet", "acme", "--format", "docx"]).exit_code == 2


def test_cli_users_add_hashes_with_argon2(store: Store) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["users", "add", "Mia@Vendor.example", "--role", "manager"])
    assert result.exit_code == 0, result.output
    password = result.output.split("Password: ")[1].split()[0]
    user = authenticate(store, "mia@vendor.example", password)
    assert user == User("mia@vendor.example", "manager")
    assert authenticate(store, "mia@vendor.example", "wrong") is None
    again = runner.invoke(app, ["users", "add", "mia@vendor.example", "--role", "csm"])
    assert again.exit_code == 1 and "exists" in again.output
    bad = runner.invoke(app, ["users", "add", "x@y.z", "--role", "boss", "--password", "p"])
    assert bad.exit_code == 1 and "unknown role" in bad.output
    from sqlalchemy import select

    from clerk.store.tables import UserRow

    with store.session() as session:
        stored = session.scalar(select(UserRow.password_hash))
    assert stored is not None and stored.startswith("$argon2id$") and password not in stored


def test_headline_says_when_proven_outcomes_fall_short(store: Store) -> None:
    factory.add_account(store, "acme", "dana@vendor.example")
    short = factory.calc_item(
        "acme",
        claim="1,100 hours saved on approvals in Q2 2026, against a target of 1,200.",
        delivered=1100.0,
        attainment=1100 / 1200,
    )
    factory.add_item(store, short)
    review.approve(store, short.id, actor=ADMIN, version=1)
    md = render_markdown(draft_packet(store, "acme"))
    assert "0 of 2 promised outcomes proven on target · 1 proven but short of target · " in md
    assert "1 not yet proven" in md
    assert "| Hours saved on approvals | 1,200 hours a quarter | 1,100 hours |" in md
