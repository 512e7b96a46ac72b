"""Ingest benchmark: `clerk ingest` of N generated events against a bare executemany.

    python -m evals.bench_ingest --events 1000000

Generates CloudEvents, Lago and CSV usage files (plus a few accounts) in a temporary folder,
times ``run_ingest`` into a fresh SQLite database, then inserts the very same rows with a bare
``sqlite3`` executemany into another fresh database with the same schema, in the same process.
Prints events/s, the ratio of the two rates (goal >= 0.7) and the peak RSS of the ingest
(goal < 500 MB): its own process plus every process that parsed usage files for it
(``ingest_workers``), each peak added as if they all peaked at once. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evals import load

GOAL_RATIO = 0.7  # issue 17: whole ingest, digests included
GOAL_RSS_MB = 500.0
EVENT_TYPES = ("approval.completed", "report.exported", "invoice.ingested")
SHARES = {"cloudevents.jsonl": 0.6, "lago.jsonl": 0.25, "events.csv": 0.15}


@dataclass
class BenchResult:
    """The figures one run produced; extra phases (digests) add to ``extra``."""

    events: int
    accounts: int
    ingest_seconds: float
    events_seconds: float
    digest_seconds: float
    digests: int | None
    bare_seconds: float
    peak_rss_mb: float  # the whole ingest: its own process plus every worker process
    new: int
    ingest_cpu_seconds: float = 0.0  # CPU time (user + sys): steadier than wall on a busy box
    bare_cpu_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    parent_rss_mb: float = 0.0  # the ingest's own process
    worker_rss_mb: list[float] = field(default_factory=list)  # each parsing process
    worker_cpu_seconds: float = 0.0  # CPU time of the worker processes (not in ingest_cpu)

    @property
    def ingest_rate(self) -> float:
        return self.events / self.ingest_seconds if self.ingest_seconds else 0.0

    @property
    def bare_rate(self) -> float:
        return self.events / self.bare_seconds if self.bare_seconds else 0.0

    @property
    def ratio(self) -> float:
        return self.ingest_rate / self.bare_rate if self.bare_rate else 0.0

    @property
    def events_ratio(self) -> float:
        """The events phase alone (parse, route, dedupe, insert) against the bare insert."""
        return self.bare_seconds / self.events_seconds if self.events_seconds else 0.0

    @property
    def cpu_ratio(self) -> float:
        """Bare CPU over the ingest's CPU, its worker processes' included."""
        spent = self.ingest_cpu_seconds + self.worker_cpu_seconds
        return self.bare_cpu_seconds / spent if spent else 0.0

    @property
    def goals_met(self) -> bool:
        return self.ratio >= GOAL_RATIO and self.peak_rss_mb < GOAL_RSS_MB


def generate(folder: Path, events: int, accounts: int, seed: int = 7) -> None:
    """Write accounts and ``events`` usage events (CloudEvents, Lago, CSV) under ``folder``."""
    rng = random.Random(seed)
    for i in range(accounts):
        account = folder / "accounts" / f"acct-{i:04d}"
        account.mkdir(parents=True)
        (account / "account.yaml").write_text(
            f"id: acct-{i:04d}\nname: Account {i}\ncsm: csm{i % 7}@vendor.example\n"
            f"contract: {{start: 2026-01-01, renewal: 2027-{1 + i % 12:02d}-01}}\n"
        )
    usage = folder / "usage"
    usage.mkdir(parents=True)
    # 300 days from 2026-01-01: every event lies in the past (the clerk rejects events more
    # than a day ahead of now, and a rejected event would be timed as an error report).
    base = 1767225600  # 2026-01-01T00:00:00Z
    written = 0
    names = list(SHARES)
    for n, name in enumerate(names):
        count = events - written if n == len(names) - 1 else int(events * SHARES[name])
        written += count
        with (usage / name).open("w", encoding="utf-8") as fh:
            if name.endswith(".csv"):
                fh.write("id,subject,type,time,approver,amount,auto\n")
            for j in range(count):
                subject = f"acct-{rng.randrange(accounts):04d}"
                kind = EVENT_TYPES[j % len(EVENT_TYPES)]
                stamp = base + rng.randrange(300 * 86400)
                amount = round(rng.uniform(10, 10000), 2)
                approver = f"u-{rng.randrange(60):02d}"
                if name.startswith("cloudevents"):
                    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
                    record: dict[str, Any] = {
                        "specversion": "1.0",
                        "id": f"evt-{j}",
                        "source": "bench",
                        "type": kind,
                        "subject": subject,
                        "time": iso,
                        "data": {"approver": approver, "amount": amount, "mode": "auto"},
                    }
                    fh.write(json.dumps(record) + "\n")
                elif name.startswith("lago"):
                    record = {
                        "transaction_id": f"tx-{j}",
                        "external_customer_id": subject,
                        "code": kind,
                        "timestamp": stamp,
                        "properties": {"approver": approver, "amount": amount},
                    }
                    fh.write(json.dumps(record) + "\n")
                else:
                    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
                    fh.write(f"c-{j},{subject},{kind},{iso},{approver},{amount},true\n")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bare_rows(folder: Path, batch: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows ingest stores, in batches, shaped for sqlite3 (time and data as text)."""
    from clerk.ingest.events import EventError
    from clerk.ingest.readers import ReadContext, UsageFile

    rows: list[tuple[Any, ...]] = []
    for path in sorted((folder / "usage").iterdir()):
        rel = f"usage/{path.name}"
        with path.open("rb") as fh:
            for _, line, parsed in UsageFile(rel, ReadContext()).items(fh):
                if isinstance(parsed, EventError):
                    continue
                source_id, subject, kind, when, data = parsed
                rows.append(
                    (
                        source_id,
                        subject,
                        subject,
                        kind,
                        when.isoformat(" ", "microseconds"),
                        json.dumps(data),
                        rel,
                        line,
                    )
                )
                if len(rows) >= batch:
                    yield rows
                    rows = []
    if rows:
        yield rows


