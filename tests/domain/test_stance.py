"""Stance and value binding of customer sentences, one table row per rule.

The sentences are written the way customers write: emails, call notes, tickets, QBR remarks.
The first rows are the ones quoted in issue 12; every other row is its own wording.
"""

from __future__ import annotations

import pytest

from clerk.domain.models import Outcome
from clerk.domain.stance import read_statement
from clerk.drafting.matching import OutcomeMatcher

CLOSE = ("Days to close the books", "days")
CONTRACT = ("Hours per contract review", "hours")
ORDERS = ("Work orders completed by field crews", "work orders")
ORDERS_COUNT = ("Work orders completed by field crews", "count")
CONVERSION = ("Checkout conversion rate", "%")
HOURS_SAVED = ("Hours saved on invoice approvals", "hours")
ONBOARD = ("Weeks to onboard a new client", "weeks")
CSAT = ("Customer satisfaction score", "points")
COST = ("Labour cost recovered", "USD")
DOWNTIME = ("Hours of unplanned downtime", "hours")
TICKETS = ("Tickets resolved without escalation", "tickets")

# (sentence, outcome, stance, delivered, approximate)
ROWS: list[tuple[str, tuple[str, str], str, float | None, bool]] = [
    # --- quoted in the issue -------------------------------------------------------------
    (
        "Since turning on auto-scheduling our technicians closed 1,310 work orders in "
        "September, comfortably past the 1,000 we budgeted",
        ORDERS,
        "achieved",
        1310,
        False,
    ),
    (
        "Since turning on auto-scheduling our technicians closed 1,310 work orders in "
        "September, comfortably past the 1,000 we budgeted",
        ORDERS_COUNT,
        "achieved",
        1310,
        False,
    ),
    (
        "On contract review we would like to get under 2 hours per contract by spring, but "
        "today it still takes around 4 hours per contract",
        CONTRACT,
        "achieved",
        4,
        True,
    ),
    (
        "Our checkout conversion dashboard has been blank since Tuesday",
        CONVERSION,
        "no_value",
        None,
        False,
    ),  # noqa: E501
    ("The tag looks broken", CONVERSION, "no_value", None, False),
    ("We have not seen it come down below 5 hours per contract", CONTRACT, "negation", None, False),
    ("we closed the June books in six days, first time ever", CLOSE, "achieved", 6, False),
    ("We are at 1,150 work orders against the 1,000 we planned", ORDERS, "achieved", 1150, False),
    ("We planned for 1,000 work orders this quarter", ORDERS, "hope", None, False),
    (
        "The crew on cell 6 logged 14 hours of unplanned downtime in May",
        DOWNTIME,
        "achieved",
        14,
        False,
    ),  # noqa: E501
    (
        "We still burn 25 hours on expense reports every month, but contract review is down "
        "to 3 hours per contract",
        CONTRACT,
        "achieved",
        3,
        False,
    ),
    ("We spend 25 hours on expense reports every month", CONTRACT, "no_value", None, False),
    # --- baselines: from, up from, instead of, last year ----------------------------------
    (
        "Checkout conversion is at 3.4% now, up from 2.1% in March",
        CONVERSION,
        "achieved",
        3.4,
        False,
    ),  # noqa: E501
    ("Reviews take 3 hours per contract instead of 7", CONTRACT, "achieved", 3, False),
    ("closing the books went from nine days to six this quarter", CLOSE, "achieved", 6, False),
    (
        "Month-end close took 11 days last year and 7 days this time round",
        CLOSE,
        "achieved",
        7,
        False,
    ),  # noqa: E501
    ("Our close used to take 10 days; in June it took 6", CLOSE, "achieved", 6, False),
    ("down from nine days, we're now closing in five", CLOSE, "achieved", 5, False),
    # --- targets, plans, budgets -----------------------------------------------------------
    ("Finance set a target of 5 days for the close", CLOSE, "hope", None, False),
    ("Our goal for Q3 is 1,500 work orders", ORDERS, "hope", None, False),
    ("We closed 1,420 work orders in August, ahead of plan", ORDERS, "achieved", 1420, False),
    (
        "Onboarding took 5 weeks for the last client, faster than we expected",
        ONBOARD,
        "achieved",
        5,
        False,
    ),  # noqa: E501
    ("The business case promised $60,000 in recovered labour cost", COST, "hope", None, False),
    # --- hopes and forecasts, scoped to their clause -----------------------------------------
    ("We hope to close the books in five days next quarter", CLOSE, "hope", None, False),
    ("Hopefully by Q4 we'll be at 4 days for the close", CLOSE, "hope", None, False),
    ("We're on track to hit 90 points on the next survey", CSAT, "hope", None, False),
    ("The plan is to get conversion to 4% by the holidays", CONVERSION, "hope", None, False),
    (
        "I'd love to get the close to 4 days, though right now we're at 6 days",
        CLOSE,
        "achieved",
        6,
        False,
    ),
    (
        "Projected savings are 400 hours on invoice approvals for the year",
        HOURS_SAVED,
        "hope",
        None,
        False,
    ),  # noqa: E501
    (
        "we should be onboarding new clients in 3 weeks by the end of the year",
        ONBOARD,
        "hope",
        None,
        False,
    ),  # noqa: E501
    # --- negation --------------------------------------------------------------------------
    ("We still haven't closed the books in under 8 days", CLOSE, "negation", None, False),
    ("Honestly we never got conversion past 2%", CONVERSION, "negation", None, False),
    ("Contract review is not at 2 hours yet", CONTRACT, "negation", None, False),
    # --- questions -------------------------------------------------------------------------
    ("Can you confirm we closed 1,200 work orders last month?", ORDERS, "question", None, False),
    ("Is 6 days to close the books good for a company our size?", CLOSE, "question", None, False),
    ("Did conversion really go up to 3.9%?", CONVERSION, "question", None, False),
    # --- conditionals ----------------------------------------------------------------------
    (
        "If the ERP sync goes live we could close the books in 4 days",
        CLOSE,
        "conditional",
        None,
        False,
    ),  # noqa: E501
    (
        "We'd be at 2 hours per contract if legal used the templates",
        CONTRACT,
        "conditional",
        None,
        False,
    ),  # noqa: E501
    (
        "Once the second crew is trained we should see 1,600 work orders a month",
        ORDERS,
        "conditional",
        None,
        False,
    ),  # noqa: E501
    # --- guesses and hearsay ---------------------------------------------------------------
    (
        "I think the close is around 7 days now, but I'd need to check with Marta",
        CLOSE,
        "guess",
        None,
        False,
    ),  # noqa: E501
    ("Apparently the field team did 1,100 work orders in July", ORDERS, "guess", None, False),
    ("My guess is conversion is somewhere near 3%", CONVERSION, "guess", None, False),
    ("According to our controller the books closed in 6 days", CLOSE, "guess", None, False),
    ("Probably 5 weeks to onboard, give or take", ONBOARD, "guess", None, False),
    # --- complaints ------------------------------------------------------------------------
    ("Closing the books is failing again, nine days this time", CLOSE, "complaint", None, False),
    (
        "The approvals queue is broken and 30 invoices are stuck",
        HOURS_SAVED,
        "no_value",
        None,
        False,
    ),  # noqa: E501
    (
        "Work orders are not syncing, crews closed 40 work orders on paper today",
        ORDERS,
        "complaint",
        None,
        False,
    ),  # noqa: E501
    # --- changes and periods are not levels --------------------------------------------------
    ("We cut the close of the books by two days", CLOSE, "no_value", None, False),
    ("we closed the books two days earlier than last year", CLOSE, "no_value", None, False),
    ("In the last 30 days the close ran smoothly", CLOSE, "no_value", None, False),
    ("Three weeks into the rollout, our CSAT came back at 84 points", CSAT, "achieved", 84, False),
    (
        "In the past 3 months we onboarded clients in 6 weeks on average",
        ONBOARD,
        "achieved",
        6,
        False,
    ),  # noqa: E501
    # --- number words, percent, approximations, bounds ---------------------------------------
    ("we got the last client live in five weeks", ONBOARD, "achieved", 5, False),
    ("Checkout conversion hit 4.2 percent last month", CONVERSION, "achieved", 4.2, False),
    (
        "Invoice approvals saved us roughly 300 hours this quarter",
        HOURS_SAVED,
        "achieved",
        300,
        True,
    ),  # noqa: E501
    ("The close is under 5 days for the first time", CLOSE, "achieved", 5, True),
    ("We recovered about $48k in labour cost this half", COST, "achieved", 48000, True),
    ("the survey came back at eighty-four points", CSAT, "achieved", 84, False),
    (
        "The AP team saved two hundred and fifty hours on invoice approvals",
        HOURS_SAVED,
        "achieved",
        250,
        False,
    ),  # noqa: E501
    ("Close took 6-ish days in June", CLOSE, "achieved", 6, True),
    # --- other measures and labels --------------------------------------------------------
    ("Station 4 is the bottleneck for the close", CLOSE, "no_value", None, False),
    (
        "We closed the books in 6 days and onboarded two clients in 3 weeks",
        ONBOARD,
        "achieved",
        3,
        False,
    ),  # noqa: E501
    (
        "Support resolved 210 tickets without escalation in June, out of 260",
        TICKETS,
        "achieved",
        210,
        False,
    ),  # noqa: E501
]


