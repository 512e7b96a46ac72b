"""Render a Packet as HTML (Jinja), PDF (WeasyPrint over that HTML), Markdown and JSON.

All four read one view (:func:`packet_view`), so the formats cannot disagree about what was
promised, what was delivered, or where proof is missing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape

from clerk.domain.format import number, percent, with_unit
from clerk.domain.models import Calculation, CustomerConfirmation, Outcome, Packet, ProofItem
from clerk.engine.calculations import short_of_target

Format = Literal["html", "pdf", "md", "json"]
# "customer": what a share link shows the customer (no gap risk or next action, no vendor
# emails); "internal": everything, for the vendor's team.
Audience = Literal["customer", "internal"]
AUDIENCES: tuple[str, ...] = ("customer", "internal")
CUSTOMER_ITEM_STATUSES = ("approved", "edited")
# about the vendor's own follow-up with this customer, not about the proof
INTERNAL_GAP_KINDS = ("unconfirmed_by_customer",)
FORMATS: tuple[str, ...] = ("html", "pdf", "md", "json")
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
    "unconfirmed_by_customer": "Not yet confirmed by the customer",
}
CATEGORY_LABELS = {
    "outcome": "Calculated from usage",
    "usage_proxy": "Usage (activity, not impact)",
    "customer_confirmed": "Customer confirmed",
}


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
class CalcView:
    item: ProofItem
    title: str
    equation: str
    substituted: str
    result: str


@dataclass
class PacketView:
    packet: Packet
    draft: bool
    promises: list[PromiseRow]
    calculations: list[CalcView]
    statements: list[tuple[ProofItem, str]]
    payback: ProofItem | None
    payback_calc: CalcView | None = None
    gaps: list[tuple[str, str]] = field(default_factory=list)  # (outcome title, kind label)
    generated_at: str = ""
    customer: bool = False
    confirmed: dict[str, CustomerConfirmation] = field(default_factory=dict)

    def confirmed_note(self, item: ProofItem) -> str:
        """ "Confirmed by Priya Raman on 2026-07-20" for an item the customer confirmed."""
        c = self.confirmed.get(item.id)
        return f"Confirmed by {c.name} on {c.at.date().isoformat()}" if c else ""

    @property
    def titles(self) -> dict[str, str]:
        return {o.id: o.title for o in self.packet.outcomes}

    @property
    def headline(self) -> str:
        """One line a CFO reads first: proof coverage, payback, and what is still missing."""
        proven = sum(1 for r in self.promises if r.status != "missing")
        short = sum(1 for r in self.promises if r.status == "short")
        # "Proven" means approved proof exists; a shortfall is said beside it, never hidden.
        parts = [f"{proven} of {len(self.promises)} promised outcomes proven"]
        if short:
            parts[0] += f" ({short} short of target)"
        pb = self.payback
        if pb is not None and pb.delivered is not None:
            forecast = f" (forecast: {number(pb.forecast)} months)" if pb.forecast else ""
            parts.append(f"payback in {number(pb.delivered)} months{forecast}")
        gaps = len(self.packet.gap_flags)
        parts.append(f"{gaps} open gap{'s' if gaps != 1 else ''} in the proof")
        return " · ".join(parts)


def _promised(o: Outcome) -> str:
    per = {
        "month": "a month",
        "quarter": "a quarter",
        "year": "a year",
        "contract": "over the contract",
    }
    if o.target is None:
        return "—"
    target = with_unit(o.target, o.unit)
    if o.direction == "decrease" and o.baseline is not None:
        return f"from {with_unit(o.baseline, o.unit)} to {target}"
    return f"{target} {per.get(o.period, '')}".strip()


def _substitute(calc: Calculation) -> str:
    values = {i.name: number(i.value) for i in calc.inputs}
    text = re.sub(
        r"[A-Za-z_][A-Za-z0-9_]*", lambda m: values.get(m.group(0), m.group(0)), calc.formula
    )
    return text.replace("*", "×").replace("/", "÷")


def customer_packet(packet: Packet) -> Packet:
    """The packet as the customer may see it: approved and edited items only; gap flags keep
    what is missing but lose the vendor's risk assessment, next action and owner (and the
    vendor's own follow-up flags go); no vendor emails (the account's CSM, who published)."""
    return packet.model_copy(
        update={
            "account": packet.account.model_copy(update={"csm": None}),
            "published_by": None,
            "proof_items": [i for i in packet.proof_items if i.status in CUSTOMER_ITEM_STATUSES],
            "gap_flags": [
                g.model_copy(update={"next_action": "", "risk": "", "owner": None})
                for g in packet.gap_flags
                if g.kind not in INTERNAL_GAP_KINDS
            ],
        }
    )


def packet_view(
    packet: Packet, *, draft: bool | None = None, audience: Audience = "internal"
) -> PacketView:
    """What every format shows, computed once from the packet."""
    if audience == "customer":
        packet = customer_packet(packet)
    titles = {o.id: o.title for o in packet.outcomes}
    by_outcome: dict[str, ProofItem] = {}
    for proof in packet.proof_items:
        if proof.outcome and proof.kind in ("calculation", "customer_statement"):
            by_outcome.setdefault(proof.outcome, proof)
    promises = []
    for o in packet.outcomes:
        item = by_outcome.get(o.id)
        if item is None or item.delivered is None:
            promises.append(
                PromiseRow(o, _promised(o), "—", "—", "—", "missing", "No approved proof")
            )
            continue
        met = not short_of_target(o, item.delivered)
        status: Literal["met", "short", "missing", "asserted"] = "met" if met else "short"
        label = "Met" if met else "Short of target"
        if item.asserted_by_csm:
            status, label = "asserted", label + " (asserted by CSM)"
        attainment = percent(item.attainment)
        promises.append(
            PromiseRow(
                o,
                _promised(o),
                with_unit(item.delivered, item.unit or o.unit),
                attainment,
                CATEGORY_LABELS.get(item.evidence_category, ""),
                status,
                label,
            )
        )
    calculations = [
        CalcView(
            item=i,
            title=titles.get(i.outcome or "", i.outcome or "Calculation"),
            equation=i.calculation.formula.replace("*", "×").replace("/", "÷"),
            substituted=_substitute(i.calculation),
            result=with_unit(i.calculation.result, i.unit),
        )
        for i in packet.proof_items
        if i.kind == "calculation" and i.calculation is not None
    ]
    statements = [
        (i, titles.get(i.outcome or "", i.outcome or ""))
        for i in packet.proof_items
        if i.kind == "customer_statement"
    ]
    payback = next((i for i in packet.proof_items if i.kind == "payback"), None)
    payback_calc = None
    if payback is not None and payback.calculation is not None:
        payback_calc = CalcView(
            item=payback,
            title="Payback",
            equation=payback.calculation.formula.replace("*", "×").replace("/", "÷"),
            substituted=_substitute(payback.calculation),
            result=with_unit(payback.calculation.result, payback.unit),
        )
    gaps = [
        (titles.get(g.outcome or "", "Whole account"), GAP_LABELS.get(g.kind, g.kind))
        for g in packet.gap_flags
    ]
    return PacketView(
        packet=packet,
        draft=packet.published_at is None if draft is None else draft,
        promises=promises,
        calculations=calculations,
        statements=statements,
        payback=payback,
        payback_calc=payback_calc,
        gaps=gaps,
        generated_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        customer=audience == "customer",
        confirmed={c.item_id: c for c in packet.confirmations},
    )


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=number, unit=with_unit)
    return env


def render_html(packet: Packet, audience: Audience = "internal") -> str:
    """A standalone HTML document (inline CSS), also what the PDF is printed from."""
    return _env().get_template("packet.html").render(v=packet_view(packet, audience=audience))


def render_pdf(packet: Packet, audience: Audience = "internal") -> bytes:
    from weasyprint import HTML  # imported late: it loads Pango, which takes a moment

    pdf: bytes = HTML(string=render_html(packet, audience)).write_pdf()
    return pdf


def render_json(packet: Packet, audience: Audience = "internal") -> str:
    if audience == "customer":
        packet = customer_packet(packet)
    return json.dumps(packet.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def render_markdown(packet: Packet, audience: Audience = "internal") -> str:
    v = packet_view(packet, audience=audience)
    p = v.packet
    state = (
        "DRAFT, not published"
        if v.draft
        else (
            f"published {p.published_at:%Y-%m-%d %H:%M} UTC by {_md(p.published_by or '')}"
            if p.published_at
            else "published"
        )
    )
    lines = [
        f"# Value Proof Packet: {_md(p.account.name)}",
        "",
        f"As of {p.as_of.isoformat()} · version {p.version} · {state}",
        "",
        f"**{_md(v.headline)}**",
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
    if v.calculations:
        lines += ["", "## How each number was calculated"]
    for c in v.calculations:
        lines += ["", f"### {_md(c.title)}", "", _md(c.item.claim), ""]
        lines += _md_edit_lines(c.item, v)
        lines += [f"`{c.equation}` = `{c.substituted}` = **{c.result}**", ""]
        lines += ["| Input | Value | Unit | Source |", "|---|---|---|---|"]
        assert c.item.calculation is not None
        for i in c.item.calculation.inputs:
            source = f"`{i.source}`" + (f" ({_md(i.cited_as)})" if i.cited_as else "")
            lines.append(f"| {_md(i.name)} | {number(i.value)} | {_md(i.unit or '')} | {source} |")
    if v.statements:
        lines += ["", "## In the customer's own words"]
    for item, title in v.statements:
        lines += ["", f"**{_md(title)}**: {_md(item.claim)}", ""]
        lines += _md_edit_lines(item, v)
        for cite in item.citations:
            lines.append(f"> “{_md(cite.quote)}” — `{cite.source}`")
    if v.payback is not None:
        pb = v.payback
        lines += ["", "## Payback", "", _md(pb.claim), ""]
        lines += _md_edit_lines(pb, v)
        lines.append(
            f"Payback: **{number(pb.delivered)} months** against a forecast of "
            f"{number(pb.forecast)} months."
        )
        if v.payback_calc is not None:
            c = v.payback_calc
            lines += ["", f"`{c.equation}` = `{c.substituted}` = **{c.result}**"]
    lines += ["", "## Where proof is missing", ""]
    if not p.gap_flags:
        lines.append("No open gaps at this date.")
    for g, (title, label) in zip(p.gap_flags, v.gaps, strict=True):
        due = f", due {g.due_date.isoformat()}" if g.due_date else ""
        lines.append(f"- **{_md(title)}: {label}** (severity {g.severity}). {_md(g.message)}")
        if not v.customer:
            lines += [
                f"  - Next action: {_md(g.next_action)} "
                f"(owner: {_md(g.owner or 'unassigned')}{due})",
                f"  - Risk: {_md(g.risk)}",
            ]
    lines += [
        "",
        f"_Only approved and edited items appear in this packet. Generated {v.generated_at}._",
        "",
    ]
    return "\n".join(lines)


def _md_edit_lines(item: ProofItem, v: PacketView) -> list[str]:
    lines = []
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


def render(packet: Packet, fmt: str, audience: Audience = "internal") -> bytes:
    """The packet in ``fmt`` (html, pdf, md or json) as bytes, ready to write or send.

    ``audience="customer"`` is what a share link serves (see :func:`customer_packet`).
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


def filename(packet: Packet, fmt: str) -> str:
    tag = f"v{packet.version}" if packet.published_at else f"draft-v{packet.version}"
    return f"value-proof-{packet.account.id}-{packet.as_of.isoformat()}-{tag}.{fmt}"
