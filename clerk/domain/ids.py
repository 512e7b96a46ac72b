"""Stable ids of drafts: derived from what a draft rests on, never from its wording.

Ids derive from (account, outcome, kind, period, evidence key), so a re-run finds its own
earlier work instead of adding twins.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from clerk.domain.models import Period, ProofItem


def digest(*parts: Any) -> str:
    """A short, stable hash of JSON-able parts."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _period_key(period: Period | None) -> tuple[str | None, str | None]:
    if period is None:
        return None, None
    return period.start.isoformat(), period.end.isoformat()


def evidence_key(item: ProofItem, drafter: str) -> str:
    """What an item rests on: its numbers and sources, or its quotes; never its wording.

    The drafter's name is part of it so switching drafters redrafts pending items.
    """
    calc = item.calculation
    calc_key = None
    if calc is not None:
        calc_key = [calc.formula, [(i.name, i.value, i.source, i.cited_as) for i in calc.inputs]]
    cites = sorted((c.source, c.start, c.end) for c in item.citations)
    return digest(drafter, calc_key, cites, item.target, item.delivered)


def item_id(item: ProofItem, key: str) -> str:
    """``pi_`` + hash of (account, outcome, kind, period, evidence key)."""
    return "pi_" + digest(item.account, item.outcome, item.kind, _period_key(item.period), key)


def gap_id(account: str, outcome: str | None, kind: str, period: Period | None, key: str) -> str:
    """``gf_`` + hash of (account, outcome, kind, period, evidence key).

    The key names what the gap is about (an input, the cited sources), not the current
    numbers, so a shortfall that deepens stays the same flag.
    """
    return "gf_" + digest(account, outcome, kind, _period_key(period), key)
