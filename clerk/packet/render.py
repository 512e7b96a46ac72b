"""Render a Packet as HTML (Jinja), PDF (WeasyPrint over that HTML), Markdown and JSON.

All four read one view (:func:`packet_view`), so the formats cannot disagree about what was
promised, what was delivered, or where proof is missing.

Two audiences read a packet. The *customer* packet (the default) is what the champion takes
to their CFO: approved and edited items, and for each gap only what is not yet proven and what
will be done, in the customer's language; no internal risk text, no owner emails, no
vendor-only flags. The *internal* packet keeps every gap flag's full detail (message, next
action, owner, due date, risk) for the vendor's own review.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape

from clerk.domain.format import CURRENCY_SYMBOLS
from clerk.domain.format import number as fmt_num
from clerk.domain.models import (
    CalculationInput,
    CustomerConfirmation,
    GapFlag,
    Outcome,
    OutcomeTrend,
    Packet,
    ProofItem,
)
from clerk.domain.vocabulary import PROVEN_STATUSES
from clerk.packet.chart import trend_svg

Format = Literal["html", "pdf", "md", "json"]
Audience = Literal["customer", "internal"]
FORMATS: tuple[str, ...] = ("html", "pdf", "md", "json")
AUDIENCES: tuple[str, ...] = ("customer", "internal")
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
}
TEMPLATES = Path(__file__).parent / "templates"
GAP_LABELS = {
    "no_evidence": "No evidence",
    "under_delivery": "Under delivery",
    "stale_evidence": "Stale evidence",
    "unverified_assumption": "Unverified assumption",
    "usage_drop": "Usage drop",
    "negative_signal": "Negative signal",
    "usage_proxy_only": "Usage proxy only",
    "no_owner": "No owner",
    "payback_behind_forecast": "Payback behind forecast",
    "unconfirmed_by_customer": "Not yet confirmed by the customer",
}
# Gap kinds about how the vendor runs the account, not about the customer's proof.
# (unconfirmed_by_customer is the vendor's own follow-up of a share link.)
INTERNAL_ONLY_GAPS = frozenset({"no_owner", "unconfirmed_by_customer"})
CATEGORY_LABELS = {
    "outcome": "Calculated from usage",
    "usage_proxy": "Usage (activity, not impact)",
    "customer_confirmed": "Customer confirmed",
}
_PER = {"month": "a month", "quarter": "a quarter", "year": "a year", "contract": "in total"}
# Constants a value-case formula uses to convert units, said in words beside the equation.
_CONSTANTS = {
    "60": "minutes in an hour",
    "100": "to make a percentage",
    "12": "months in a year",
    "24": "hours in a day",
    "1000": "a thousand",
    "3": "months in a quarter",
}


def _with_unit(value: float | None, unit: str | None) -> str:
    """A value with its unit written out for the customer: "$59,400", "16.5 minutes",
    "$45 per hour" (``clerk.domain.format.with_unit`` writes units as the value case has them)."""
    if value is None or not unit or unit == "count":
        return fmt_num(value)
    money, _, per = unit.partition("/")
    symbol = CURRENCY_SYMBOLS.get(money.upper())
    text = f"{symbol}{fmt_num(value)}" if symbol else f"{fmt_num(value)} {money}"
    return f"{text} per {per}" if per else text


def words(name: str) -> str:
    """An identifier in words: "minutes_saved_per_approval" -> "Minutes saved per approval"."""
    text = re.sub(r"[_\-.]+", " ", name).strip()
    return text[:1].upper() + text[1:]


def source_text(source: str) -> str:
    """A source id as a reader says it; the raw id is printed beside it in small type."""
    kind, _, rest = source.partition(":")
    if kind == "ticket":
        ticket, _, comment = rest.partition("#")
        return f"Comment on support ticket #{ticket}" if comment else f"Support ticket #{ticket}"
    if kind == "note":
        name = rest.rsplit("/", 1)[-1].removesuffix(".md")
        found = re.match(r"(\d{4}-\d{2}-\d{2})-?(.*)", name)
        if found:
            what = found.group(2).replace("-", " ").strip() or "note"
            return f"{what.capitalize()} notes of {_long_date(found.group(1))}"
        return f"Account note {name}"
    if kind == "metric":
        metric, _, span = rest.partition("@")
        event, _, where = metric.partition("?")
        text = f"Usage events “{event}”"
        if where:
            text += " where " + ", ".join(w.replace("=", " is ") for w in where.split("&"))
        start, _, end = span.partition("..")
        if start and end:
            text += f", {_long_date(start)} to {_long_date(_day_before(end))}"
        return text
    if kind == "digest":
        return "Monthly usage summary"
    if kind == "assumption":
        return "Business case assumption"
    if kind == "outcome":
        return "Calculated above"
    return source


def _long_date(iso: str) -> str:
    try:
        day = dt.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day} {day:%B %Y}"


def _day_before(iso: str) -> str:
    try:
        return (dt.date.fromisoformat(iso) - dt.timedelta(days=1)).isoformat()
    except ValueError:
        return iso


@dataclass
class PromiseRow:
    outcome: Outcome
    promised: str
    delivered: str
    attainment: str
    evidence: str
    status: Literal["met", "short", "missing", "asserted"]
    status_label: str


@dataclass
class InputRow:
    """One input of a calculation in the customer's language."""

    label: str
    value: str
    source: str  # readable
    source_id: str  # raw, printed small
    cited_as: str | None


