"""Usage readers benchmark: ingest of N events in Segment, Amplitude and CloudEvents shape.

    python -m evals.bench_readers --events 1000000

Writes the same N events (accounts, types, times, data) in three shapes as their systems
export them: CloudEvents JSON lines (the reference path), Segment track calls (JSON lines,
``context.groupId`` routing, string numbers in ``properties``) and an Amplitude Export API
zip of gzipped JSON lines (``groups`` routing, ``"YYYY-MM-DD HH:MM:SS.ffffff"`` times). Each
shape is ingested into its own fresh SQLite store in a child process, so each peak RSS is
that shape's own. Prints events/s, each new reader's rate as a ratio of the CloudEvents rate
in the same run (goal >= 0.7; whole run, events phase and CPU time) and peak RSS (goal
< 500 MB), with the load average: on a shared machine the ratios hold better than the
absolute rates. Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from evals import load

GOAL_RATIO = 0.7
GOAL_RSS_MB = 500.0
SHAPES = ("cloudevents", "segment", "amplitude")
EVENT_TYPES = ("approval.completed", "report.exported", "invoice.ingested")
# Amplitude splits an export into one gzipped file per hour (or more); fewer, larger ones here.
AMPLITUDE_MEMBER_EVENTS = 100_000

try:
    import orjson

    def _line(obj: dict[str, Any]) -> bytes:
        return orjson.dumps(obj) + b"\n"
except ImportError:  # pragma: no cover

    def _line(obj: dict[str, Any]) -> bytes:
        return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def _draws(
    events: int, accounts: int, seed: int = 7
) -> Iterator[tuple[int, str, str, int, str, str]]:
    """(n, account, type, epoch seconds, approver, amount as text) for every event."""
    rng = random.Random(seed)
    base = 1767225600  # 2026-01-01T00:00:00Z
    for n in range(events):
        yield (
            n,
            f"acct-{rng.randrange(accounts):04d}",
            EVENT_TYPES[n % len(EVENT_TYPES)],
            base + rng.randrange(300 * 86400),
            f"u-{rng.randrange(60):02d}",
            f"{rng.uniform(10, 10000):.2f}",
        )


def _iso(stamp: int, sep: str = "T") -> str:
    return time.strftime(f"%Y-%m-%d{sep}%H:%M:%S", time.gmtime(stamp))


def cloudevent(n: int, account: str, kind: str, stamp: int, who: str, amount: str) -> bytes:
    return _line(
        {
            "specversion": "1.0", "id": f"evt-{n}", "source": "bench", "type": kind,
            "subject": account, "time": _iso(stamp) + "Z",
            "data": {"approver": who, "amount": float(amount), "mode": "auto"},
        }
    )  # fmt: skip


def segment(n: int, account: str, kind: str, stamp: int, who: str, amount: str) -> bytes:
    iso = _iso(stamp) + ".000Z"
    return _line(
        {
            "anonymousId": f"anon-{n % 5000}", "context": {"groupId": account,
            "library": {"name": "analytics-node", "version": "2.1.0"}}, "event": kind,
            "integrations": {}, "messageId": f"ajs-next-{n}", "originalTimestamp": iso,
            "properties": {"approver": who, "amount": amount, "mode": "auto"},
            "receivedAt": iso, "sentAt": iso, "timestamp": iso, "type": "track",
            "userId": f"user-{n % 5000}", "version": 2,
        }
    )  # fmt: skip


def amplitude(n: int, account: str, kind: str, stamp: int, who: str, amount: str) -> bytes:
    when = _iso(stamp, " ") + ".000000"
    return _line(
        {
            "$insert_id": f"amp-{n}", "amplitude_id": 500000000 + n % 5000, "app": 418823,
            "device_id": f"d-{n % 5000}", "event_id": n, "event_time": when,
            "event_type": kind, "event_properties": {"approver": who, "amount": amount,
            "mode": "auto"}, "groups": {"company": [account]}, "group_properties": {},
            "platform": "Web", "server_upload_time": when, "session_id": stamp * 1000,
            "user_id": f"user-{n % 5000}", "user_properties": {},
            "uuid": f"6c1d0e6a-0b7e-11f0-9d5c-{n:012d}",
        }
    )  # fmt: skip


def _accounts(data: Path, accounts: int) -> None:
    for i in range(accounts):
        folder = data / "accounts" / f"acct-{i:04d}"
        folder.mkdir(parents=True)
        (folder / "account.yaml").write_text(
            f"id: acct-{i:04d}\nname: Account {i}\ncontract: {{start: 2026-01-01, "
            "renewal: 2027-01-01}\n"
        )


def generate(root: Path, events: int, accounts: int) -> dict[str, Path]:
    """One data folder per shape, the same events in each."""
    folders = {}
    writers: dict[str, Callable[..., bytes]] = {
        "cloudevents": cloudevent,
        "segment": segment,
        "amplitude": amplitude,
    }
    for shape, write in writers.items():
        data = root / shape
        _accounts(data, accounts)
        usage = data / "usage"
        usage.mkdir()
        if shape == "amplitude":
            with zipfile.ZipFile(usage / "418823-export.zip", "w") as archive:
                member: IO[bytes] | None = None
                packed: gzip.GzipFile | None = None
                for draw in _draws(events, accounts):
                    if draw[0] % AMPLITUDE_MEMBER_EVENTS == 0:
                        if packed is not None and member is not None:
                            packed.close()
                            member.close()
                        hour = draw[0] // AMPLITUDE_MEMBER_EVENTS
                        member = archive.open(f"418823/418823_2026-01-01_{hour}#0.json.gz", "w")
                        packed = gzip.GzipFile(fileobj=member, mode="wb", compresslevel=1)
                    assert packed is not None
                    packed.write(write(*draw))
                if packed is not None and member is not None:
                    packed.close()
                    member.close()
        else:
            name = "segment-s3.jsonl" if shape == "segment" else "openmeter.jsonl"
            with (usage / name).open("wb") as fh:
                for draw in _draws(events, accounts):
                    fh.write(write(*draw))
        folders[shape] = data
    return folders


@dataclass
class ShapeRun:
    shape: str
    seconds: float
    events_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    new: int

    @property
    def rate(self) -> float:
        return self.new / self.seconds if self.seconds else 0.0

    @property
    def events_rate(self) -> float:
        return self.new / self.events_seconds if self.events_seconds else 0.0


def child(data: Path, home: Path) -> dict[str, Any]:
    """Ingest one data folder into a fresh store (run in its own process)."""
    os.environ["CLERK_HOME"] = str(home)
    from clerk.ingest import run_ingest
    from clerk.settings import get_settings
    from clerk.store import Store

    get_settings.cache_clear()
    store = Store(f"sqlite:///{home / 'ingest.db'}")
    started, started_cpu = time.perf_counter(), time.process_time()
    report = run_ingest(data, store)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - started_cpu
    store.close()
    return {
        "seconds": seconds,
        "events_seconds": report.seconds.get("events", 0.0),
        "cpu_seconds": cpu,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "new": report.counts["events"].new,
        "rejected": report.rejected_total,
        "shapes": report.file_shapes,
    }


def run_shape(shape: str, data: Path, root: Path) -> ShapeRun:
    home = root / f"home-{shape}"
    home.mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "evals.bench_readers", "--child", str(data), "--home", str(home)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    if figures["rejected"]:
        raise SystemExit(f"{shape}: {figures['rejected']} events rejected")
    return ShapeRun(
        shape,
        figures["seconds"],
        figures["events_seconds"],
        figures["cpu_seconds"],
        figures["peak_rss_mb"],
        figures["new"],
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 when every goal holds."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.home)))
        return 0
    with tempfile.TemporaryDirectory(prefix="clerk-bench-readers-") as tmp:
        root = Path(tmp)
        watch = load.start("readers")
        started = time.perf_counter()
        folders = generate(root, args.events, args.accounts)
        print(f"generated               {args.events:,} events per shape in "
              f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        runs = {shape: run_shape(shape, folders[shape], root) for shape in SHAPES}
    base = runs["cloudevents"]
    ok = True
    print(f"{'shape':<12} {'events':>10} {'whole s':>8} {'events/s':>10} {'ratio':>6} "
          f"{'phase r':>7} {'cpu r':>6} {'RSS MB':>7}")  # fmt: skip
    for shape in SHAPES:
        run = runs[shape]
        ratio = run.rate / base.rate if base.rate else 0.0
        phase = run.events_rate / base.events_rate if base.events_rate else 0.0
        cpu = base.cpu_seconds / run.cpu_seconds if run.cpu_seconds else 0.0
        if shape != "cloudevents":
            ok = ok and ratio >= GOAL_RATIO
        ok = ok and run.peak_rss_mb < GOAL_RSS_MB and run.new == args.events
        print(
            f"{shape:<12} {run.new:>10,} {run.seconds:>8.1f} {run.rate:>10,.0f} {ratio:>6.2f} "
            f"{phase:>7.2f} {cpu:>6.2f} {run.peak_rss_mb:>7.0f}"
        )
    print(f"goals (ratio >= {GOAL_RATIO} of CloudEvents, RSS < {GOAL_RSS_MB:.0f} MB): "
          + ("met" if ok else "NOT met"))  # fmt: skip
    return load.finish(watch, ok)


if __name__ == "__main__":
    raise SystemExit(main())
