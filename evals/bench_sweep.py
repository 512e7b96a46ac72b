"""Sweep benchmark: a full sweep of N generated accounts, then the same sweep again unchanged.

    python -m evals.bench_sweep --accounts 1000

Generates N accounts with ``evals.generator`` (usage, tickets, notes, value cases) in a
temporary folder, ingests them into a fresh SQLite store under a temporary CLERK_HOME (no
vector index: the extractive drafter reads every customer passage from SQL), then times
``run_sweep`` twice at the same as-of date. Prints accounts/s of the first sweep and how many
times faster the second, unchanged sweep is (goal: >= 20x). Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

GOAL_RATIO = 20.0
AS_OF = dt.date(2026, 7, 1)


@dataclass
class SweepBench:
    """The figures of one benchmark run."""

    accounts: int
    events: int
    generate_seconds: float
    ingest_seconds: float
    first_seconds: float
    second_seconds: float
    items: int
    gaps: int
    failed: int

    @property
    def accounts_per_second(self) -> float:
        return self.accounts / self.first_seconds if self.first_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.first_seconds / self.second_seconds if self.second_seconds else float("inf")


def run(n_accounts: int, seed: int = 7, workdir: Path | None = None) -> SweepBench:
    """Generate, ingest and sweep twice; return the timings."""
    from evals.generator import generate

    base = Path(workdir or tempfile.mkdtemp(prefix="clerk-bench-sweep-"))
    data, home = base / "data", base / "home"
    os.environ["CLERK_HOME"] = str(home)  # never touch the user's own store
    os.environ.pop("CLERK_DATABASE_URL", None)
    from clerk.settings import get_settings

    get_settings.cache_clear()
    from clerk.ingest import run_ingest
    from clerk.store import Store
    from clerk.sweep import run_sweep

    t0 = time.perf_counter()
    expected = generate(data, n_accounts, seed, AS_OF)
    generated = time.perf_counter() - t0

    store = Store()
    try:
        t0 = time.perf_counter()
        report = run_ingest(data, store, sync_index=False)
        ingested = time.perf_counter() - t0
        first = run_sweep(store, as_of=AS_OF)
        second = run_sweep(store, as_of=AS_OF)
    finally:
        store.close()
    assert second.swept == 0, "the unchanged sweep redrafted accounts"
    return SweepBench(
        accounts=len(expected["accounts"]),
        events=report.counts["events"].new,
        generate_seconds=generated,
        ingest_seconds=ingested,
        first_seconds=first.seconds,
        second_seconds=second.seconds,
        items=first.new_items,
        gaps=first.new_gaps,
        failed=len(first.failed),
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m evals.bench_sweep [--accounts N] [--seed S] [--workdir DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m evals.bench_sweep", description=__doc__)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args.accounts, args.seed, args.workdir)
    print(f"accounts           {result.accounts:,} ({result.events:,} events)")
    print(f"generate / ingest  {result.generate_seconds:.1f} s / {result.ingest_seconds:.1f} s")
    print(
        f"first sweep        {result.first_seconds:.2f} s = {result.accounts_per_second:,.1f} "
        f"accounts/s ({result.items:,} items, {result.gaps:,} gaps, {result.failed} failed)"
    )
    print(f"second sweep       {result.second_seconds:.3f} s (unchanged evidence)")
    verdict = "meets" if result.ratio >= GOAL_RATIO else "MISSES"
    print(f"ratio              {result.ratio:,.1f}x faster ({verdict} the {GOAL_RATIO:g}x goal)")
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(result).items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
