"""Gap flags (FORMATS §8): pure rules over an account's computed outcomes and drafted evidence.

Every flag says what is missing in plain language, the next action that would produce the
proof, the risk if nobody acts, and who owns it (the account's CSM). Flags that rest on
evidence cite it: ``negative_signal`` the customer's words, ``usage_drop`` the two metric
aggregates (metric ids are not texts, so those citations carry an empty quote at 0..0).

Severity: ``high`` when proof is missing or contradicted (no_evidence, negative_signal,
no_owner, an under-delivery below 80 % of target, a drop of twice the threshold, a payback at
twice its forecast or later); ``medium`` otherwise. Due dates: high 7 days, medium 14 days
after the as-of date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clerk.domain.format import claim_number
from clerk.domain.ids import gap_id
from clerk.domain.models import (
    Account,
    Citation,
    GapFlag,
    GapKind,
    Outcome,
    Period,
    ProofItem,
    Severity,
    SignalDraft,
    ValueCase,
)
from clerk.engine.calculations import OutcomeResult, PaybackResult, attainment, short_of_target
from clerk.settings import Settings

# Below this attainment an under-delivery is high severity.


@dataclass
class OutcomeEvidence:
    """What the sweep found for one outcome: its computation and its verified drafts."""

    result: OutcomeResult
    statements: list[ProofItem] = field(default_factory=list)  # verified customer statements
    statement_dates: dict[str, dt.datetime] = field(default_factory=dict)  # source id -> date
    signals: list[SignalDraft] = field(default_factory=list)
    calculation_verified: bool = False

    @property
    def has_proof(self) -> bool:
        return self.calculation_verified or bool(self.statements)


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class Thresholds:
    """The configurable limits of the gap rules; defaults and descriptions live in Settings."""

    stale_days: int = _default("stale_days")
    usage_drop_pct: float = _default("usage_drop_pct")
    severe_attainment: float = _default("severe_attainment")
    due_days_high: int = _default("gap_due_days_high")
    due_days_medium: int = _default("gap_due_days_medium")
    due_days_low: int = _default("gap_due_days_low")
    statement_tolerance_pct: float = _default("statement_tolerance_pct")
    attainment_bound_pct: float = _default("attainment_bound_pct")
    unconfirmed_days: int = _default("share_answer_days")
    payback_margin_pct: float = _default("payback_margin_pct")

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            stale_days=settings.stale_days,
            usage_drop_pct=settings.usage_drop_pct,
            severe_attainment=settings.severe_attainment,
            due_days_high=settings.gap_due_days_high,
            due_days_medium=settings.gap_due_days_medium,
            due_days_low=settings.gap_due_days_low,
            statement_tolerance_pct=settings.statement_tolerance_pct,
            attainment_bound_pct=settings.attainment_bound_pct,
            unconfirmed_days=settings.share_answer_days,
            payback_margin_pct=settings.payback_margin_pct,
        )

    def due_days(self, severity: Severity) -> int:
        """Days from as-of a gap of ``severity`` is due in."""
        return {
            "high": self.due_days_high,
            "medium": self.due_days_medium,
            "low": self.due_days_low,
        }[severity]


@dataclass(frozen=True)
class SharedPacket:
    """A packet version shared with the customer through a link (not revoked)."""

    version: int
    shared_on: dt.date
    first_answer_on: dt.date | None = None  # the customer's first response on the link


def _flag(
    account: Account,
    as_of: dt.date,
    outcome: Outcome | None,
    kind: GapKind,
    severity: Severity,
    *,
    message: str,
    next_action: str,
    risk: str,
    period: Period | None,
    key: str = "",
    citations: list[Citation] | None = None,
    sources: list[str] | None = None,
) -> GapFlag:
    outcome_id = outcome.id if outcome else None
    return GapFlag(
        id=gap_id(account.id, outcome_id, kind, period, key),
        account=account.id,
        outcome=outcome_id,
        kind=kind,
        severity=severity,
        message=message,
        next_action=next_action,
        risk=risk,
        owner=account.csm,
        period=period,
        citations=citations or [],
        sources=sources or [],
        due_date=None,  # set by raise_gaps from the thresholds
    )


def _who(account: Account) -> str:
    return account.champion.name if account.champion else "the customer's champion"


def drop_pct(before: float | None, now: float | None) -> float | None:
    """Percent fall from ``before`` to ``now`` (positive = fell); None when not comparable."""
    if before is None or now is None or before <= 0:
        return None
    return (before - now) / before * 100


def raise_gaps(
    account: Account,
    value_case: ValueCase,
    as_of: dt.date,
    evidence: dict[str, OutcomeEvidence],
    thresholds: Thresholds | None = None,
    shares: list[SharedPacket] | None = None,
    payback: PaybackResult | None = None,
) -> list[GapFlag]:
    """Every gap flag for an account at ``as_of``, in value-case order, account flags last.

    ``payback`` (the value case's payback at ``as_of``) raises ``payback_behind_forecast``
    when it is later than its forecast by more than ``thresholds.payback_margin_pct``.
    """
    limits = thresholds or Thresholds()
    flags: list[GapFlag] = []
    for outcome in value_case.outcomes:
        found = evidence.get(outcome.id)
        if found is not None:
            flags += _outcome_gaps(account, value_case, as_of, found, limits)
    if not account.csm:
        flags.append(
            _flag(
                account, as_of, None, "no_owner", "high",
                message=f"{account.name} has no CSM who owns its value proof.",
                next_action="Assign a CSM as the account's owner in account.yaml (csm:).",
                risk="Nobody reviews the drafts or chases the gaps, so the renewal arrives "
                "without approved proof.",
                period=None,
            )
        )  # fmt: skip
    behind = payback_behind(payback, limits)
    if behind is not None:
        flags.append(behind(account, as_of))
    proven = [value_case.outcome(o) for o, e in evidence.items() if e.has_proof]
    if proven and all(o is not None and o.category == "adoption" for o in proven):
        flags.append(
            _flag(
                account, as_of, None, "usage_proxy_only", "medium",
                message="Every outcome with proof is an adoption outcome: the packet shows "
                "activity, not business impact.",
                next_action=f"Ask {_who(account)} which business result the usage produced "
                "(time, money or risk) and capture it in their words.",
                risk="Finance reads usage as cost, not value; the renewal case rests on "
                "activity alone.",
                period=None,
            )
        )  # fmt: skip
    unanswered = unconfirmed_share(shares or [], as_of, limits.unconfirmed_days)
    if unanswered is not None:
        days = (as_of - unanswered.shared_on).days
        flags.append(
            _flag(
                account, as_of, None, "unconfirmed_by_customer", "medium",
                message=f"Packet version {unanswered.version} was shared with the customer on "
                f"{unanswered.shared_on.isoformat()} and has had no answer in {days} days.",
                next_action=f"Ask {_who(account)} to confirm or question each item from the "
                "share link (or share a new version if the link expired).",
                risk="Proof the customer never accepted may not survive their own review; at "
                "renewal the numbers are the vendor's claims, not the champion's.",
                period=None,
            )
        )  # fmt: skip
    for flag in flags:
        flag.due_date = as_of + dt.timedelta(days=limits.due_days(flag.severity))
    return flags


def unconfirmed_share(shares: list[SharedPacket], as_of: dt.date, days: int) -> SharedPacket | None:
    """The newest packet shared by ``as_of`` when it is still unanswered ``days`` later."""
    shared = [s for s in shares if s.shared_on <= as_of]
    if not shared:
        return None
    newest = max(shared, key=lambda s: (s.shared_on, s.version))
    answered = newest.first_answer_on is not None and newest.first_answer_on <= as_of
    if answered or (as_of - newest.shared_on).days < days:
        return None
    return newest


def payback_behind(
    payback: PaybackResult | None, limits: Thresholds
) -> Callable[[Account, dt.date], GapFlag] | None:
    """The ``payback_behind_forecast`` flag maker when payback is late beyond the margin."""
    if payback is None or payback.months is None or not payback.forecast:
        return None
    months, forecast = payback.months, payback.forecast
    if round(months, 9) <= forecast * (1 + limits.payback_margin_pct / 100):
        return None
    severity: Severity = "high" if months >= 2 * forecast else "medium"
    benefit = payback.benefit

    def make(account: Account, as_of: dt.date) -> GapFlag:
        title = benefit.outcome.title
        return _flag(
            account, as_of, None, "payback_behind_forecast", severity,
            period=benefit.period, key=benefit.outcome.id,
            message=f"At the {benefit.period.label} rate of {title.lower()}, the investment "
            f"pays back in {claim_number(months)} months, later than the forecast of "
            f"{claim_number(forecast)} months.",
            next_action=f"Review with {_who(account)} what holds {title.lower()} back and "
            "agree the steps that bring payback toward the forecast, or restate the forecast "
            "with them.",
            risk="Finance compares payback with the business case at renewal; a payback far "
            "behind it reads as a failed investment.",
        )  # fmt: skip

    return make


def _outcome_gaps(
    account: Account,
    value_case: ValueCase,
    as_of: dt.date,
    found: OutcomeEvidence,
    limits: Thresholds,
) -> list[GapFlag]:
    result, outcome = found.result, found.result.outcome
    period, title = result.period, outcome.title
    flags: list[GapFlag] = []
    reported = outcome.evidence == "customer_reported" or outcome.formula is None

    if not result.computed and not found.statements:
        if reported:
            message = f"No customer statement says how {title.lower()} changed."
            action = (
                f"Ask {_who(account)} to state {title.lower()} in their own words and add the "
                "note or email to the account."
            )
        else:
            why = "; ".join(dict.fromkeys(result.missing)) or "an input is missing"
            message = f"{title} cannot be computed for {period.label}: {why}."
            action = (
                "Check that the usage events behind it are sent and routed to this account, "
                "or ask the customer to confirm the result in writing."
            )
        flags.append(
            _flag(account, as_of, outcome, "no_evidence", "high", message=message,
                  next_action=action, period=period,
                  risk=f"The packet cannot claim {title.lower()}; it will be judged on our word.")
        )  # fmt: skip

    left_out = [i.non_numeric for i in result.inputs if i.non_numeric]
    if result.computed and left_out:
        flags.append(
            _flag(account, as_of, outcome, "no_evidence", "medium", key="non_numeric",
                  message=f"{title} for {period.label} leaves out values that are not numbers: "
                  + "; ".join(left_out) + ".",
                  next_action="Fix the field at its source (or map it in usage/mapping.yaml) "
                  "and ingest again, so every event counts.",
                  period=period,
                  risk="The figure understates what was delivered and will not survive a "
                  "customer's own count.")
        )  # fmt: skip

    delivered = result.delivered
    if delivered is None:
        stated = [s.delivered for s in _newest_first(found) if s.delivered is not None]
        delivered = stated[0] if stated else None
    if short_of_target(outcome, delivered):
        assert delivered is not None and outcome.target is not None
        ratio = attainment(outcome, delivered)
        severe = ratio is not None and ratio < limits.severe_attainment
        severity: Severity = "high" if severe else "medium"
        word = "above" if outcome.direction == "decrease" else "short of"
        flags.append(
            _flag(
                account, as_of, outcome, "under_delivery", severity, period=period,
                message=f"{title}: {claim_number(delivered)} {outcome.unit} in {period.label}, "
                f"{word} the target of {claim_number(outcome.target)}.",
                next_action=f"Review with {_who(account)} what holds {title.lower()} back and "
                "agree a plan to reach the target, or restate the target with them.",
                risk="The customer sees the promise missed at renewal before we explain it.",
            )
        )  # fmt: skip

    if reported and found.statements:
        newest = max(found.statement_dates.values(), default=None)
        if newest is not None and (as_of - newest.date()).days > limits.stale_days:
            flags.append(
                _flag(
                    account, as_of, outcome, "stale_evidence", "medium", period=period,
                    message=f"The newest customer statement on {title.lower()} is from "
                    f"{newest.date().isoformat()}, more than {limits.stale_days} days before "
                    f"{as_of.isoformat()}.",
                    next_action=f"Ask {_who(account)} whether {title.lower()} still holds and "
                    "record the answer.",
                    risk="Old words may no longer be true; finance will discount them.",
                )
            )  # fmt: skip

    for item in result.inputs:
        if item.kind == "assumption" and not item.cited_as:
            flags.append(
                _flag(
                    account, as_of, outcome, "unverified_assumption", "medium", period=period,
                    key=item.name,
                    message=f"The assumption {item.name} of {title.lower()} has no source, "
                    "neither its own nor the value case's.",
                    next_action=f"Find the study or document behind {item.name} and add it as "
                    "the input's source, or agree the figure with the customer.",
                    risk="Finance can reject the whole calculation as resting on our guess.",
                )
            )  # fmt: skip
        pct = drop_pct(item.previous.value if item.previous else None, item.value)
        # Rounded so that a drop of exactly the threshold counts despite float noise.
        dropped = pct is not None and round(pct, 9) >= limits.usage_drop_pct
        if item.kind == "metric" and item.previous is not None and dropped:
            assert pct is not None
            before = item.previous
            flags.append(
                _flag(
                    account, as_of, outcome, "usage_drop",
                    "high" if pct >= 2 * limits.usage_drop_pct else "medium",
                    period=period, key=item.name,
                    sources=[before.source_id, item.source],
                    message=f"{item.name} fell by {claim_number(pct)} % in {period.label} against "
                    f"the period before ({claim_number(before.value or 0)} to "
                    f"{claim_number(item.value or 0)}).",
                    next_action=f"Ask {_who(account)} what changed in how the team works "
                    f"and whether {title.lower()} is still on track.",
                    risk="Falling usage usually precedes a lost renewal; the outcome built "
                    "on it will fall too.",
                )
            )  # fmt: skip

    for signal in found.signals:
        key = ",".join(sorted(f"{c.source}#{c.start}" for c in signal.citations))
        flags.append(
            _flag(
                account, as_of, outcome, "negative_signal", "high", period=period, key=key,
                citations=signal.citations,
                message=signal.reason,
                next_action=f"Call {_who(account)} about it, fix the cause and ask them to "
                "confirm in writing that it works again.",
                risk=f"The customer's own words contradict {title.lower()}; a packet that "
                "ignores them loses credibility.",
            )
        )  # fmt: skip
    return flags


def _newest_first(found: OutcomeEvidence) -> list[ProofItem]:
    def newest(item: ProofItem) -> dt.datetime:
        dates = [found.statement_dates.get(c.source) for c in item.citations]
        return max((d for d in dates if d is not None), default=dt.datetime.min)

    return sorted(found.statements, key=newest, reverse=True)
