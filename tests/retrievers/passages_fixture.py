"""A small retrieval fixture: 31 passages over two accounts and queries with known answers.

Both accounts talk about the same things (invoice approvals, SSO, exports, duplicate
payments) in different words, so a search that leaks across accounts or ranks by topic alone
shows up in the figures.
"""

from __future__ import annotations

import datetime as dt

from retrievers import Passage

D = dt.datetime

# (key, account, kind, date, customer, text)
ROWS: list[tuple[str, str, str, dt.datetime, bool, str]] = [
    (
        "n1",
        "northwind",
        "note",
        D(2026, 6, 12),
        True,
        'Monthly check-in. Priya said "we closed the June books in six days, first time ever" and '
        "that the AP team no longer works weekends at month end.",
    ),
    (
        "n2",
        "northwind",
        "ticket",
        D(2026, 3, 4),
        True,
        "Approval workflow stuck: invoices over $10k stay in the pending state and never reach the "
        "CFO queue.",
    ),
    (
        "n3",
        "northwind",
        "ticket_comment",
        D(2026, 3, 6),
        False,
        "We deployed a fix for the threshold routing rule; approvals above the limit now route to "
        "the CFO again.",
    ),
    (
        "n4",
        "northwind",
        "ticket_comment",
        D(2026, 3, 7),
        True,
        "Confirmed, the stuck invoices went through this morning. Thanks for the quick fix.",
    ),
    (
        "n5",
        "northwind",
        "usage_digest",
        D(2026, 5, 1),
        False,
        "Northwind Logistics, approval.completed, May 2026: 1,734 events (+12.4% vs April 2026). "
        "amount: sum 9,123,456.78, min 101.20, max 9,998.00. mode: 2 distinct — auto 1,600, "
        "manual 134.",
    ),
    (
        "n6",
        "northwind",
        "note",
        D(2026, 2, 10),
        False,
        "Kickoff: agreed success criteria are hours saved on invoice approvals, days to close the "
        "books and labour cost recovered.",
    ),
    (
        "n7",
        "northwind",
        "note",
        D(2026, 4, 20),
        True,
        "Our auditors asked for an export of all approval decisions with timestamps. Can the "
        "platform produce that before the year-end audit?",
    ),
    (
        "n8",
        "northwind",
        "ticket",
        D(2026, 5, 15),
        True,
        "SSO login fails for every user in the Hamburg office since the Okta migration.",
    ),
    (
        "n9",
        "northwind",
        "ticket_comment",
        D(2026, 5, 16),
        False,
        "The SAML signing certificate had expired on our side; we rotated it and sign-in works "
        "again.",
    ),
    (
        "n10",
        "northwind",
        "note",
        D(2026, 6, 30),
        False,
        "QBR: Tom Okafor wants to see the return on investment figures before the budget round in "
        "September.",
    ),
    (
        "n11",
        "northwind",
        "ticket",
        D(2026, 4, 11),
        True,
        "Duplicate vendor payment: the same invoice from Acme Freight was paid twice in April.",
    ),
    (
        "n12",
        "northwind",
        "note",
        D(2026, 3, 20),
        False,
        "Training session for fourteen new AP clerks on the mobile approval app.",
    ),
    (
        "n13",
        "northwind",
        "usage_digest",
        D(2026, 4, 1),
        False,
        "Northwind Logistics, invoice.created, April 2026: 2,210 events (+3.1% vs March 2026). "
        "supplier: 412 distinct — acme-freight 96, dhl 80, maersk 61.",
    ),
    (
        "n14",
        "northwind",
        "ticket_comment",
        D(2026, 5, 28),
        True,
        "The new dashboard is great, our controller opens it every morning before standup.",
    ),
    (
        "n15",
        "northwind",
        "note",
        D(2026, 5, 5),
        True,
        'Priya on staffing: "we did not need to hire the two clerks we had budgeted for '
        'this year".',
    ),
    (
        "n16",
        "northwind",
        "ticket",
        D(2026, 2, 25),
        True,
        "Feature request: let us bulk approve all invoices from the same supplier in one click.",
    ),
    (
        "g1",
        "globex",
        "ticket",
        D(2026, 5, 10),
        True,
        "Invoice approvals are slow: every approval screen takes over a minute to load.",
    ),
    (
        "g2",
        "globex",
        "note",
        D(2026, 4, 15),
        False,
        "Globex closed their quarter books in twelve days, no improvement on last year yet.",
    ),
    (
        "g3",
        "globex",
        "ticket_comment",
        D(2026, 5, 2),
        True,
        "SSO login broken for all of finance after the Azure AD change last night.",
    ),
    (
        "g4",
        "globex",
        "usage_digest",
        D(2026, 5, 1),
        False,
        "Globex Corporation, approval.completed, May 2026: 310 events (-4.0% vs April 2026). "
        "mode: 2 distinct — manual 250, auto 60.",
    ),
    (
        "g5",
        "globex",
        "note",
        D(2026, 6, 2),
        False,
        "Our champion Hank left the company; we need a new executive sponsor at Globex.",
    ),
    (
        "g6",
        "globex",
        "ticket",
        D(2026, 4, 22),
        True,
        "Data export of the approval history fails with a timeout for large date ranges.",
    ),
    (
        "g7",
        "globex",
        "ticket_comment",
        D(2026, 4, 24),
        False,
        "We raised the export timeout; large exports now run in the background and email a link.",
    ),
    (
        "g8",
        "globex",
        "note",
        D(2026, 5, 20),
        True,
        'Call with Hank: "the reporting module saves my team about ten hours a week".',
    ),
    (
        "g9",
        "globex",
        "ticket",
        D(2026, 3, 11),
        True,
        "The mobile app crashes when attaching a PDF receipt to an expense.",
    ),
    (
        "g10",
        "globex",
        "note",
        D(2026, 6, 20),
        False,
        "Renewal risk: Globex procurement asked for a 20% discount at renewal.",
    ),
    (
        "g11",
        "globex",
        "ticket",
        D(2026, 3, 30),
        True,
        "Duplicate payments to one supplier in March; finance needs a report of affected invoices.",
    ),
    (
        "g12",
        "globex",
        "note",
        D(2026, 2, 14),
        False,
        "Onboarding workshop for the Globex regional finance teams in Madrid and Lyon.",
    ),
    (
        "g13",
        "globex",
        "usage_digest",
        D(2026, 6, 1),
        False,
        "Globex Corporation, report.exported, June 2026: 95 events (+50.8% vs May 2026).",
    ),
    (
        "g14",
        "globex",
        "ticket_comment",
        D(2026, 6, 5),
        True,
        "Our CFO loves the cash forecast view.",
    ),
    (
        "g15",
        "globex",
        "note",
        D(2026, 6, 10),
        True,
        "We are evaluating a competitor because the approval screens are so slow.",
    ),
]

