"""The generator's shared types: what it plans for an outcome and writes for an account.

Kept apart from ``evals.generator`` so the planting and writing modules can use them without
importing the generator that imports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evals import texts
from evals.scenarios import Recipe
from evals.synth import Event, Window


@dataclass
class OutcomePlan:
    recipe: Recipe
    period: str
    window: Window | None = None
    prior: Window | None = None
    no_events: bool = False
    drop: str | None = None  # drop31 | drop29
    delivered: float | None = None
    target: float | None = None
    under: bool = False
    inputs_now: dict[str, float | None] = field(default_factory=dict)
    inputs_before: dict[str, float | None] = field(default_factory=dict)


@dataclass
class AccountOut:
    """Everything written for one account plus its expected entry."""

    id: str
    account: dict[str, Any]
    value_case: dict[str, Any]
    sink: texts.TextSink
    events: list[Event]
    expected: dict[str, Any]
    csv_recipes: set[str]
