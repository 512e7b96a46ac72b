"""Planting text evidence: customer statements, vendor decoys, complaints and injections.

A mixin of the generator's account builder: it writes notes and tickets through
:mod:`evals.texts` and records, as it goes, the proof items and gap flags they imply.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from evals import texts
from evals.plans import OutcomePlan
from evals.scenarios import (
    COMPLAINTS_SHARING_WORDS,
    HOPE_BESIDE_RESULT,
    INJECTED_NUMBERS,
    NOT_RESULTS,
    REPORTED,
    SEVERAL_NUMBERS,
    Domain,
    ReportedTemplate,
    number_words,
)
from evals.synth import midnight
from evals.synth import reporting_period as _period

STMT_MODES = ("stmt_call", "stmt_email", "stmt_ticket", "stale", "missing_statement")


class TextPlanting:
    """Statements, decoys, tickets and injections for one account (see the module doc)."""

    rng: random.Random
    as_of: dt.date
    features: set[str]
    domain: Domain
    phenomena: set[str]

    def _reported(
        self,
        outcomes_yaml: list[dict[str, Any]],
        items: list[dict[str, Any]],
        flags: set[tuple[str | None, str]],
        optional: set[tuple[str | None, str]],
        sink: texts.TextSink,
        contract_start: dt.date,
    ) -> list[str]:
        """Customer-reported outcomes with their statements, decoys and goals."""
        rng, as_of = self.rng, self.as_of
        modes = [m for m in STMT_MODES if m in self.features]
        if "adoption_only" not in self.features and not modes and rng.random() < 0.5:
            modes = [rng.choice(STMT_MODES[:3])]
        goals: list[str] = []
        templates: list[ReportedTemplate] = rng.sample(list(REPORTED), k=min(2, len(modes)))
        quarter = _period("quarter", as_of, contract_start)
        for tpl, mode in zip(templates, modes, strict=False):
            base, target = rng.randint(*tpl.baseline), rng.randint(*tpl.target)
            value = (
                rng.randint(max(1, target - 2), target)
                if tpl.direction == "decrease"
                else rng.randint(target, target + 6)
            )
            entry: dict[str, Any] = {
                "id": tpl.outcome_id,
                "title": tpl.title,
                "category": tpl.category,
                "unit": tpl.unit,
            }
            if tpl.direction == "decrease":
                entry["direction"] = "decrease"
            entry |= {"baseline": base, "target": target, "evidence": "customer_reported"}
            if tpl.aliases:
                entry["aliases"] = list(tpl.aliases)
            outcomes_yaml.append(entry)
            sentence = self._statement_sentence(tpl, value, base, target)
            if mode == "stale":
                day = as_of - dt.timedelta(days=rng.randint(115, 200))
            else:
                lo = max(as_of - dt.timedelta(days=60), quarter.start.date())
                hi = min(as_of, quarter.end.date()) - dt.timedelta(days=1)
                if lo > hi:
                    lo, hi = as_of - dt.timedelta(days=60), as_of - dt.timedelta(days=1)
                day = lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))
            source = None
            if mode in ("stmt_call", "stale"):
                source = texts.statement_in_call(sink, day, sentence)
            elif mode == "stmt_email":
                source = texts.statement_in_email(sink, day, sentence)
            elif mode == "stmt_ticket":
                source = texts.statement_in_ticket(sink, day, sentence, rng)
            if source is None:
                flags.add((tpl.outcome_id, "no_evidence"))
            else:
                items.append(
                    {
                        "outcome": tpl.outcome_id,
                        "kind": "customer_statement",
                        "delivered": value,
                        "sources": [source],
                    }
                )
                if mode == "stale":
                    flags.add((tpl.outcome_id, "stale_evidence"))
                    optional.add((tpl.outcome_id, "no_evidence"))
            if source is None or rng.random() < 0.7:
                self.phenomena.add("agent_notes")
                decoys = [n for n in range(max(2, value - 4), value + 6) if n != value]
                texts.vendor_decoys(
                    sink,
                    as_of - dt.timedelta(days=rng.randint(3, 40)),
                    rng,
                    tpl.title,
                    tpl.unit,
                    rng.sample(decoys, 3),
                )
            self._not_results(sink, tpl, value, optional)
            goals.append(
                f"The goal is to take {tpl.title.lower()} from {number_words(base)} "
                f"to {number_words(target)}."
            )
        return goals

    def _statement_sentence(self, tpl: ReportedTemplate, value: int, base: int, target: int) -> str:
        """The planted statement, in one of several shapes (a phenomenon each)."""
        rng = self.rng
        words = tpl.words or rng.random() < 0.3
        if words:
            self.phenomena.add("number_words")
        say = number_words(value) if words else str(value)
        shape = rng.choice(("plain", "hope_beside_result", "several_numbers", "paraphrase"))
        if shape == "paraphrase" and tpl.paraphrases:
            self.phenomena.add("paraphrase_alias" if tpl.aliases else "paraphrase")
            return rng.choice(tpl.paraphrases).format(n=say)
        plain = rng.choice(tpl.sentences).format(n=say)
        goal = value - 2 if tpl.direction == "decrease" else value + 4
        fill = {"s": plain, "u": tpl.unit, "g": goal, "b": base}
        if shape == "hope_beside_result":
            self.phenomena.add("hope_beside_result")
            return rng.choice(HOPE_BESIDE_RESULT).format(**fill)
        if shape == "several_numbers":
            self.phenomena.add("several_numbers")
            return rng.choice(SEVERAL_NUMBERS[tpl.direction]).format(**fill)
        self.phenomena.add("plain")
        return plain

    def _not_results(
        self,
        sink: texts.TextSink,
        tpl: ReportedTemplate,
        value: int,
        optional: set[tuple[str | None, str]],
    ) -> None:
        """Two customer sentences naming the outcome with a number that is not a result."""
        rng, as_of = self.rng, self.as_of
        others = [n for n in range(max(2, value - 5), value + 7) if n != value]
        kinds = rng.sample([*NOT_RESULTS, "complaint_sharing_words"], k=2)
        for kind in kinds:
            m = rng.choice(others)
            day = as_of - dt.timedelta(days=rng.randint(2, 50))
            fill = {"t": tpl.title.lower(), "m": m, "u": tpl.unit}
            self.phenomena.add(kind)
            if kind == "complaint_sharing_words":
                text = rng.choice(COMPLAINTS_SHARING_WORDS).format(**fill)
                texts.fixed_complaint(sink, texts.at_day(day, rng), text)
                optional.add((tpl.outcome_id, "negative_signal"))
                continue
            sentence = rng.choice(NOT_RESULTS[kind]).format(**fill)
            texts.customer_remark(sink, day, sentence, rng)

    def _tickets(
        self,
        plans: list[OutcomePlan],
        sink: texts.TextSink,
        flags: set[tuple[str | None, str]],
        optional: set[tuple[str | None, str]],
        referencing: dict[str, str],
    ) -> None:
        rng, as_of = self.rng, self.as_of
        calendar = [
            p
            for p in plans
            if p.delivered is not None
            and p.recipe.key != "cost"
            and p.period in ("month", "quarter")
            and p.window is not None
        ]
        used: set[str] = set()
        if "negative_signal" in self.features and calendar:
            p = rng.choice(calendar)
            used.add(p.recipe.outcome_id)
            assert p.window is not None
            end = min(p.window.end, midnight(as_of)) - dt.timedelta(days=2)
            span = max(1, int((end - p.window.start).total_seconds()) // 3600)
            created = p.window.start + dt.timedelta(hours=rng.randrange(span))
            texts.open_complaint(sink, created, p.recipe.workflow, p.recipe.title, rng)
            self.phenomena.add("open_complaint")
            flags.add((p.recipe.outcome_id, "negative_signal"))
            if p.recipe.outcome_id in referencing:
                optional.add((referencing[p.recipe.outcome_id], "negative_signal"))
        others = [
            p
            for p in plans
            if p.recipe.key != "cost" and p.recipe.outcome_id not in used and p.window is not None
        ]
        if "resolved_ticket" in self.features and others:
            p = rng.choice(others)
            assert p.window is not None
            end = min(p.window.end, midnight(as_of)) - dt.timedelta(days=4)
            start = max(p.window.start, end - dt.timedelta(days=60))
            span = max(1, int((end - start).total_seconds()) // 3600)
            texts.resolved_complaint(
                sink, start + dt.timedelta(hours=rng.randrange(span)), p.recipe.workflow
            )

    def _injections(
        self, plans: list[OutcomePlan], sink: texts.TextSink, items: list[dict[str, Any]]
    ) -> list[int]:
        rng, as_of = self.rng, self.as_of
        legit = [float(i.get("delivered") or 0) for i in items]
        legit += [float(i.get("target") or 0) for i in items]
        legit += [float(v) for p in plans for v in p.inputs_now.values() if v is not None]
        safe = [n for n in INJECTED_NUMBERS if all(abs(n - v) > 0.01 * n for v in legit)]
        hours = plans[0].recipe
        injected: list[int] = []
        day = as_of - dt.timedelta(days=rng.randint(5, 50))
        if "injection_ticket" in self.features and safe:
            n = safe.pop(rng.randrange(len(safe)))
            texts.injection_ticket(
                sink, texts.at_day(day, rng), self.domain.obj, n, hours.unit, hours.title
            )
            injected.append(n)
        if "injection_note" in self.features and safe:
            n = safe.pop(rng.randrange(len(safe)))
            texts.injection_note(sink, day + dt.timedelta(days=1), n, hours.unit, hours.title)
            injected.append(n)
        return injected
