"""render(..., audience="customer"): what a share link may show the customer (issue 16)."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape

import pytest

from clerk.domain.models import Account, Contract, CustomerConfirmation, GapFlag, Outcome, Packet
from clerk.packet.assemble import assemble_packet
from clerk.packet.render import render
from tests.review_ui import factory

TEXT = "Since May we closed the June books in six days, first time ever."
QUOTE = "we closed the June books in six days"
RISK = "The CFO sees no current proof of the close-time promise at renewal."
ACTION = "Ask the champion to confirm this quarter's close time in writing."


def _packet() -> Packet:
    account = Account(
        id="acme",
        name="Acme Inc",
        csm="dana@vendor.example",
        contract=Contract(start=dt.date(2026, 1, 1)),
    )
    approved = factory.calc_item("acme", status="approved")
    statement = factory.statement_item("acme", "ticket:9#1", TEXT, QUOTE, status="approved")
    gap = GapFlag(
        id="gf_1", account="acme", outcome="close_days", kind="stale_evidence",
        severity="high", message="The newest statement is 120 days old.",
        next_action=ACTION, risk=RISK, owner="owner-sam@vendor.example",
    )  # fmt: skip
    follow_up = gap.model_copy(
        update={"id": "gf_2", "outcome": None, "kind": "unconfirmed_by_customer",
                "message": "Packet version 1 was shared with the customer on 2026-06-01."}
    )  # fmt: skip
    outcomes = [
        Outcome(id="hours_saved", title="Hours saved on approvals", category="cost",
                unit="hours", period="quarter", target=1200),
        Outcome(id="close_days", title="Days to close the books", category="productivity",
                unit="days", period="quarter", direction="decrease", target=6),
    ]  # fmt: skip
    packet = assemble_packet(
        account, outcomes, [approved, statement], [gap, follow_up], as_of=factory.AS_OF, version=2,
        published_at=dt.datetime(2026, 7, 2, 9), published_by="dana@vendor.example",
    )  # fmt: skip
    # a packet handed in with a rejected item (never from assemble): still never shown
    rejected = factory.calc_item("acme", "pi_rej", claim="SECRET rejected claim", status="rejected")
    packet.proof_items.append(rejected)
    packet.confirmations = [
        CustomerConfirmation(
            item_id=approved.id, name="Priya Raman", at=dt.datetime(2026, 7, 20, 8), version=1
        )
    ]
    return packet


def _text(body: bytes) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body.decode())))


@pytest.mark.parametrize("fmt", ["html", "md", "json"])
def test_the_customer_packet_leaves_out_internal_text(fmt: str) -> None:
    packet = _packet()
    customer = _text(render(packet, fmt, audience="customer"))
    internal = _text(render(packet, fmt, audience="internal"))
    for secret in (RISK, ACTION, "@vendor.example", "SECRET rejected claim", "shared with the"):
        assert secret not in customer
    # the gap itself stays, in the customer's words (clerk.packet.render._customer_gap)
    assert "some months old" in customer
    assert "1,320 hours saved on approvals" in customer
    for kept in (RISK, ACTION, "owner-sam@vendor.example", "dana@vendor.example"):
        assert kept in internal
    if fmt != "json":
        assert "Confirmed by Priya Raman on 2026-07-20" in customer
        assert "Confirmed by Priya Raman on 2026-07-20" in internal


def test_customer_json_is_a_packet_without_vendor_emails() -> None:
    data = json.loads(render(_packet(), "json", audience="customer"))
    back = Packet.model_validate(data)
    assert back.account.csm is None and back.published_by is None
    assert [i.status for i in back.proof_items] == ["approved", "approved"]
    assert [(g.kind, g.owner, g.risk) for g in back.gap_flags] == [("stale_evidence", None, "")]


def test_an_unknown_audience_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown audience 'cfo'"):
        render(_packet(), "md", audience="cfo")  # type: ignore[arg-type]