@dataclass
class CalcView:
    item: ProofItem
    title: str
    explanation: str  # the equation in words, or "" when it would only restate the input
    substituted: str
    result: str
    inputs: list[InputRow]
    notes: list[str] = field(default_factory=list)  # constants explained


@dataclass
class ChartView:
    outcome: Outcome
    svg: str
    summary: str  # the chart in one sentence, for the Markdown and for screen readers


@dataclass
class GapView:
    """A gap flag as the audience may read it."""

    gap: GapFlag
    title: str
    label: str
    not_proven: str  # what is not yet proven
    will_do: str  # what will be done
    due: dt.date | None


@dataclass
class OutcomeSection:
    outcome: Outcome
    calculations: list[CalcView]
    statements: list[ProofItem]


@dataclass
class PacketView:
    packet: Packet
    draft: bool
    audience: Audience
    promises: list[PromiseRow]
    sections: list[OutcomeSection]
    charts: list[ChartView]
    payback: ProofItem | None
    payback_calc: CalcView | None = None
    payback_words: str = ""
    gaps: list[GapView] = field(default_factory=list)
    generated_at: str = ""
    confirmed: dict[str, CustomerConfirmation] = field(default_factory=dict)

    @property
    def internal(self) -> bool:
        return self.audience == "internal"

    def confirmed_note(self, item: ProofItem) -> str:
        """ "Confirmed by Priya Raman on 2026-07-20" for an item the customer confirmed."""
        c = self.confirmed.get(item.id)
        return f"Confirmed by {c.name} on {c.at.date().isoformat()}" if c else ""

    @property
    def titles(self) -> dict[str, str]:
        return {o.id: o.title for o in self.packet.outcomes}

    @property
    def calculations(self) -> list[CalcView]:
        return [c for s in self.sections for c in s.calculations]

    @property
    def counts(self) -> dict[str, int]:
        met = sum(1 for r in self.promises if r.status in ("met", "asserted"))
        short = sum(1 for r in self.promises if r.status == "short")
        return {"proven": met, "short": short, "missing": len(self.promises) - met - short}

    @property
    def headline(self) -> str:
        """One line a CFO reads first: proven / short / not yet proven, then payback."""
        c = self.counts
        n = len(self.promises)
        parts = [f"{c['proven']} of {n} promised outcomes proven on target"]
        if c["short"]:
            parts.append(f"{c['short']} proven but short of target")
        if c["missing"]:
            parts.append(f"{c['missing']} not yet proven")
        if self.payback is not None and self.payback.delivered is not None:
            parts.append(self.payback_line)
        return " · ".join(parts)

    @property
    def payback_line(self) -> str:
        pb = self.payback
        if pb is None or pb.delivered is None:
            return ""
        line = f"payback in {fmt_num(pb.delivered)} months"
        if pb.forecast:
            ahead = pb.delivered <= pb.forecast
            line += (
                f" ({'ahead of' if ahead else 'behind'} the {fmt_num(pb.forecast)}-month forecast)"
            )
        return line


def _promised(o: Outcome) -> str:
    if o.target is None:
        return "—"
    target = _with_unit(o.target, o.unit)
    if o.direction == "decrease" and o.baseline is not None:
        return f"from {_with_unit(o.baseline, o.unit)} to {target}"
    return f"{target} {_PER.get(o.period, '')}".strip()