# (account, query, keys of the passages that answer it)
QUERIES: list[tuple[str, str, set[str]]] = [
    ("northwind", "how fast do they close the books now", {"n1"}),
    ("northwind", "invoices stuck in pending above ten thousand dollars", {"n2", "n3", "n4"}),
    ("northwind", "invoice approvals in May", {"n5"}),
    ("northwind", "single sign-on problem", {"n8", "n9"}),
    ("northwind", "paid the same bill twice", {"n11"}),
    ("northwind", "audit trail export of approval decisions", {"n7"}),
    ("northwind", "executive wants ROI numbers before budget", {"n10"}),
    ("northwind", "avoided hiring extra staff", {"n15"}),
    ("northwind", "customer happy with the dashboard", {"n14"}),
    ("northwind", "approve many invoices at once", {"n16"}),
    ("globex", "approval screens are slow", {"g1", "g15"}),
    ("globex", "sponsor left the company", {"g5"}),
    ("globex", "export times out", {"g6", "g7"}),
    ("globex", "discount demanded at renewal", {"g10"}),
    ("globex", "hours saved by reporting", {"g8"}),
    ("globex", "app crash with PDF attachment", {"g9"}),
]


def source_id(key: str) -> str:
    """The fixture source id of a passage key."""
    account = "northwind" if key.startswith("n") else "globex"
    return f"note:{account}/{key}.md"


def _context(kind: str, text: str) -> str:
    # As clerk.retrieval does: a digest is introduced by its event type in words and month.
    if kind != "usage_digest":
        return ""
    _, event_type, month = text.split(":")[0].split(", ")
    return f"Usage digest: {event_type.replace('.', ' ')} events in {month}"


def passages() -> list[Passage]:
    """Every fixture row as a one-chunk passage."""
    return [
        Passage(
            source_id=source_id(key),
            n=0,
            account=account,
            kind=kind,
            text=text,
            start=0,
            end=len(text),
            date=date,
            customer=customer,
            context=_context(kind, text),
        )
        for key, account, kind, date, customer, text in ROWS
    ]
