"""Status groups and display orders: defined once, used by sweep, review, packet, UI and CLI.

The single values are the ``Literal`` types in :mod:`clerk.domain.models` (``ItemStatus``,
``GapStatus``, ``Severity``, ``ItemKind``); this module names the groups the code asks about
("is this draft still waiting for a reviewer?") and the orders lists are shown in.
"""

from __future__ import annotations

from clerk.domain.models import GapStatus, ItemKind, ItemStatus, Severity

__all__ = [
    "DECIDED_STATUSES",
    "ITEM_KINDS",
    "KIND_RANK",
    "OPEN_GAP_STATUSES",
    "PENDING_STATUSES",
    "PROVEN_STATUSES",
    "SEVERITIES",
    "SEVERITY_RANK",
    "kind_rank",
    "severity_rank",
]

# Drafted and waiting for a reviewer; a re-run may replace them.
PENDING_STATUSES: tuple[ItemStatus, ...] = ("pending", "unverified")
# A reviewer decided; a re-run keeps them (a decision can be undone back to pending).
DECIDED_STATUSES: tuple[ItemStatus, ...] = ("approved", "edited", "rejected")
# In force: what the packet, the account grid and the digests count as proof.
PROVEN_STATUSES: tuple[ItemStatus, ...] = ("approved", "edited")
# Gaps a packet lists and a sweep may resolve.
OPEN_GAP_STATUSES: tuple[GapStatus, ...] = ("open", "acknowledged")

# Most severe first: the order of every gap list (packet, UI, `clerk gaps`).
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")
SEVERITY_RANK: dict[str, int] = {s: n for n, s in enumerate(SEVERITIES)}
# The order items of one outcome are shown in: the number, the customer's words, the payback.
ITEM_KINDS: tuple[ItemKind, ...] = ("calculation", "customer_statement", "payback")
KIND_RANK: dict[str, int] = {k: n for n, k in enumerate(ITEM_KINDS)}


def severity_rank(severity: str) -> int:
    """0 for "high"; unknown values sort last."""
    return SEVERITY_RANK.get(severity, len(SEVERITIES))


def kind_rank(kind: str) -> int:
    """0 for "calculation"; unknown kinds sort last."""
    return KIND_RANK.get(kind, len(ITEM_KINDS))
