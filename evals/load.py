"""The machine's load around a benchmark, and whether its goals may be claimed.

Every ``evals.bench_*`` calls :func:`start` first and :func:`finish` last. A benchmark whose
machine was busy when it began (load average over the last minute above ``QUIET_LOAD``)
still prints its figures, but says the run was noisy instead of claiming its goals: a ratio
measured against other people's work proves nothing either way.

    watch = load.start("ingest")
    ...                              # measure, print figures
    return load.finish(watch, goals_met)   # prints the verdict and the load at the end
"""

from __future__ import annotations

import os
from dataclasses import dataclass

QUIET_LOAD = 1.5  # 1-minute load average above which a run cannot claim a goal


def load_average() -> tuple[float, float, float]:
    """(1, 5, 15)-minute load averages; zeros where the platform has none."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return (0.0, 0.0, 0.0)


def describe(load: tuple[float, float, float]) -> str:
    return f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} (1, 5, 15 min; {os.cpu_count()} cores)"


@dataclass(frozen=True)
class LoadWatch:
    """The load when a benchmark began."""

    name: str
    at_start: tuple[float, float, float]

    @property
    def quiet(self) -> bool:
        return is_quiet(self.at_start[0])


def is_quiet(load_1min: float, limit: float = QUIET_LOAD) -> bool:
    """True when a run that began at this load may claim its goals."""
    return load_1min <= limit


def verdict(goals_met: bool, load_1min: float, limit: float = QUIET_LOAD) -> str:
    """The last line of a benchmark: its goals met, missed, or not claimed (noisy run)."""
    if not is_quiet(load_1min, limit):
        missed = "" if goals_met else " (and they were missed here)"
        return (
            f"goals NOT CLAIMED: noisy run, load average {load_1min:.2f} at start > {limit} "
            f"(the figures above are for information only{missed}; rerun on a quiet machine)"
        )
    return "goals met" if goals_met else "goals NOT met"


def start(name: str) -> LoadWatch:
    """Print the load at the start of benchmark ``name`` and remember it."""
    watch = LoadWatch(name, load_average())
    print(f"[{name}] load average at start  {describe(watch.at_start)}", flush=True)
    if not watch.quiet:
        print(
            f"[{name}] the machine is busy (> {QUIET_LOAD} at start): this run will not claim "
            "its goals",
            flush=True,
        )
    return watch


def finish(watch: LoadWatch, goals_met: bool) -> int:
    """Print the load at the end and the verdict; the exit status (0 only for goals met on a
    quiet machine, 1 for goals missed, 2 for a noisy run that claims nothing)."""
    print(f"[{watch.name}] load average at end    {describe(load_average())}")
    print(f"[{watch.name}] {verdict(goals_met, watch.at_start[0])}", flush=True)
    if not watch.quiet:
        return 2
    return 0 if goals_met else 1
