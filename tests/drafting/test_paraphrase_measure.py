"""Paraphrase and the measure check, end to end in the extractive drafter, on sentences the
way customers write them (emails, quoted call notes, ticket comments).

A customer may name an outcome in words that share none of its title's (found by meaning,
the bundled MiniLM embeddings, or an alias), and may put words after the number that name
the outcome's measure ("84 points on the survey") or another one ("25 hours on expense
reports"). The rows below that must be found are found with the right number and pass the
verifier; the rows that must not become proof (other measures in paraphrase, hopes,
negations, questions, complaints, a CSM's own words) give no statement at all.
"""

from __future__ import annotations

import pytest

from clerk.domain.models import Outcome, ProofItem, Source
from clerk.drafting.matching import OutcomeMatcher
from clerk.drafting.signals import negative_signals
from clerk.engine.verify import verify_item
from tests.drafting.sources import (
    draft_extractive,
    example_account,
    note_source,
    request_about,
    ticket_sources,
)

CSAT = Outcome(
    id="csat_points", title="Customer satisfaction score", category="risk", unit="points",
    evidence="customer_reported",
)  # fmt: skip
CLOSE = Outcome(
    id="close_days", title="Days to close the books", category="productivity", unit="days",
    direction="decrease", evidence="customer_reported",
)  # fmt: skip
ONBOARD = Outcome(
    id="onboarding_weeks", title="Weeks to onboard a new client", category="productivity",
    unit="weeks", direction="decrease", evidence="customer_reported",
)  # fmt: skip
QUOTE = Outcome(
    id="quote_minutes", title="Minutes to produce a quote", category="revenue", unit="minutes",
    direction="decrease", evidence="customer_reported", aliases=["pricing proposal"],
)  # fmt: skip
CONTRACT = Outcome(
    id="contract_hours", title="Hours saved on contract review", category="productivity",
    unit="hours", evidence="customer_reported",
)  # fmt: skip
SELF_SERVICE = Outcome(
    id="self_service_rate", title="Share of contracts resolved by self-service",
    category="productivity", unit="percent", formula="a / b * 100",
)  # fmt: skip
# Outcomes an account of these carries beside them (the meaning match must beat them).
SIBLINGS = [
    Outcome(
        id="hours_saved",
        title="Hours saved on invoice processing",
        category="cost",
        unit="hours",
        formula="a",
    ),  # fmt: skip
    Outcome(
        id="cost_saved",
        title="Labour cost saved on invoices",
        category="cost",
        unit="USD",
        formula="a",
    ),  # fmt: skip
    Outcome(
        id="open_backlog",
        title="Open invoice exceptions",
        category="productivity",
        unit="count",
        formula="a",
    ),  # fmt: skip
]


def _email(body: str) -> Source:
    text = (
        "---\ndate: 2026-06-20\nauthor: priya@northwind.example\nkind: email\nattendees: []\n"
        f"---\nHi Dana,\n\n{body}\n\nPriya\n"
    )
    return note_source(example_account(), "email.md", text)


def _call(body: str) -> Source:
    text = (
        "---\ndate: 2026-06-20\nauthor: dana@vendor.example\nkind: call\n"
        f"attendees: [Priya Raman]\n---\n{body}\n"
    )
    return note_source(example_account(), "call.md", text)


def _ticket(comment: str) -> Source:
    ticket = {
        "id": 611, "subject": "Sharing an update", "description": "An update from our side.",
        "status": "solved", "requester_id": 901, "created_at": "2026-06-18T08:00:00Z",
        "updated_at": "2026-06-18T10:00:00Z",
        "comments": [{"id": 1, "author_id": 901, "plain_body": comment, "public": True,
                      "created_at": "2026-06-18T09:00:00Z"}],
    }  # fmt: skip
    [comment_source] = [s for s in ticket_sources("northwind", ticket) if "#" in s.id]
    return comment_source


CHANNELS = {"email": _email, "call": _call, "ticket": _ticket}


FOUND = [
    # The measure named by its instrument, after a colon preamble in an email.
    (CSAT, "email", "Quick update from our side: shoppers rated us 84 points on the survey.", 84),
    # The clause holding the value is read on its own: the thanks after it is no topic.
    (
        CSAT,
        "ticket",
        "Guests gave us eighty-one points in the feedback survey, thanks for the "
        "help with the rollout.",
        81,
    ),  # fmt: skip
    (CSAT, "call", 'Priya: "The happiness survey landed at 86 points this quarter."', 86),
    (CLOSE, "email", "Quick update from our side: the ledger was final after seven days.", 7),
    (CLOSE, "call", 'Priya said "Month-end wrapped up in six days this time" and smiled.', 6),
    (
        ONBOARD,
        "email",
        "Good news: the last customer we signed was up and running in 5 weeks.",
        5,
    ),  # fmt: skip
    (ONBOARD, "ticket", "Getting a new account live took four weeks this time.", 4),
    (QUOTE, "ticket", "Each pricing proposal is ready in 12 minutes now, the reps love it.", 12),
]

