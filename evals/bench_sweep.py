"""Sweep benchmark: a full sweep of N generated accounts, then the same sweep again unchanged.

    python -m evals.bench_sweep                     # 10,000 accounts (issue 17), simple generator
    python -m evals.bench_sweep --accounts 1000 --generator evals
    python -m evals.bench_sweep --prepared /var/tmp/sweep10k   # generate + ingest once, reuse

Generates N accounts in a temporary folder, ingests them into a fresh SQLite store under a
temporary CLERK_HOME (no vector index: the extractive drafter reads every customer passage
from SQL), then times ``run_sweep`` twice at the same as-of date. The default generator,
``simple``, writes variations of the shared example fast (10,000 accounts in minutes; the
customer texts repeat across accounts); ``--generator evals`` writes distinct accounts with
planted truth (slow at 10,000). Prints accounts/s of the first sweep (goal >= 100 on 2 cores),
the share of time per stage as the sweep itself measured it (``SweepReport.stage_seconds``),
peak RSS (goal < 1 GB) and how many times faster the second, unchanged sweep is (goal: >= 20x).
Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from evals import load

GOAL_RATIO = 20.0
GOAL_RATE = 100.0  # accounts/s of the first sweep, 2 cores (issue 17)
GOAL_RSS_MB = 1024.0
AS_OF = dt.date(2026, 7, 1)


@dataclass
class SweepBench:
    """The figures of one benchmark run."""

    accounts: int
    generator: str
    events: int
    generate_seconds: float
    ingest_seconds: float
    first_seconds: float
    second_seconds: float
    items: int
    gaps: int
    failed: int
    stage_seconds: dict[str, float] = field(default_factory=dict)
    rss_before_sweep_mb: float = 0.0
    peak_rss_mb: float = 0.0  # this process (the sweep's parent)
    worker_rss_mb: float = 0.0  # the largest worker process (0: the sweep ran in one process)
    workers: int = 0

    @property
    def all_processes_rss_mb(self) -> float:
        """An upper bound of the memory of the whole sweep: parent + each worker at the peak
        of the largest one."""
        return self.peak_rss_mb + self.workers * self.worker_rss_mb

    @property
    def accounts_per_second(self) -> float:
        return self.accounts / self.first_seconds if self.first_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.first_seconds / self.second_seconds if self.second_seconds else float("inf")

    @property
    def goals_met(self) -> bool:
        return (
            self.accounts_per_second >= GOAL_RATE
            and self.all_processes_rss_mb < GOAL_RSS_MB
            and self.ratio >= GOAL_RATIO
            and self.failed == 0
        )


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size of this process so far, or with RUSAGE_CHILDREN of its largest
    finished child (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(who).ru_maxrss / 1024


def simple_generate(out: Path, n_accounts: int, seed: int = 7) -> int:
    """``n_accounts`` variations of the shared example (its notes, tickets, value case and a
    random ~8 % of its events each); returns how many accounts it wrote."""
    example = Path(__file__).resolve().parents[1] / "clerk" / "demo_data"
    rng = random.Random(seed)
    source = example / "accounts" / "northwind"
    events = (example / "usage" / "events.jsonl").read_text(encoding="utf-8").splitlines()
    tickets = json.loads((example / "tickets" / "zendesk-export.json").read_text())["tickets"]
    (out / "usage").mkdir(parents=True, exist_ok=True)
    (out / "tickets").mkdir(parents=True, exist_ok=True)
    all_tickets = []
    with (out / "usage" / "events.jsonl").open("w", encoding="utf-8") as usage:
        for k in range(n_accounts):
            aid = f"bench-{k:05d}"
            folder = out / "accounts" / aid
            shutil.copytree(source, folder)
            text = (folder / "account.yaml").read_text(encoding="utf-8")
            text = text.replace("id: northwind", f"id: {aid}").replace("[northwind]", f"[{aid}]")
            text = text.replace(
                "zendesk_organization_id: 3612", f"zendesk_organization_id: {100_000 + k}"
            )
            (folder / "account.yaml").write_text(text, encoding="utf-8")
            for line in rng.sample(events, k=max(1, len(events) // 12)):
                event = json.loads(line)
                if "subject" in event:
                    event["subject"], event["id"] = aid, f"{aid}-{event['id']}"
                else:
                    event["external_customer_id"] = aid
                    event["transaction_id"] = f"{aid}-{event['transaction_id']}"
                usage.write(json.dumps(event) + "\n")
            for ticket in tickets:
                copy = json.loads(json.dumps(ticket))
                copy["id"] = ticket["id"] * 100_000 + k
                copy["organization_id"] = 100_000 + k
                all_tickets.append(copy)
    (out / "tickets" / "export.json").write_text(json.dumps({"tickets": all_tickets}))
    return n_accounts


def _generate(data: Path, n_accounts: int, seed: int, generator: str) -> tuple[int, str]:
    """Generate with evals.generator (planted truth) or, if asked or it fails, the simple one."""
    if generator == "evals":
        try:
            from evals.generator import generate

            return len(generate(data, n_accounts, seed, AS_OF)["accounts"]), "evals.generator"
        except Exception as exc:  # noqa: BLE001 - a generator bug must not void the benchmark
            print(f"evals.generator failed ({type(exc).__name__}: {exc}); using the simple one")
            shutil.rmtree(data, ignore_errors=True)
    return simple_generate(data, n_accounts, seed), "simple"


PREPARED_MARK = "prepared.json"  # in a --prepared folder: what was generated and ingested


def _use_home(home: Path) -> None:
    """Point the clerk at ``home`` (never the user's own store)."""
    os.environ["CLERK_HOME"] = str(home)
    os.environ.pop("CLERK_DATABASE_URL", None)
    from clerk.settings import get_settings

    get_settings.cache_clear()


def prepare(
    folder: Path, n_accounts: int, seed: int = 7, generator: str = "evals"
) -> dict[str, object]:
    """Generate and ingest ``n_accounts`` into ``folder`` once; a second call with the same
    arguments reuses them. Returns what was prepared (accounts, events, generator, timings)."""
    mark = folder / PREPARED_MARK
    wanted = {"accounts": n_accounts, "seed": seed, "asked": generator}
    if mark.exists():
        prepared = json.loads(mark.read_text(encoding="utf-8"))
        if {k: prepared.get(k) for k in wanted} == wanted:
            return dict(prepared)
        raise SystemExit(f"{folder} holds another preparation ({prepared}); use a new folder")
    if folder.exists() and any(folder.iterdir()):
        raise SystemExit(f"{folder} is not empty and was not prepared by this bench")
    _use_home(folder / "home")
    from clerk.ingest import run_ingest
    from clerk.store import Store

    t0 = time.perf_counter()
    accounts, used = _generate(folder / "data", n_accounts, seed, generator)
    generated = time.perf_counter() - t0
    store = Store()
    try:
        t0 = time.perf_counter()
        report = run_ingest(folder / "data", store)
        ingested = time.perf_counter() - t0
    finally:
        store.close()
    prepared = {
        **wanted,
        "generator": used,
        "generated_accounts": accounts,
        "events": report.counts["events"].new,
        "generate_seconds": generated,
        "ingest_seconds": ingested,
    }
    mark.write_text(json.dumps(prepared), encoding="utf-8")
    return prepared


def run(
    n_accounts: int,
    seed: int = 7,
    workdir: Path | None = None,
    generator: str = "evals",
    prepared: Path | None = None,
) -> SweepBench:
    """Generate, ingest and sweep twice; return the timings.

    Without ``workdir`` everything happens in a temporary folder removed afterwards. Without
    ``prepared`` the accounts are generated and ingested in ``workdir`` (see ``prepare``);
    with it they are made once there and each run sweeps a fresh copy of it, so a quiet run
    times the sweep alone.
    """
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="clerk-bench-sweep-") as tmp:
            return run(n_accounts, seed, Path(tmp), generator, prepared)
    base = Path(workdir)
    if prepared is None:
        if (base / PREPARED_MARK).exists():
            raise SystemExit(f"{base} holds a store swept before; use a new --workdir")
        done = prepare(base, n_accounts, seed, generator)  # generated and ingested in place
    else:
        done = prepare(prepared, n_accounts, seed, generator)
        shutil.copytree(prepared / "home", base / "home")
    _use_home(base / "home")
    from clerk.store import Store
    from clerk.sweep.run import run_sweep

    accounts = int(str(done["generated_accounts"]))
    store = Store()
    try:
        rss_before = peak_rss_mb()
        first = run_sweep(store, as_of=AS_OF)
        second = run_sweep(store, as_of=AS_OF)
        rss = peak_rss_mb()
        worker_rss = peak_rss_mb(resource.RUSAGE_CHILDREN)  # the pool has ended: reaped
    finally:
        store.close()
    assert second.swept == 0, "the unchanged sweep redrafted accounts"
    swept = first.swept + len(first.failed)
    if swept != accounts:  # the rate is per account the sweep saw, never per file generated
        print(f"generated {accounts:,} accounts, the store holds {swept:,}: rates use {swept:,}")
    return SweepBench(
        accounts=swept,
        generator=str(done["generator"]),
        events=int(str(done["events"])),
        generate_seconds=float(str(done["generate_seconds"])),
        ingest_seconds=float(str(done["ingest_seconds"])),
        first_seconds=first.seconds,
        second_seconds=second.seconds,
        items=first.new_items,
        gaps=first.new_gaps,
        failed=len(first.failed),
        stage_seconds=dict(first.stage_seconds),
        rss_before_sweep_mb=rss_before,
        peak_rss_mb=rss,
        worker_rss_mb=worker_rss,
        workers=first.workers,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m evals.bench_sweep [--accounts N] [--seed S] [--workdir DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m evals.bench_sweep", description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--prepared",
        type=Path,
        default=None,
        help="generate and ingest once into this folder; later runs sweep a copy of it",
    )
    parser.add_argument(
        "--generator",
        choices=("evals", "simple"),
        default="simple",
        help="simple: fast, texts repeat across accounts; evals: distinct accounts, slow",
    )
    args = parser.parse_args(argv)
    watch = load.start("sweep")
    result = run(args.accounts, args.seed, args.workdir, args.generator, args.prepared)
    print(
        f"accounts           {result.accounts:,} ({result.events:,} events, "
        f"{result.generator} generator)"
    )
    print(f"generate / ingest  {result.generate_seconds:.1f} s / {result.ingest_seconds:.1f} s")
    print(
        f"first sweep        {result.first_seconds:.2f} s = {result.accounts_per_second:,.1f} "
        f"accounts/s ({result.items:,} items, {result.gaps:,} gaps, {result.failed} failed)"
    )
    rate_ok = "meets" if result.accounts_per_second >= GOAL_RATE else "MISSES"
    print(
        f"                   ({rate_ok} the {GOAL_RATE:g} accounts/s goal, {os.cpu_count()} cores)"
    )
    print("time per stage (as the sweep measured it, summed over accounts):")
    total = sum(result.stage_seconds.values()) or 1.0
    for stage, seconds in result.stage_seconds.items():
        print(f"  {stage:<13} {seconds:8.2f} s  {seconds / total:6.1%}")
    print(f"  {'(timed)':<13} {total:8.2f} s of {result.first_seconds:.2f} s wall")
    print(f"second sweep       {result.second_seconds:.3f} s (unchanged evidence)")
    verdict = "meets" if result.ratio >= GOAL_RATIO else "MISSES"
    print(f"ratio              {result.ratio:,.1f}x faster ({verdict} the {GOAL_RATIO:g}x goal)")
    rss_ok = "meets" if result.all_processes_rss_mb < GOAL_RSS_MB else "MISSES"
    print(
        f"peak RSS           {result.peak_rss_mb:,.0f} MB after both sweeps "
        f"({result.rss_before_sweep_mb:,.0f} MB before them)"
    )
    print(
        f"                   largest worker {result.worker_rss_mb:,.0f} MB x {result.workers}: "
        f"all processes at most {result.all_processes_rss_mb:,.0f} MB "
        f"({rss_ok} the < 1 GB goal)"
    )
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(result).items()})
    return load.finish(watch, result.goals_met)


if __name__ == "__main__":
    raise SystemExit(main())
