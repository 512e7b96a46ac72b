"""Where a sweep's time goes: a per-stage time accumulator the sweep fills as it runs.

Lightweight on purpose (two ``perf_counter`` calls per stage per account), so it is always
on; ``SweepReport.stage_seconds`` carries the totals and ``clerk sweep`` benchmarks print them.
Drafting is timed around the drafter call, so with a model server it includes the wait for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("metrics", "retrieval", "drafting", "verification", "gaps", "storing")


class StageTimes:
    """Seconds spent per stage, summed over accounts."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] += seconds

    def shares(self) -> dict[str, float]:
        """Each stage's share of the timed total (0..1)."""
        total = sum(self.seconds.values())
        return {k: (v / total if total else 0.0) for k, v in self.seconds.items()}


@contextmanager
def timed(times: StageTimes | None, name: str) -> Iterator[None]:
    """``times.stage(name)``, or nothing when no accumulator was passed."""
    if times is None:
        yield
        return
    with times.stage(name):
        yield