NOT_PROOF = [
    # Another measure described in other words: points of an audit are not satisfaction.
    (CSAT, "call", 'Priya: "We got 30 points on the security audit, which was a relief."'),
    (CSAT, "email", "Our vendor scorecard gave us 80 points on the quality audit."),
    # Hours spent on another task, with or without the outcome named elsewhere.
    (
        CONTRACT,
        "email",
        "On contract review we are fine, but the team spent 25 hours on expense reports in May.",
    ),  # fmt: skip
    (CONTRACT, "ticket", "The legal team saved 120 hours on payroll queries in June."),
    # A paraphrase that is a hope, a negation, a question, a guess or a complaint.
    (CSAT, "email", "The feedback survey should land at 85 points once the new menu is out."),
    (CLOSE, "ticket", "The ledger was never final after seven days, it still drags on."),
    (ONBOARD, "email", "Did getting a new account live really take only 4 weeks?"),
    (ONBOARD, "call", 'Priya: "I think new accounts went live in about 5 weeks, not sure."'),
    (CSAT, "ticket", "Shoppers rated us 62 points on the survey because checkout kept failing."),
    # The CSM's own paraphrase in a call note (no quotation marks) is not the customer.
    (CLOSE, "call", "Priya mentioned the ledger was final after seven days."),
    # Months as a period, weeks of another project.
    (ONBOARD, "email", "We spent 6 weeks on the data migration for the old ERP."),
]


@pytest.mark.parametrize(
    ("outcome", "channel", "body", "value"),
    FOUND,
    ids=[f"{o.id}-{c}-{v}" for o, c, _, v in FOUND],
)
def test_a_paraphrased_result_is_found_with_its_number(
    outcome: Outcome, channel: str, body: str, value: float
) -> None:
    request = request_about(outcome, [CHANNELS[channel](body)], SIBLINGS)
    result = draft_extractive(request)
    [statement] = result.statements
    assert statement.delivered == value
    item = ProofItem(
        id="pi_x", account=request.account.id, outcome=outcome.id, kind="customer_statement",
        claim=statement.claim, delivered=statement.delivered, unit=outcome.unit,
        citations=statement.citations,
    )  # fmt: skip
    assert verify_item(item, request.sources) == []


@pytest.mark.parametrize(
    ("outcome", "channel", "body"),
    NOT_PROOF,
    ids=[f"{o.id}-{c}-{n}" for n, (o, c, _) in enumerate(NOT_PROOF)],
)
def test_a_paraphrase_that_is_not_a_result_never_becomes_proof(
    outcome: Outcome, channel: str, body: str
) -> None:
    result = draft_extractive(request_about(outcome, [CHANNELS[channel](body)], SIBLINGS))
    assert result.statements == []


def test_the_measure_check_by_meaning_tells_an_instrument_from_another_task() -> None:
    csat = OutcomeMatcher(CSAT, SIBLINGS)
    text = "shoppers rated us 84 points on the survey"
    assert csat.same_measure(text, text.index("on the"), len(text))
    text = "we got 30 points on the security audit"
    assert not csat.same_measure(text, text.index("on the"), len(text))
    contract = OutcomeMatcher(CONTRACT, [])
    text = "on contract review we are at 4 hours but 25 hours on expense reports"
    assert not contract.same_measure(text, text.rindex("on expense"), len(text))


def test_an_outcome_word_in_a_complaint_is_not_a_fix() -> None:
    # "resolved" names the outcome here; it does not say the problem was resolved.
    words = (
        "Urgent: the self-service portal for contracts is not working for the whole team, so "
        "share of contracts resolved by self-service is getting worse every day."
    )
    ticket = ticket_sources("northwind", {
        "id": 612, "subject": "Problem with the self-service portal", "description": words,
        "status": "open", "requester_id": 901, "created_at": "2026-06-18T08:00:00Z",
        "updated_at": "2026-06-18T10:00:00Z", "comments": [],
    })  # fmt: skip
    [signal] = negative_signals(request_about(SELF_SERVICE, ticket, SIBLINGS))
    assert "getting worse every day" in signal.citations[0].quote
