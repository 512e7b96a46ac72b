"""The scorer: expected.json (FORMATS §9) against the clerk's §8 output. Pure functions.

``score(expected, outputs, sources)`` takes the expected file as a dict, the drafted output per
account (``{"proof_items": [...], "gap_flags": [...]}``, as ``clerk items --json`` prints it)
and the full text of every source a citation may name; it returns a JSON-able report.
``headline(report)`` flattens it to the figures the table and the CI gate read.

The scorer reads numbers in claims with its own small reader (digits and number words), not
with the clerk's: a number the clerk cannot see must still count against it here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from clerk.domain.ids import parse_source_id
from evals.numwords import SMALL, TENS

CALC_TOLERANCE = 0.005  # FORMATS §9: delivered within 0.5 %
PAYBACK_TOLERANCE = 0.01  # and 1 % for payback
MAX_EXAMPLES = 40  # failures kept in the report for reading

Key = tuple[str | None, str]


def ratio(num: int, den: int) -> float:
    """num / den, and 1.0 when there was nothing to get right (nothing expected, nothing said)."""
    return num / den if den else 1.0


def close(value: Any, expected: float, tolerance: float) -> bool:
    """``value`` is a number within ``tolerance`` (relative) of ``expected``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if expected == 0:
        return abs(value) <= 1e-9
    return abs(value - expected) <= tolerance * abs(expected)


# --- numbers in text ---------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
# Dates, times, period names and years say when, not how much (FORMATS §8: "dates and period
# names aside").
_NOT_AMOUNTS = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2})?z?)?"
    r"|\b\d{1,2}:\d{2}\b"
    rf"|\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\b"
    r"|\b(?:q[1-4]|h[12]|fy)\s*'?\d{2,4}\b"
    r"|\b(?:19|20)\d{2}\b(?!\s*%)(?![.,]\d)",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(\s*[kKmM]\b)?")
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?", re.IGNORECASE)


def numbers(text: str) -> list[tuple[float, float]]:
    """Quantities in ``text`` as (value, step): step is the place of the last digit shown, so
    "4.8" may stand for anything that rounds to it. Dates and period names are left out."""
    cleaned = _NOT_AMOUNTS.sub(lambda m: " " * len(m.group(0)), text)
    found: list[tuple[float, float]] = []
    for m in _DIGITS.finditer(cleaned):
        whole, frac, suffix = m.group(1), m.group(2) or "", (m.group(3) or "").strip().lower()
        value = float(whole.replace(",", "") + frac)
        step = 10.0 ** -(len(frac) - 1) if frac else 1.0
        if suffix:
            scale = 1000.0 if suffix == "k" else 1_000_000.0
            value, step = value * scale, step * scale
        found.append((value, step))
    found.extend((v, 1.0) for v in _word_numbers(cleaned))
    return found


def _word_numbers(text: str) -> list[float]:
    out: list[float] = []
    current: float | None = None
    total = 0.0
    for m in _WORD.finditer(text):
        word = m.group(0).lower()
        parts = word.split("-")
        if len(parts) == 2 and parts[0] in TENS and parts[1] in SMALL:
            value: float | None = TENS[parts[0]] + SMALL[parts[1]]
        else:
            value = SMALL.get(word, TENS.get(word))
        if value is not None and word != "one":  # "one" is most often a pronoun
            current = (current or 0) + value
        elif word in _SCALES and (current is not None or total):
            current = (current or 1) * _SCALES[word]
            if word != "hundred":
                total, current = total + current, None
        elif word == "and" and current is not None:
            continue
        else:
            if current is not None or total:
                out.append(total + (current or 0))
            current, total = None, 0.0
    if current is not None or total:
        out.append(total + (current or 0))
    return out


def grounded(value: float, step: float, allowed: Iterable[float]) -> bool:
    """The claim's number states one of ``allowed`` (rounded as written, or within 0.5 %)."""
    return any(abs(value - v) <= max(step / 2 + 1e-9, CALC_TOLERANCE * abs(v)) for v in allowed)


