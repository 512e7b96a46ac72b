"""Small inline-SVG charts of delivered against target, one per outcome.

Written by hand rather than with a plotting library: a few rectangles and lines are all a
trend of four periods needs, they render identically in a browser and in WeasyPrint's PDF,
and the packet stays one self-contained file with no font or image files beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from clerk.domain.models import Outcome, OutcomeTrend

WIDTH, HEIGHT = 220, 120
_TOP, _BOTTOM, _LEFT, _RIGHT = 16, 28, 6, 6
OK, SHORT, TARGET, INK, MUTED = "#047857", "#b45309", "#1d4ed8", "#111827", "#6b7280"


def _met(outcome: Outcome, value: float) -> bool:
    if outcome.target is None:
        return True
    return value <= outcome.target if outcome.direction == "decrease" else value >= outcome.target


def _short_label(label: str) -> str:
    # "Q2 2026" -> "Q2 '26", "June 2026" -> "Jun '26": four labels fit under 220 px
    parts = label.split()
    if len(parts) == 2 and parts[1].isdigit() and len(parts[1]) == 4:
        return f"{parts[0][:3]} ’{parts[1][2:]}"
    return label


def trend_svg(
    trend: OutcomeTrend, outcome: Outcome, fmt: Callable[[float | None, str | None], str]
) -> str:
    """An SVG bar chart: one bar per period (green on target, amber short), the target as a
    dashed line, the value above each bar and the period below it."""
    points = trend.points
    values = [p.delivered for p in points if p.delivered is not None]
    top = max([*values, outcome.target or 0, 1e-9]) * 1.15
    plot_h = HEIGHT - _TOP - _BOTTOM
    slot = (WIDTH - _LEFT - _RIGHT) / max(len(points), 1)
    bar = min(34.0, slot * 0.55)

    def y(value: float) -> float:
        return _TOP + plot_h - plot_h * (value / top)

    title = escape(f"{outcome.title}: delivered against target, last {len(points)} periods")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}">',
        f"<title>{title}</title>",
        f'<line x1="{_LEFT}" y1="{_TOP + plot_h:.1f}" x2="{WIDTH - _RIGHT}" '
        f'y2="{_TOP + plot_h:.1f}" stroke="#d1d5db" stroke-width="1"/>',
    ]
    for n, point in enumerate(points):
        cx = _LEFT + slot * n + slot / 2
        value = point.delivered
        if value is not None:
            colour = OK if _met(outcome, value) else SHORT
            top_y = y(max(value, 0))
            out.append(
                f'<rect x="{cx - bar / 2:.1f}" y="{top_y:.1f}" width="{bar:.1f}" '
                f'height="{_TOP + plot_h - top_y:.1f}" fill="{colour}" rx="2"/>'
            )
            out.append(
                f'<text x="{cx:.1f}" y="{top_y - 3:.1f}" text-anchor="middle" font-size="8.5" '
                f'fill="{INK}" font-family="DejaVu Sans, sans-serif">'
                f"{escape(_compact(fmt(value, outcome.unit)))}</text>"
            )
        else:
            out.append(
                f'<text x="{cx:.1f}" y="{_TOP + plot_h - 4:.1f}" text-anchor="middle" '
                f'font-size="8" fill="{MUTED}" font-family="DejaVu Sans, sans-serif">no data</text>'
            )
        out.append(
            f'<text x="{cx:.1f}" y="{HEIGHT - _BOTTOM + 13:.1f}" text-anchor="middle" '
            f'font-size="8.5" fill="{MUTED}" font-family="DejaVu Sans, sans-serif">'
            f"{escape(_short_label(point.period.label))}</text>"
        )
    if outcome.target is not None:
        ty = y(outcome.target)
        out.append(
            f'<line x1="{_LEFT}" y1="{ty:.1f}" x2="{WIDTH - _RIGHT}" y2="{ty:.1f}" '
            f'stroke="{TARGET}" stroke-width="1.2" stroke-dasharray="4 3"/>'
        )
        out.append(
            f'<text x="{WIDTH - _RIGHT}" y="{HEIGHT - 3}" text-anchor="end" font-size="8" '
            f'fill="{TARGET}" font-family="DejaVu Sans, sans-serif">- - target '
            f"{escape(_compact(fmt(outcome.target, outcome.unit)))}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _compact(text: str) -> str:
    """Chart labels drop the unit word: the table beside them says it."""
    return text.split(" per ")[0].split(" ")[0]