def bare_insert(folder: Path, db: Path, batch: int) -> tuple[float, float]:
    """(wall, CPU) seconds spent in executemany + commit inserting every row afresh."""
    from clerk.ingest.usage import BULK_CACHE_KIB
    from clerk.store import Store

    Store(f"sqlite:///{db}").close()  # the same schema, by the same migrations
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    # The same page cache the ingest's bulk insert gives itself: a bare limit on a smaller
    # cache would flatter the ratio at a million events.
    conn.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    sql = (
        "INSERT INTO usage_events (source_id, account_id, subject, type, time, data, file, "
        "line) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    spent = cpu = 0.0
    for rows in _bare_rows(folder, batch):
        started, started_cpu = time.perf_counter(), time.process_time()
        conn.executemany(sql, rows)
        conn.commit()
        spent += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
    conn.close()
    return spent, cpu


def run_benchmark(
    events: int, accounts: int = 50, workdir: Path | None = None, *, index: bool = False
) -> BenchResult:
    """Generate, ingest, bare-insert; return the figures. ``index``: the whole run includes
    ``index_ingested`` (the vector index sync of the new digests: embedding on the CPU)."""
    tmp = tempfile.TemporaryDirectory(prefix="clerk-bench-") if workdir is None else None
    root = Path(tmp.name) if tmp is not None else Path(workdir)  # type: ignore[arg-type]
    try:
        data = root / "data"
        generate(data, events, accounts)
        os.environ["CLERK_HOME"] = str(root / "home")
        from clerk.ingest import run_ingest
        from clerk.settings import get_settings
        from clerk.store import Store

        get_settings.cache_clear()
        store = Store(f"sqlite:///{root / 'ingest.db'}")
        started, started_cpu = time.perf_counter(), time.process_time()
        report = run_ingest(data, store)
        if index:
            from clerk.retrieval import index_ingested

            index_ingested(store, report)
        ingest_seconds = time.perf_counter() - started
        ingest_cpu = time.process_time() - started_cpu
        rss = peak_rss_mb()  # before the bare insert, so it is the ingest's peak
        # Worker processes (ingest_workers > 1) report their own peaks (RUSAGE_CHILDREN sees
        # them only once reaped, and not at all under a fork server). A forked worker's RSS
        # includes the pages it shares with the ingest: the sum overstates, never understates.
        workers = sorted((kib / 1024 for kib in report.worker_peak_kib.values()), reverse=True)
        store.close()
        bare, bare_cpu = bare_insert(data, root / "bare.db", get_settings().ingest_batch_size)
        return BenchResult(
            events=events,
            accounts=accounts,
            ingest_seconds=ingest_seconds,
            events_seconds=report.seconds.get("events", 0.0),
            digest_seconds=report.seconds.get("digests", 0.0),
            digests=report.digests,
            bare_seconds=bare,
            peak_rss_mb=rss + sum(workers),
            parent_rss_mb=rss,
            worker_rss_mb=workers,
            worker_cpu_seconds=sum(report.worker_cpu_seconds.values()),
            new=report.counts["events"].new,
            ingest_cpu_seconds=ingest_cpu,
            bare_cpu_seconds=bare_cpu,
            extra={"ingest workers": get_settings().ingest_workers}
            | ({"index sync phase": f"{report.seconds['index']:.2f} s"} if index else {}),
        )
    finally:
        if tmp is not None:
            tmp.cleanup()


def print_result(result: BenchResult) -> None:
    ok = "met" if result.goals_met else "NOT met"
    print(
        f"events ingested        {result.new:,} of {result.events:,} ({result.accounts} accounts)"
    )
    print(
        f"ingest (whole run)     {result.ingest_seconds:8.2f} s  {result.ingest_rate:12,.0f} "
        "events/s"
    )
    print(f"  events phase         {result.events_seconds:8.2f} s")
    digests = "n/a" if result.digests is None else f"{result.digests:,}"
    print(f"  digests phase        {result.digest_seconds:8.2f} s  ({digests} digests)")
    print(
        f"bare executemany       {result.bare_seconds:8.2f} s  {result.bare_rate:12,.0f} events/s"
    )
    print(f"ratio ingest / bare    {result.ratio:8.2f}    (goal >= {GOAL_RATIO})")
    print(f"  events phase only    {result.events_ratio:8.2f}")
    spent = result.ingest_cpu_seconds + result.worker_cpu_seconds
    print(
        f"  by CPU time          {result.cpu_ratio:8.2f}    "
        f"(ingest {spent:.1f} s, bare {result.bare_cpu_seconds:.1f} s)"
    )
    if result.worker_cpu_seconds:
        total = result.ingest_cpu_seconds + result.worker_cpu_seconds
        print(
            f"  of which workers     {result.worker_cpu_seconds:8.1f} s   (ingest's own process "
            f"{result.ingest_cpu_seconds:.1f} s; {total:.1f} s in all: at least {total / 2:.2f} s "
            "of wall on 2 free cores)"
        )
    print(f"peak RSS of ingest     {result.peak_rss_mb:8.0f} MB  (goal < {GOAL_RSS_MB:.0f} MB)")
    if result.worker_rss_mb:
        largest = result.worker_rss_mb[0]
        print(
            f"  its own process      {result.parent_rss_mb:8.0f} MB, "
            f"{len(result.worker_rss_mb)} worker processes (and a fork server, if any) "
            f"{sum(result.worker_rss_mb):.0f} MB, the largest {largest:.0f} MB"
        )
    for name, value in result.extra.items():
        print(f"{name:<22} {value}")
    print(f"goals {ok} (unless the verdict below says the run was noisy)")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 when both goals hold."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--index",
        action="store_true",
        help="include the vector index sync of the digests (embeddings) in the whole run",
    )
    args = parser.parse_args(argv)
    watch = load.start("ingest")
    result = run_benchmark(args.events, args.accounts, index=args.index)
    if args.json:
        payload = asdict(result) | {
            "ingest_rate": result.ingest_rate,
            "bare_rate": result.bare_rate,
            "ratio": result.ratio,
            "events_ratio": result.events_ratio,
            "cpu_ratio": result.cpu_ratio,
        }
        print(json.dumps(payload, indent=1))
    else:
        print_result(result)
    return load.finish(watch, result.goals_met)


if __name__ == "__main__":
    raise SystemExit(main())