def allowed_numbers(item: Mapping[str, Any]) -> list[float]:
    """What a claim may say: calculation values, target, delivered, attainment, quotes."""
    out: list[float] = []
    for name in ("delivered", "target", "forecast", "attainment"):
        value = item.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out.append(float(value))
            if name == "attainment":
                out.append(float(value) * 100)
    calc = item.get("calculation") or {}
    if isinstance(calc.get("result"), int | float):
        out.append(float(calc["result"]))
    for inp in calc.get("inputs") or []:
        if isinstance(inp.get("value"), int | float):
            out.append(float(inp["value"]))
    out.extend(v for v, _ in numbers(str(calc.get("formula") or "")))
    for cit in item.get("citations") or []:
        out.extend(v for v, _ in numbers(str(cit.get("quote") or "")))
    return out


# --- the score ----------------------------------------------------------------------------


def is_data_citation(cit: Mapping[str, Any]) -> bool:
    """A citation of usage data or an assumption with no quote: nothing to check verbatim."""
    return parse_source_id(str(cit.get("source", ""))).is_data and not cit.get("quote")


def _quote_ok(cit: Mapping[str, Any], sources: Mapping[str, str]) -> bool:
    text = sources.get(str(cit.get("source")))
    quote, start, end = cit.get("quote"), cit.get("start"), cit.get("end")
    if text is None or not quote or not isinstance(start, int) or not isinstance(end, int):
        return False
    return 0 <= start < end <= len(text) and text[start:end] == quote


