"""Seeded generator of evaluation data folders with planted truth (FORMATS §1-6 and §9).

``generate(out_dir, n_accounts, seed, as_of)`` writes a DATA folder and ``expected.json`` in
the shape of ``shared/spec/example/expected.json``, plus two additions the scorer reads:
``injected_numbers`` per account and ``features`` (which planted cases the account carries,
for reading a failure). Every expected value is computed from the generated events by the
generator's own reference aggregator (:func:`evals.synth.aggregate`) and its own arithmetic,
never by the clerk's metric engine.

    python -m evals.generator OUT --accounts 200 --seed 7 --as-of 2026-07-01
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

from evals import texts
from evals.plans import AccountOut, OutcomePlan
from evals.planting import STMT_MODES, TextPlanting
from evals.scenarios import (
    CSMS,
    DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    Domain,
    calculated_recipes,
    cost_recipe,
    slug,
)
from evals.synth import (
    MONTHS_IN,
    Event,
    Plan,
    Synth,
    Window,
    aggregate,
    midnight,
    period_before,
)
from evals.synth import reporting_period as _period
from evals.writer import write_folder

DEFAULT_AS_OF = dt.date(2026, 7, 1)
DROP = 0.30  # FORMATS default usage_drop threshold
# Each account index cycles through one of these, so even a 6-8 account set plants every case.
PRIMARY: tuple[frozenset[str], ...] = tuple(
    frozenset(s.split())
    for s in (
        "drop_above stmt_call payback injection_ticket",
        "drop_below stmt_email unverified negative_signal",
        "no_events stale resolved_ticket injection_note",
        "adoption_only no_owner",
        "negative_signal stmt_ticket payback unverified injection_ticket",
        "missing_statement drop_above no_owner resolved_ticket",
        "stmt_call no_events resolved_ticket payback injection_note",
        "drop_below stale negative_signal unverified",
    )
)
EXTRAS = (
    "payback",
    "unverified",
    "negative_signal",
    "resolved_ticket",
    "injection_ticket",
    "injection_note",
    "no_events",
    "no_owner",
)
OTHER_RECIPES = ("revenue", "peak", "backlog", "adoption", "rate", "reports")
PERIOD_CYCLE = ("quarter", "month", "year", "contract")
SCALE = {"month": 1 / 3, "quarter": 1.0, "year": 2.0, "contract": 1.5}


def _nice(x: float) -> float:
    if x >= 100:
        return float(round(x))
    return round(x, 1) if x >= 10 else round(x, 2)


def _choose_target(
    rng: random.Random, delivered: float, direction: str, under: bool, cap: float | None = None
) -> float:
    """A round target clearly (>= 3 %) on the planned side of ``delivered``."""
    for _ in range(50):
        r = rng.uniform(0.62, 0.9) if under else rng.uniform(1.08, 1.4)
        target = _nice(delivered / r if direction == "increase" else delivered * r)
        if cap is not None and target > cap:
            continue
        ratio = delivered / target if target else 0
        short = ratio < 1 if direction == "increase" else ratio > 1
        if target > 0 and short == under and abs(ratio - 1) >= 0.03:
            return target
    raise RuntimeError("could not place a target")  # pragma: no cover - ranges guarantee one


class _AccountBuilder(TextPlanting):
    def __init__(self, index: int, rng: random.Random, as_of: dt.date, ticket_base: int) -> None:
        self.i, self.rng, self.as_of = index, rng, as_of
        self.features = set(PRIMARY[index % len(PRIMARY)])
        self.phenomena: set[str] = set()
        self.features |= {f for f in EXTRAS if rng.random() < 0.12 and f != "no_events"}
        if "adoption_only" in self.features:
            self.features -= {
                "payback",
                "negative_signal",
                "unverified",
                "no_events",
                "drop_above",
                "drop_below",
                *STMT_MODES,
            }
        self.domain: Domain = DOMAINS[rng.randrange(len(DOMAINS))]
        company = f"{rng.choice(self.domain.companies)} {self.domain.industry.capitalize()}"
        self.id = f"{slug(company).replace('_', '-')}-{index:03d}"
        self.name = company
        self.ticket_base = ticket_base

    # --- planning -------------------------------------------------------------------

    def _recipes(self) -> list[OutcomePlan]:
        rng, d = self.rng, self.domain
        book = calculated_recipes(d, rng.choice([20, 30, 45, 60, 75, 90]))
        if "adoption_only" in self.features:
            return [
                OutcomePlan(book["adoption"], rng.choice(["quarter", "month"])),
                OutcomePlan(book["reports"], rng.choice(["quarter", "contract"])),
            ]
        drops = "drop_above" in self.features or "drop_below" in self.features
        hours_period = rng.choice(["quarter", "month"] if drops else ["quarter", "month", "year"])
        plans = [OutcomePlan(book["hours"], hours_period)]
        if rng.random() < 0.7 or "payback" in self.features:
            cost = cost_recipe(book["hours"], rng.choice([45, 52.5, 60, 75, 90]), d)
            plans.append(OutcomePlan(cost, hours_period))
        others = [OTHER_RECIPES[self.i % 6], OTHER_RECIPES[(self.i + 2) % 6]]
        if rng.random() < 0.3:
            others.append(OTHER_RECIPES[(self.i + 4) % 6])
        for n, key in enumerate(others):
            period = PERIOD_CYCLE[self.i % 4] if n == 0 else rng.choice(PERIOD_CYCLE)
            plans.append(OutcomePlan(book[key], period))
        return plans

    def _contract_start(self, plans: list[OutcomePlan]) -> dt.date:
        if any(p.period == "year" for p in plans):
            return dt.date(self.as_of.year - 2, 1, 1)
        back = self.as_of - dt.timedelta(days=self.rng.randint(330, 520))
        return dt.date(back.year, back.month, 1)

    def _plans_for_drops(self, plans: list[OutcomePlan]) -> None:
        capable = [
            p
            for p in plans
            if p.recipe.key in ("hours", "revenue", "adoption", "reports")
            and p.period != "contract"
            and not p.no_events
        ]
        for feature, tag in (("drop_above", "drop31"), ("drop_below", "drop29")):
            free = [p for p in capable if p.drop is None]
            if feature in self.features and free:
                free[0].drop = tag

    def _value_plans(self, p: OutcomePlan) -> tuple[Plan, Plan | None]:
        rng, key = self.rng, p.recipe.key
        f = SCALE[p.period]
        lo, hi = p.recipe.scale
        n = max(3, int(rng.randint(lo, hi) * f))
        change = rng.uniform(-0.12, 0.15 if p.recipe.direction == "decrease" else 0.35)

        def before(now: float, integer: bool) -> float:
            prior = now / (1 + change)
            return float(max(1, round(prior))) if integer else round(prior, 2)

        if key in ("hours", "reports"):
            if p.drop:
                m = max(1, round(n / 100))
                now = 69 * m if p.drop == "drop31" else 71 * m
                return Plan(now), Plan(100 * m)
            return Plan(n), Plan(before(n, True))
        if key == "rate":
            other = rng.randint(max(3, n // 5), n)
            cur = Plan(n, extra={"other": other})
            return cur, Plan(before(n, True), extra={"other": before(other, True)})
        if key == "revenue":
            total = round(rng.uniform(8000, 60000) * f, 2)
            if p.drop:
                prior_total = round(total / (0.69 if p.drop == "drop31" else 0.71), 2)
                return Plan(total, n=n), Plan(prior_total, n=n)
            return Plan(total, n=n), Plan(before(total, False), n=n)
        if key == "peak":
            top = rng.randint(600, 2500)
            return Plan(top, n=n), Plan(before(top, True), n=n)
        if key == "backlog":
            last = rng.randint(20, 200)
            return Plan(last, n=n), Plan(before(last, True), n=n)
        # adoption: distinct users
        if p.drop:
            m = rng.randint(1, 2)
            k_now, k_before = (20 * m, 29 * m) if p.drop == "drop31" else (22 * m, 31 * m)
            return Plan(k_now, n=n + k_now), Plan(k_before, n=n + k_before)
        k = rng.randint(12, 60)
        return Plan(k, n=max(n, k)), Plan(before(k, True), n=max(n, k))

    def build(self) -> AccountOut:
        rng, as_of = self.rng, self.as_of
        plans = self._recipes()
        contract_start = self._contract_start(plans)
        payback_benefit: OutcomePlan | None = None
        if "payback" in self.features:
            money = [p for p in plans if p.recipe.unit == "USD" and p.period != "contract"]
            payback_benefit = money[0] if money else None
        if "no_events" in self.features:
            pool = [p for p in plans if p.recipe.key in OTHER_RECIPES and p is not payback_benefit]
            if pool:
                pool[-1].no_events = True
        self._plans_for_drops(plans)

        subjects = [self.id] + ([f"{self.id}-eu"] if rng.random() < 0.3 else [])
        events: list[Event] = []
        for p in plans:
            p.window = _period(p.period, as_of, contract_start)
            p.prior = period_before(p.period, p.window)
            if p.recipe.key == "cost" or p.no_events:
                continue
            synth = Synth(rng, p.recipe, subjects, f"{self.id[:12]}{p.recipe.key[:2]}")
            now, prior = self._value_plans(p)
            events += synth.window(p.window, now)
            if p.prior is not None and prior is not None:
                events += synth.window(p.prior, prior)
                events += synth.edge_after(p.window)
                history = Window(
                    max(
                        p.prior.start - (p.window.start - p.prior.start),
                        midnight(contract_start),
                    ),
                    p.prior.start,
                )
                events += synth.noise_window(history, 6)
                events += synth.noise_window(Window(p.window.end, midnight(as_of)), 8)

        # --- the truth, recomputed from the events -----------------------------------
        delivered: dict[str, float] = {}
        for p in plans:
            assert p.window is not None
            values: dict[str, float] = {}
            computable = True
            for spec in p.recipe.inputs:
                if spec.metric:
                    now_v = aggregate(
                        events,
                        spec.metric,
                        spec.aggregation or "",
                        spec.field,
                        spec.where,
                        p.window,
                    )
                    before_v = (
                        aggregate(
                            events,
                            spec.metric,
                            spec.aggregation or "",
                            spec.field,
                            spec.where,
                            p.prior,
                        )
                        if p.prior
                        else None
                    )
                    p.inputs_now[spec.name], p.inputs_before[spec.name] = now_v, before_v
                    if now_v is None:
                        computable = False
                    else:
                        values[spec.name] = now_v
                elif spec.outcome:
                    if spec.outcome not in delivered:
                        computable = False
                    else:
                        values[spec.name] = delivered[spec.outcome]
                else:
                    values[spec.name] = float(spec.assumption or 0)
            if computable:
                p.delivered = p.recipe.compute(values)
                delivered[p.recipe.outcome_id] = p.delivered
        for p in plans:
            if p.delivered is None:
                continue
            p.under = rng.random() < 0.35
            cap = 100.0 if p.recipe.unit == "percent" else None
            if cap is not None and p.under and p.delivered > 90:
                p.under = False
            p.target = _choose_target(rng, p.delivered, p.recipe.direction, p.under, cap)
        return self._finish(plans, contract_start, subjects, events, payback_benefit)

    # --- texts, files and expected ---------------------------------------------------

    def _finish(
        self,
        plans: list[OutcomePlan],
        contract_start: dt.date,
        subjects: list[str],
        events: list[Event],
        payback_benefit: OutcomePlan | None,
    ) -> AccountOut:
        rng, d = self.rng, self.domain
        people = [
            texts.Person(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), "") for _ in range(2)
        ]
        domain = f"{self.id.rsplit('-', 1)[0]}.example"
        champion = texts.Person(
            people[0].first, people[0].last, f"{people[0].first.lower()}@{domain}"
        )
        executive = people[1]
        csm = None if "no_owner" in self.features else CSMS[self.i % len(CSMS)]
        org_id = 3000 + self.i
        sink = texts.TextSink(
            self.id,
            org_id,
            csm,
            champion,
            executive,
            requester_id=100000 + self.i * 10,
            next_ticket=self.ticket_base,
        )
        flags: set[tuple[str | None, str]] = set()
        optional: set[tuple[str | None, str]] = set()
        items: list[dict[str, Any]] = []
        annual = float(rng.choice([36000, 48000, 60000, 72000, 96000, 120000, 150000]))

        # Assumption sources: the unverified case drops the value case's and one input's.
        unverified = "unverified" in self.features
        vc_source = (
            None
            if unverified
            else ("Business case v2, approved by the CFO" if rng.random() < 0.6 else None)
        )
        assumption_inputs = [
            (p, s) for p in plans for s in p.recipe.inputs if s.assumption is not None
        ]
        unsourced = rng.choice(assumption_inputs) if unverified and assumption_inputs else None

        outcomes_yaml: list[dict[str, Any]] = []
        referencing = {
            s.outcome: p.recipe.outcome_id for p in plans for s in p.recipe.inputs if s.outcome
        }
        for p in plans:
            r = p.recipe
            oid = r.outcome_id
            entry: dict[str, Any] = {
                "id": oid,
                "title": r.title,
                "category": r.category,
                "unit": r.unit,
                "period": p.period,
            }
            if r.direction == "decrease":
                entry["direction"] = "decrease"
            # An outcome with no events still promises something; its target is arbitrary.
            entry["target"] = p.target if p.target is not None else float(rng.randint(20, 400))
            entry["formula"] = r.formula
            inputs: dict[str, Any] = {}
            for s in r.inputs:
                if s.metric:
                    spec: dict[str, Any] = {"metric": s.metric, "aggregation": s.aggregation}
                    if s.field:
                        spec["field"] = s.field
                    if s.where:
                        spec["where"] = dict(s.where)
                elif s.outcome:
                    spec = {"outcome": s.outcome}
                else:
                    spec = {"assumption": s.assumption, "unit": s.unit}
                    if unsourced is not None and unsourced[1] is s:
                        flags.add((oid, "unverified_assumption"))
                        if oid in referencing:
                            optional.add((referencing[oid], "unverified_assumption"))
                    elif vc_source is None or rng.random() < 0.5:
                        spec["source"] = f"Time study with the {d.obj} team, {contract_start}"
                inputs[s.name] = spec
            entry["inputs"] = inputs
            outcomes_yaml.append(entry)
            if p.delivered is None:
                flags.add((oid, "no_evidence"))
                continue
            item: dict[str, Any] = {
                "outcome": oid,
                "kind": "calculation",
                "delivered": round(p.delivered, 6),
                "target": p.target,
            }
            if r.category == "adoption":
                item["evidence_category"] = "usage_proxy"
            items.append(item)
            if p.under:
                flags.add((oid, "under_delivery"))
            for name, now_v in p.inputs_now.items():
                before_v = p.inputs_before.get(name)
                if now_v is None or not before_v:
                    continue
                fall = (before_v - now_v) / before_v
                if p.drop is None and 0.25 < fall < 0.35:
                    # Random data fell near the threshold by chance: not part of the plan, so
                    # the flag may appear or not without counting either way.
                    optional.add((oid, "usage_drop"))
                    if oid in referencing:
                        optional.add((referencing[oid], "usage_drop"))
                    continue
                if fall >= DROP:
                    flags.add((oid, "usage_drop"))
                    if oid in referencing:
                        optional.add((referencing[oid], "usage_drop"))

        goals = self._reported(outcomes_yaml, items, flags, optional, sink, contract_start)
        kickoff_day = contract_start + dt.timedelta(days=10)
        texts.kickoff(sink, kickoff_day, goals or [f"The goal is faster {d.obj} processing."])
        self._tickets(plans, sink, flags, optional, referencing)
        injected = self._injections(plans, sink, items)

        payback: dict[str, Any] | None = None
        if payback_benefit is not None and payback_benefit.delivered:
            months = MONTHS_IN[payback_benefit.period]
            investment = annual if rng.random() < 0.5 else float(round(annual * 1.25))
            payback = {
                "benefit": payback_benefit.recipe.outcome_id,
                "forecast_months": rng.choice([6, 9, 12, 18]),
            }
            if investment != annual:
                payback["investment"] = investment
            payback_months = investment / (payback_benefit.delivered / months)
            items.append(
                {"outcome": None, "kind": "payback", "delivered": round(payback_months, 6)}
            )
            # payback_behind_forecast at the clerk's default margin (CLERK_PAYBACK_MARGIN_PCT)
            late = payback_months / payback["forecast_months"]
            if abs(late - PAYBACK_LATE) < 0.01:
                optional.add((None, "payback_behind_forecast"))
            elif late > PAYBACK_LATE:
                flags.add((None, "payback_behind_forecast"))

        proven = [p for p in plans if p.delivered is not None]
        reported_proven = any(i["kind"] == "customer_statement" for i in items)
        if proven and not reported_proven and all(p.recipe.category == "adoption" for p in proven):
            flags.add((None, "usage_proxy_only"))
        if csm is None:
            flags.add((None, "no_owner"))

        account = {
            "id": self.id,
            "name": self.name,
            **({"csm": csm} if csm else {}),
            "champion": {
                "name": champion.name,
                "title": "Director of Operations",
                "email": champion.email,
            },
            "executive_buyer": {"name": executive.name, "title": "CFO"},
            "contract": {
                "start": contract_start,
                "renewal": dt.date(contract_start.year + 2, contract_start.month, 1),
                "annual_value": annual,
                "currency": "USD",
            },
            "zendesk_organization_id": org_id,
            "usage_subjects": subjects,
            "customer_domains": [domain],
        }
        value_case: dict[str, Any] = {}
        if vc_source:
            value_case["source"] = vc_source
        value_case["outcomes"] = outcomes_yaml
        if payback:
            value_case["payback"] = payback
        optional -= flags
        expected = {
            "proof_items": items,
            "gap_flags": [{"outcome": o, "kind": k} for o, k in sorted(flags, key=_flag_key)],
            "optional_gap_flags": [
                {"outcome": o, "kind": k} for o, k in sorted(optional, key=_flag_key)
            ],
            "injected_numbers": injected,
            "features": sorted(self.features),
            "phenomena": sorted(self.phenomena),
        }
        csv_recipes = {p.recipe.key for p in plans if p.recipe.csv_ok and rng.random() < 0.35}
        return AccountOut(self.id, account, value_case, sink, events, expected, csv_recipes)


PAYBACK_LATE = 1.25  # payback later than forecast by more than 25 % is a gap


def _flag_key(flag: tuple[str | None, str]) -> tuple[str, str]:
    return (flag[0] or "", flag[1])


def generate(
    out_dir: Path | str, n_accounts: int = 20, seed: int = 7, as_of: dt.date = DEFAULT_AS_OF
) -> dict[str, Any]:
    """Write a DATA folder of ``n_accounts`` accounts under ``out_dir``; return expected.json.

    The same arguments always write the same bytes. ``out_dir/expected.json`` is written too.
    """
    out = Path(out_dir)
    rng = random.Random(seed)
    accounts: list[AccountOut] = []
    for i in range(n_accounts):
        builder = _AccountBuilder(
            i, random.Random(rng.getrandbits(64)), as_of, ticket_base=50000 + i * 100
        )
        accounts.append(builder.build())
    ingest = write_folder(out, accounts, random.Random(rng.getrandbits(64)), as_of)
    expected = {
        "as_of": as_of.isoformat(),
        "accounts": {a.id: a.expected for a in accounts},
        "ingest": ingest,
        "generator": {"seed": seed, "n_accounts": n_accounts},
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
    return expected


def main(argv: list[str] | None = None) -> int:
    """``python -m evals.generator OUT [--accounts N] [--seed S] [--as-of D]``."""
    parser = argparse.ArgumentParser(prog="python -m evals.generator", description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=DEFAULT_AS_OF)
    args = parser.parse_args(argv)
    expected = generate(args.out, args.accounts, args.seed, args.as_of)
    counts = expected["ingest"]
    print(
        f"{len(expected['accounts'])} accounts written to {args.out} "
        f"({counts['new_events']:,} events, {counts['duplicates']:,} duplicates, "
        f"{counts['rejected_rows']:,} malformed rows, {counts['unrouted_events']:,} unrouted)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