def _outcome(title: str, unit: str) -> Outcome:
    return Outcome(id="o", title=title, category="productivity", unit=unit)


@pytest.mark.parametrize(
    ("sentence", "outcome", "stance", "delivered", "approximate"),
    ROWS,
    ids=[f"{r[2]}:{r[0][:48]}" for r in ROWS],
)
def test_a_sentence_is_proof_only_when_it_asserts_a_value_in_an_achieved_clause(
    sentence: str,
    outcome: tuple[str, str],
    stance: str,
    delivered: float | None,
    approximate: bool,
) -> None:
    title, unit = outcome
    matcher = OutcomeMatcher(_outcome(title, unit))
    reading = read_statement(sentence, unit, is_topic=matcher.is_topic)
    assert reading.stance == stance, (reading, reading.reason)
    assert reading.value == delivered
    assert reading.is_proof == (delivered is not None)
    if reading.is_proof:
        assert reading.approximate == approximate
        assert bool(reading.notes) == approximate  # the customer's hedge word is named
    else:
        assert reading.reason  # the CSM can see why it was set aside


def test_the_question_mark_a_quote_dropped_still_makes_a_question() -> None:
    reading = read_statement("we closed the books in six days", "days", question=True)
    assert reading.stance == "question" and not reading.is_proof


def test_enough_rows_of_our_own_beside_the_issue_sentences() -> None:
    assert len(ROWS) - 12 >= 40