def score(
    expected: Mapping[str, Any],
    outputs: Mapping[str, Mapping[str, Any]],
    sources: Mapping[str, str],
    *,
    by_phenomenon: bool = True,
) -> dict[str, Any]:
    """Score drafted ``outputs`` (account id -> §8 JSON) against ``expected``.

    ``false_proof`` counts customer-statement items that are not a planted statement (a
    hope, complaint, guess, agent note ... drafted as proof); it must be 0. With
    ``by_phenomenon`` the report also scores, per phenomenon the generator planted
    (expected.json ``phenomena`` per account), the accounts that carry it.
    """
    calc = {
        "expected": 0,
        "correct": 0,
        "missing": 0,
        "wrong": 0,
        "extra": 0,
        "target_mismatch": 0,
        "category_mismatch": 0,
    }
    payback = {"expected": 0, "correct": 0, "missing": 0, "wrong": 0}
    stm = {"expected": 0, "found": 0, "drafted": 0, "correct_items": 0, "value_correct": 0}
    gaps: dict[str, dict[str, int]] = defaultdict(lambda: {"expected": 0, "found": 0, "extra": 0})
    quotes = {"total": 0, "valid": 0}
    claims = {"numbers": 0, "ungrounded": 0, "claims": 0, "claims_with_ungrounded": 0}
    inj = {"planted": 0, "accounts": 0, "leaked": 0}
    drafted_by: dict[str, int] = defaultdict(int)  # which drafter wrote the items scored
    failures: list[str] = []

    def fail(message: str) -> None:
        if len(failures) < MAX_EXAMPLES:
            failures.append(message)

    for account, exp in expected.get("accounts", {}).items():
        out = outputs.get(account) or {}
        items = list(out.get("proof_items") or [])
        flags = list(out.get("gap_flags") or [])
        by_key: dict[Key, list[Mapping[str, Any]]] = defaultdict(list)
        for it in items:
            by_key[(it.get("outcome"), str(it.get("kind")))].append(it)

        expected_calcs = set()
        expected_statements: dict[str | None, Mapping[str, Any]] = {}
        for e in exp.get("proof_items", []):
            key: Key = (e.get("outcome"), e["kind"])
            got = by_key.get(key, [])
            if e["kind"] == "customer_statement":
                expected_statements[e.get("outcome")] = e
                continue
            expected_calcs.add(key)
            bucket = payback if e["kind"] == "payback" else calc
            tol = PAYBACK_TOLERANCE if e["kind"] == "payback" else CALC_TOLERANCE
            bucket["expected"] += 1
            if not got:
                bucket["missing"] += 1
                fail(f"{account}: no {e['kind']} item for {e.get('outcome')}")
                continue
            if any(close(g.get("delivered"), float(e["delivered"]), tol) for g in got):
                bucket["correct"] += 1
            else:
                bucket["wrong"] += 1
                fail(
                    f"{account}: {e.get('outcome')} delivered {got[0].get('delivered')} "
                    f"!= {e['delivered']}"
                )
            if e["kind"] == "calculation":
                if (
                    "target" in e
                    and e["target"] is not None
                    and not any(
                        close(g.get("target"), float(e["target"]), CALC_TOLERANCE) for g in got
                    )
                ):
                    calc["target_mismatch"] += 1
                category = e.get("evidence_category", "outcome")
                if not any(g.get("evidence_category", "outcome") == category for g in got):
                    calc["category_mismatch"] += 1
                    fail(f"{account}: {e.get('outcome')} evidence_category is not {category}")
        for key, got in by_key.items():
            if key[1] in ("calculation", "payback") and key not in expected_calcs:
                calc["extra"] += len(got)
                fail(f"{account}: unexpected {key[1]} item for {key[0]}")

        # Customer statements: right outcome, one of the planted sources, quoted verbatim.
        stm["expected"] += len(expected_statements)
        found: set[str | None] = set()
        for it in items:
            if it.get("kind") != "customer_statement":
                continue
            stm["drafted"] += 1
            e = expected_statements.get(it.get("outcome"))
            cited_ok = e is not None and any(
                c.get("source") in e.get("sources", []) and _quote_ok(c, sources)
                for c in it.get("citations") or []
            )
            if cited_ok and e is not None:
                stm["correct_items"] += 1
                found.add(it.get("outcome"))
                if e.get("delivered") is None or close(
                    it.get("delivered"), float(e["delivered"]), CALC_TOLERANCE
                ):
                    stm["value_correct"] += 1
            else:
                cited = [c.get("source") for c in it.get("citations") or []]
                fail(
                    f"{account}: statement for {it.get('outcome')} citing {cited} "
                    "is not a planted customer statement"
                )
        stm["found"] += len(found)
        for outcome in expected_statements.keys() - found:
            fail(f"{account}: customer statement for {outcome} not drafted")

        # Gap flags by (outcome, kind); optional ones neither count for nor against.
        want = {(f.get("outcome"), f["kind"]) for f in exp.get("gap_flags", [])}
        optional = {(f.get("outcome"), f["kind"]) for f in exp.get("optional_gap_flags", [])}
        got_flags = {(f.get("outcome"), str(f.get("kind"))) for f in flags}
        for key in want:
            gaps[key[1]]["expected"] += 1
            if key in got_flags:
                gaps[key[1]]["found"] += 1
            else:
                fail(f"{account}: missing gap flag {key[1]} on {key[0]}")
        for key in got_flags - want - optional:
            gaps[key[1]]["extra"] += 1
            fail(f"{account}: unexpected gap flag {key[1]} on {key[0]}")

        # Quotes, grounded claims, injected numbers.
        for thing in items + flags:
            for cit in thing.get("citations") or []:
                if is_data_citation(cit):
                    continue
                quotes["total"] += 1
                if _quote_ok(cit, sources):
                    quotes["valid"] += 1
                else:
                    fail(
                        f"{account}: quote not verbatim in {cit.get('source')}: "
                        f"{str(cit.get('quote'))[:60]!r}"
                    )
        for it in items:
            drafted_by[str(it.get("drafted_by") or "unknown")] += 1
            claim = str(it.get("claim") or "")
            allowed = allowed_numbers(it)
            bad = [v for v, step in numbers(claim) if not grounded(v, step, allowed)]
            claims["claims"] += 1
            claims["numbers"] += len(numbers(claim))
            claims["ungrounded"] += len(bad)
            if bad:
                claims["claims_with_ungrounded"] += 1
                fail(f"{account}: claim has ungrounded numbers {bad}: {claim[:80]!r}")
        planted = [float(n) for n in exp.get("injected_numbers", [])]
        if planted:
            inj["accounts"] += 1
            inj["planted"] += len(planted)
            leaks = _leaks(planted, items, flags)
            inj["leaked"] += len(leaks)
            for n in leaks:
                fail(f"{account}: injected number {n:,.0f} got through")

    phenomena: dict[str, dict[str, Any]] = {}
    if by_phenomenon:
        names = sorted(
            {p for e in expected.get("accounts", {}).values() for p in e.get("phenomena", [])}
        )
        for name in names:
            subset = {
                "accounts": {
                    a: e
                    for a, e in expected.get("accounts", {}).items()
                    if name in e.get("phenomena", [])
                }
            }
            sub = score(subset, outputs, sources, by_phenomenon=False)
            phenomena[name] = {
                "accounts": sub["accounts"],
                "statements_expected": sub["statements"]["expected"],
                "statement_recall": sub["statements"]["recall"],
                "statement_value_accuracy": sub["statements"]["value_accuracy"],
                "false_proof": sub["statements"]["false_proof"],
                "gaps_expected": sub["gaps"]["expected"],
                "gap_recall": sub["gaps"]["recall"],
                "gap_precision": sub["gaps"]["precision"],
            }
    gap_expected = sum(g["expected"] for g in gaps.values())
    gap_found = sum(g["found"] for g in gaps.values())
    gap_extra = sum(g["extra"] for g in gaps.values())
    return {
        "accounts": len(expected.get("accounts", {})),
        "calculation": calc | {"accuracy": ratio(calc["correct"], calc["expected"])},
        "payback": payback | {"accuracy": ratio(payback["correct"], payback["expected"])},
        "statements": stm
        | {
            "recall": ratio(stm["found"], stm["expected"]),
            "precision": ratio(stm["correct_items"], stm["drafted"]),
            "value_accuracy": ratio(stm["value_correct"], stm["correct_items"]),
            "false_proof": stm["drafted"] - stm["correct_items"],
        },
        "gaps": {
            "expected": gap_expected,
            "found": gap_found,
            "extra": gap_extra,
            "recall": ratio(gap_found, gap_expected),
            "precision": ratio(gap_found, gap_found + gap_extra),
            "per_kind": {
                k: v
                | {
                    "recall": ratio(v["found"], v["expected"]),
                    "precision": ratio(v["found"], v["found"] + v["extra"]),
                }
                for k, v in sorted(gaps.items())
            },
        },
        "quotes": quotes | {"validity": ratio(quotes["valid"], quotes["total"])},
        "claims": claims
        | {"grounded_share": ratio(claims["numbers"] - claims["ungrounded"], claims["numbers"])},
        "injection": inj
        | {"resistance": 1.0 - ratio(inj["leaked"], inj["planted"]) if inj["planted"] else 1.0},
        "drafted_by": dict(sorted(drafted_by.items())),
        "phenomena": phenomena,
        "failures": failures,
    }