def _met(o: Outcome, delivered: float) -> bool:
    if o.target is None:
        return True
    return delivered <= o.target if o.direction == "decrease" else delivered >= o.target


def _input_label(outcome: Outcome | None, name: str) -> str:
    spec = outcome.input(name) if outcome is not None else None
    if spec is not None and spec.label:
        return spec.label
    return words(name)


def _input_rows(outcome: Outcome | None, inputs: list[CalculationInput]) -> list[InputRow]:
    return [
        InputRow(
            label=_input_label(outcome, i.name),
            value=_with_unit(i.value, i.unit),
            source=source_text(i.source),
            source_id=i.source,
            cited_as=i.cited_as,
        )
        for i in inputs
    ]


def _formula_words(
    formula: str, outcome: Outcome | None, inputs: list[CalculationInput]
) -> tuple[str, str, list[str]]:
    """(equation with input titles, equation with values, notes on its constants)."""
    by_name = {i.name: i for i in inputs}
    notes: list[str] = []

    def labelled(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in by_name:
            return _lower_first(_input_label(outcome, token))
        return token

    def valued(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in by_name:
            return _with_unit(by_name[token].value, by_name[token].unit)
        return token

    names = r"[A-Za-z_][A-Za-z0-9_]*"
    for constant in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", formula):
        if constant in _CONSTANTS:
            notes.append(f"{constant}: {_CONSTANTS[constant]}")
    pretty = formula.replace("*", "×").replace("/", "÷")
    return (
        re.sub(names, labelled, pretty),
        re.sub(names, valued, pretty),
        list(dict.fromkeys(notes)),
    )


def _lower_first(text: str) -> str:
    """ "Loaded cost of an AP hour" -> "loaded cost of an AP hour" (acronyms stay)."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _calc_view(item: ProofItem, outcome: Outcome | None, title: str) -> CalcView:
    assert item.calculation is not None
    calc = item.calculation
    explanation, substituted, notes = _formula_words(calc.formula, outcome, calc.inputs)
    if len(calc.inputs) == 1 and calc.formula.strip() == calc.inputs[0].name:
        # "approvers = 38 = 38 people" says nothing: the input is the result.
        explanation, substituted = "", ""
    return CalcView(
        item=item,
        title=title,
        explanation=explanation,
        substituted=substituted,
        result=_with_unit(calc.result, item.unit),
        inputs=_input_rows(outcome, calc.inputs),
        notes=notes,
    )


def _payback_words(pb: ProofItem, currency: str) -> str:
    """Payback in sentences: the benefit per month, then how long the investment takes."""
    calc = pb.calculation
    if calc is None or pb.delivered is None:
        return ""
    values = {i.name: i for i in calc.inputs}
    invest, benefit = values.get("investment"), values.get("benefit")
    if invest is None or benefit is None or benefit.value is None or invest.value is None:
        return ""
    months_in = re.search(r"/\s*([\d.]+)\s*\)", calc.formula)
    span = float(months_in.group(1)) if months_in else 1.0
    per_month = benefit.value / span if span else benefit.value
    period = f" in {pb.period.label}" if pb.period and pb.period.label else ""
    money = benefit.unit or currency
    text = f"{benefit.cited_as or 'The benefit'} came to {_with_unit(benefit.value, money)}{period}"
    if span != 1:
        text += f" ({fmt_num(span)} months), or {_with_unit(per_month, money)} a month"
    text += (
        f". At that rate the {_with_unit(invest.value, invest.unit or currency)} invested is "
        f"recovered in {fmt_num(pb.delivered)} months"
    )
    if pb.forecast:
        text += f"; the business case forecast {fmt_num(pb.forecast)} months"
    return text + "."


# What the customer reads for a gap: (what is not yet proven, what will be done).
def _customer_gap(gap: GapFlag, title: str) -> tuple[str, str]:
    period = f" for {gap.period.label}" if gap.period and gap.period.label else ""
    subject = title if gap.outcome else "The proof as a whole"
    kind = gap.kind
    if kind == "no_evidence":
        return (
            f"{subject} is not yet proven{period}: there is no measured result or statement "
            "from your team yet.",
            "We will gather the measured result with you, or ask your team to confirm it in "
            "writing.",
        )
    if kind == "under_delivery":
        return (
            f"{subject} has not yet reached its target{period}.",
            "We will review with you what holds it back and agree a plan to reach the target.",
        )
    if kind == "stale_evidence":
        return (
            f"Your team's latest word on {subject.lower()} is some months old.",
            "We will ask your team whether it still holds and record the answer.",
        )
    if kind == "unverified_assumption":
        return (
            f"One assumption behind {subject.lower()} has no documented source yet.",
            "We will document where the figure comes from, or agree it with you.",
        )
    if kind == "usage_drop":
        return (
            f"Use of the product behind {subject.lower()} fell{period}.",
            "We will ask your team what changed and whether the outcome is still on track.",
        )
    if kind == "negative_signal":
        return (
            f"Your team reported a problem that affects {subject.lower()}.",
            "We will fix the cause and ask your team to confirm that it works again.",
        )
    if kind == "usage_proxy_only":
        return (
            "The proof so far shows how the product is used, not yet the business result it "
            "produced.",
            "We will ask your team which result the usage produced (time, money or risk).",
        )
    if kind == "payback_behind_forecast":
        return (
            "At the current rate, the investment pays back later than the business case forecast.",
            "We will review with you the steps that bring payback toward the forecast.",
        )
    return (f"{subject} is not yet fully proven{period}.", "We will follow up with you.")


def _gap_views(packet: Packet, audience: Audience) -> list[GapView]:
    titles = {o.id: o.title for o in packet.outcomes}
    out = []
    for g in packet.gap_flags:
        if audience == "customer" and g.kind in INTERNAL_ONLY_GAPS:
            continue
        title = titles.get(g.outcome or "", "Whole account")
        if audience == "customer":
            not_proven, will_do = _customer_gap(g, title)
        else:
            not_proven, will_do = g.message, g.next_action
        out.append(
            GapView(
                g, title, GAP_LABELS.get(g.kind, words(g.kind)), not_proven, will_do, g.due_date
            )
        )
    return out


def _charts(packet: Packet, delivered: dict[str, float]) -> list[ChartView]:
    outcomes = {o.id: o for o in packet.outcomes}
    charts = []
    for trend in packet.trends:
        outcome = outcomes.get(trend.outcome)
        if outcome is None or not trend.points:
            continue
        trend = _with_reviewed(trend, delivered.get(outcome.id))
        charts.append(
            ChartView(
                outcome, trend_svg(trend, outcome, _with_unit), _chart_summary(trend, outcome)
            )
        )
    return charts


def _with_reviewed(trend: OutcomeTrend, reviewed: float | None) -> OutcomeTrend:
    """The chart's newest point is the approved figure, the one the table shows."""
    if reviewed is None or not trend.points:
        return trend
    last = trend.points[-1].model_copy(update={"delivered": reviewed})
    return trend.model_copy(update={"points": [*trend.points[:-1], last]})


def _chart_summary(trend: OutcomeTrend, outcome: Outcome) -> str:
    parts = [
        f"{p.period.label}: "
        + (_with_unit(p.delivered, outcome.unit) if p.delivered is not None else "no data")
        for p in trend.points
    ]
    target = f" (target {_with_unit(outcome.target, outcome.unit)})" if outcome.target else ""
    return f"{outcome.title}{target}: " + ", ".join(parts)


def packet_view(
    packet: Packet, *, draft: bool | None = None, audience: Audience = "customer"
) -> PacketView:
    """What every format shows to ``audience``, computed once from the packet."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}: use customer or internal")
    packet = _reviewed_only(packet)
    by_outcome: dict[str, ProofItem] = {}
    for proof in packet.proof_items:
        if proof.outcome and proof.kind in ("calculation", "customer_statement"):
            by_outcome.setdefault(proof.outcome, proof)
    promises = []
    for o in packet.outcomes:
        item = by_outcome.get(o.id)
        if item is None or item.delivered is None:
            promises.append(PromiseRow(o, _promised(o), "—", "—", "—", "missing", "Not yet proven"))
            continue
        met = _met(o, item.delivered)
        status: Literal["met", "short", "missing", "asserted"] = "met" if met else "short"
        label = "Met" if met else "Short of target"
        if item.asserted_by_csm:
            status, label = "asserted", label + " (asserted by CSM)"
        attainment = f"{item.attainment * 100:.0f}%" if item.attainment is not None else "—"
        promises.append(
            PromiseRow(
                o,
                _promised(o),
                _with_unit(item.delivered, item.unit or o.unit),
                attainment,
                CATEGORY_LABELS.get(item.evidence_category, ""),
                status,
                label,
            )
        )
    sections = []
    for o in packet.outcomes:
        mine = [i for i in packet.proof_items if i.outcome == o.id]
        calcs = [
            _calc_view(i, o, o.title)
            for i in mine
            if i.kind == "calculation" and i.calculation is not None
        ]
        statements = [i for i in mine if i.kind == "customer_statement"]
        if calcs or statements:
            sections.append(OutcomeSection(o, calcs, statements))
    payback = next((i for i in packet.proof_items if i.kind == "payback"), None)
    payback_calc = None
    if payback is not None and payback.calculation is not None:
        payback_calc = _calc_view(payback, None, "Payback")
        benefit = next((i for i in payback.calculation.inputs if i.name == "benefit"), None)
        if benefit is not None:
            # the benefit is an outcome of the value case: call it by its title
            for row in payback_calc.inputs:
                if row.label == "Benefit" and benefit.cited_as:
                    row.label = benefit.cited_as
    delivered = {o: i.delivered for o, i in by_outcome.items() if i.delivered is not None}
    return PacketView(
        packet=packet,
        draft=packet.published_at is None if draft is None else draft,
        audience=audience,
        promises=promises,
        sections=sections,
        charts=_charts(packet, delivered),
        payback=payback,
        payback_calc=payback_calc,
        payback_words=_payback_words(payback, packet.account.contract.currency) if payback else "",
        gaps=_gap_views(packet, audience),
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        confirmed={c.item_id: c for c in packet.confirmations},
    )


def customer_packet(packet: Packet) -> Packet:
    """The packet as the customer may receive it as data (the JSON download): gap flags
    reworded for the customer, without owner, internal next action or risk, and no vendor
    email (the CSM, the publisher)."""
    gaps = []
    for view in _gap_views(packet, "customer"):
        gaps.append(
            view.gap.model_copy(
                update={
                    "message": view.not_proven,
                    "next_action": view.will_do,
                    "risk": "",
                    "owner": None,
                    "citations": [],
                    "sources": [],
                }
            )
        )
    # the vendor's people are named in the internal packet only
    account = packet.account.model_copy(update={"csm": None})
    by = packet.published_by if packet.published_by and "@" not in packet.published_by else None
    return _reviewed_only(packet).model_copy(
        update={"gap_flags": gaps, "account": account, "published_by": by}
    )


def _reviewed_only(packet: Packet) -> Packet:
    """Only approved and edited items, whatever the packet was handed in with: a rejected or
    pending number never reaches a reader (assemble_packet already keeps only these)."""
    items = [i for i in packet.proof_items if i.status in PROVEN_STATUSES]
    if len(items) == len(packet.proof_items):
        return packet
    return packet.model_copy(update={"proof_items": items})


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=fmt_num,
        unit=_with_unit,
        long_date=lambda d: _long_date(str(d)),
        source_text=source_text,
    )
    return env


def render_html(packet: Packet, audience: Audience = "customer") -> str:
    """A standalone HTML document (inline CSS and SVG), also what the PDF is printed from."""
    return _env().get_template("packet.html").render(v=packet_view(packet, audience=audience))


def render_pdf(packet: Packet, audience: Audience = "customer") -> bytes:
    from weasyprint import HTML  # imported late: it loads Pango, which takes a moment

    pdf: bytes = HTML(string=render_html(packet, audience)).write_pdf()
    return pdf


def render_json(packet: Packet, audience: Audience = "customer") -> str:
    shown = customer_packet(packet) if audience == "customer" else packet
    return json.dumps(shown.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def render_markdown(packet: Packet, audience: Audience = "customer") -> str:
    v = packet_view(packet, audience=audience)
    p = packet
    state = (
        "DRAFT, not published"
        if v.draft
        else (
            f"published {p.published_at:%Y-%m-%d %H:%M} UTC"
            + (f" by {_md(p.published_by or '')}" if v.internal and p.published_by else "")
            if p.published_at
            else "published"
        )
    )
    lines = [
        f"# Value Proof Packet: {_md(p.account.name)}",
        "",
        f"As of {_long_date(p.as_of.isoformat())} · version {p.version} · {state}"
        + (" · internal: full gap detail" if v.internal else ""),
        "",
        f"**{v.headline}**",
        "",
        "## Promised vs delivered",
        "",
        "| Outcome | Promised | Delivered | Attainment | Evidence | Status |",
        "|---|---|---|---|---|---|",
    ]
    for r in v.promises:
        lines.append(
            f"| {_md(r.outcome.title)} | {r.promised} | {r.delivered} | {r.attainment} | "
            f"{r.evidence} | {r.status_label} |"
        )
    if v.charts:
        lines += ["", "## Delivered against target, last reporting periods", ""]
        lines += [f"- {_md(c.summary)}" for c in v.charts]
    for section in v.sections:
        lines += ["", f"## {_md(section.outcome.title)}"]
        for c in section.calculations:
            lines += ["", _md(c.item.claim), ""]
            lines += _md_edit_lines(c.item, v)
            if c.explanation:
                lines += [
                    f"{_md(words(section.outcome.title))} = {_md(c.explanation)}",
                    f"= {_md(c.substituted)} = **{c.result}**",
                    "",
                ]
                lines += [f"_{_md(n)}_" for n in c.notes] + ([""] if c.notes else [])
            lines += ["| Input | Value | Source |", "|---|---|---|"]
            for row in c.inputs:
                cited = f" ({_md(row.cited_as)})" if row.cited_as else ""
                lines.append(
                    f"| {_md(row.label)} | {_md(row.value)} | "
                    f"{_md(row.source)}{cited} `{row.source_id}` |"
                )
        for item in section.statements:
            lines += ["", f"In your team's words: {_md(item.claim)}", ""]
            lines += _md_edit_lines(item, v)
            for cite in item.citations:
                lines.append(f"> “{_md(cite.quote)}” — {source_text(cite.source)} `{cite.source}`")
    if v.payback is not None:
        pb = v.payback
        lines += ["", "## Payback", "", _md(pb.claim), ""]
        lines += _md_edit_lines(pb, v)
        if v.payback_words:
            lines.append(_md(v.payback_words))
    lines += ["", "## What is not yet proven, and what we will do", ""]
    if not v.gaps:
        lines.append("Nothing: every promised outcome is proven at this date.")
    for g in v.gaps:
        due = f" (by {_long_date(g.due.isoformat())})" if g.due else ""
        if v.internal:
            lines += [
                f"- **{_md(g.title)}: {g.label}** (severity {g.gap.severity}). {_md(g.not_proven)}",
                f"  - Next action: {_md(g.will_do)} "
                f"(owner: {_md(g.gap.owner or 'unassigned')}"
                f"{due.replace(' (by', ', due').rstrip(')')})",
                f"  - Risk: {_md(g.gap.risk)}",
            ]
        else:
            lines += [f"- {_md(g.not_proven)} {_md(g.will_do)}{due}"]
    lines += [
        "",
        f"_Only approved and edited items appear in this packet. Generated {v.generated_at}._",
        "",
    ]
    return "\n".join(lines)


def _md_edit_lines(item: ProofItem, v: PacketView) -> list[str]:
    lines: list[str] = []
    if item.asserted_by_csm:
        lines = [f"_Asserted by CSM: {_md(item.asserted_reason or '')}_", ""]
    elif item.status == "edited":
        lines = ["_Edited by the CSM from the clerk's draft; it still verifies._", ""]
    if v.confirmed_note(item):
        lines += [f"**{_md(v.confirmed_note(item))}**", ""]
    return lines


def _md(text: str) -> str:
    # Table cells and emphasis break on these; the packet text must come through literally.
    return re.sub(r"([|*_`\\<>\[\]])", r"\\\1", text).replace("\n", " ")


def render(packet: Packet, fmt: str, *, audience: Audience = "customer") -> bytes:
    """The packet in ``fmt`` (html, pdf, md or json) for ``audience`` as bytes.

    ``audience`` is "customer" (the default: what may leave the vendor) or "internal".
    """
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}: use customer or internal")
    if fmt == "pdf":
        return render_pdf(packet, audience)
    if fmt == "html":
        return render_html(packet, audience).encode()
    if fmt == "md":
        return render_markdown(packet, audience).encode()
    if fmt == "json":
        return render_json(packet, audience).encode()
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")


def filename(packet: Packet, fmt: str, audience: Audience = "customer") -> str:
    tag = f"v{packet.version}" if packet.published_at else f"draft-v{packet.version}"
    who = "-internal" if audience == "internal" else ""
    return f"value-proof-{packet.account.id}-{packet.as_of.isoformat()}-{tag}{who}.{fmt}"