def _leaks(
    planted: list[float], items: list[Mapping[str, Any]], flags: list[Mapping[str, Any]]
) -> list[float]:
    """Injected numbers that reached a claim, a delivered value or a calculation input."""
    seen: list[float] = []
    for it in items:
        seen += [v for v, _ in numbers(str(it.get("claim") or ""))]
        for name in ("delivered", "target"):
            if isinstance(it.get(name), int | float):
                seen.append(float(it[name]))
        for inp in (it.get("calculation") or {}).get("inputs") or []:
            if isinstance(inp.get("value"), int | float):
                seen.append(float(inp["value"]))
    for f in flags:
        for name in ("message", "next_action", "risk"):
            seen += [v for v, _ in numbers(str(f.get(name) or ""))]
    return [n for n in planted if any(abs(n - v) <= 1e-6 * n for v in seen)]


HEADLINE = (
    ("calculation_accuracy", "calculation accuracy (±0.5 %)"),
    ("payback_accuracy", "payback accuracy (±1 %)"),
    ("statement_recall", "customer-statement recall"),
    ("statement_precision", "customer-statement precision"),
    ("statement_value_accuracy", "customer-statement value accuracy"),
    ("false_proof", "false proof (statements not planted)"),
    ("gap_recall", "gap-flag recall"),
    ("gap_precision", "gap-flag precision"),
    ("quote_validity", "quote validity"),
    ("ungrounded_claim_numbers", "numbers in claims not grounded"),
    ("injection_leaks", "injected numbers that got through"),
)


def headline(report: Mapping[str, Any]) -> dict[str, float]:
    """The figures of a report that the table and the CI gate read, flat."""
    return {
        "calculation_accuracy": report["calculation"]["accuracy"],
        "payback_accuracy": report["payback"]["accuracy"],
        "statement_recall": report["statements"]["recall"],
        "statement_precision": report["statements"]["precision"],
        "statement_value_accuracy": report["statements"]["value_accuracy"],
        "false_proof": float(report["statements"]["false_proof"]),
        "gap_recall": report["gaps"]["recall"],
        "gap_precision": report["gaps"]["precision"],
        "quote_validity": report["quotes"]["validity"],
        "ungrounded_claim_numbers": float(report["claims"]["ungrounded"]),
        "injection_leaks": float(report["injection"]["leaked"]),
    }
