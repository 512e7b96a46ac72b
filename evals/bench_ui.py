"""Review-queue latency: the account page under 20 concurrent clients over a large store.

    python -m evals.bench_ui --accounts 500 --items 10000 --clients 20 --requests 2000

Builds a fresh SQLite store in a temporary CLERK_HOME with ``--accounts`` accounts and
``--items`` pending drafts spread over them (calculations and customer statements citing
ticket text, plus gap flags), starts ``uvicorn`` on loopback in its own process, signs in
``--clients`` HTTP clients and has them fetch random accounts' review pages until
``--requests`` requests are done (a bounded loop, not a timed soak). Prints p50 / p95 / p99
latency and throughput, then the same clients make as many requests of a static file (the
floor: server and client alone); the goal is p95 <= 2.5x the floor's p95. Not a test: it
prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from evals import load

GOAL_P95_MS = 150.0  # the earlier absolute goal, still printed
GOAL_FLOOR_RATIO = 2.5  # issue 17: p95 <= 2.5x the static-file p95 with the same clients
GOAL_ONE_ACCOUNT_MS = 300.0  # issue 17: one account, 1,000 pending, server time
MANAGER = ("bench-manager@vendor.example", "bench-manager-pw")
TICKET = (
    "Subject: month-end close\n\nHi team, quick update from finance. Since the rollout {n} "
    "approvals went through without anyone touching them, and we closed the books in six "
    "days this quarter. The auditors liked the approval log export. <b>Thanks!</b>"
)


@dataclass
class UiBench:
    accounts: int
    items: int
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    bare_ms: list[float]  # the same load on a static file: the server + client floor

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0


def one_account_server_ms(n_items: int = 1000, rounds: int = 20) -> dict[str, float]:
    """Server time of the review page of ONE account with ``n_items`` pending drafts.

    The app runs in this process behind an in-memory ASGI transport (no sockets, no other
    clients), so the time is the server's: routing, session, queries, templates. Returns the
    milliseconds of the first load of page 1 and of page 2 (built from the database) and the
    median and max over ``rounds`` more requests each (served by the worker's caches while the
    account is unchanged)."""
    import httpx

    with tempfile.TemporaryDirectory(prefix="clerk-bench-ui-one-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        url = f"sqlite:///{home / 'clerk.db'}"
        saved = {k: os.environ.get(k) for k in ("CLERK_HOME", "CLERK_DATABASE_URL")}
        os.environ.update(CLERK_HOME=str(home), CLERK_DATABASE_URL=url)
        from clerk.settings import get_settings
        from clerk.store import Store
        from review_ui.app import create_app

        get_settings.cache_clear()
        try:
            build_store(url, 1, n_items)
            store = Store(url)
            app = create_app(store)

            async def measure() -> dict[str, float]:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
                    login = await c.get("/login")
                    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
                    assert token, "no login form"
                    await c.post(
                        "/login",
                        data={"email": MANAGER[0], "password": MANAGER[1], "csrf_token": token[1]},
                    )
                    out: dict[str, float] = {}
                    # compile the templates on another page (the last: a key of its own)
                    assert (await c.get("/accounts/acct-0000?page=999")).status_code == 200
                    for name, path in (("page 1", "/accounts/acct-0000"),
                                       ("page 2", "/accounts/acct-0000?page=2")):  # fmt: skip
                        # The first load builds the page; later ones may come from the
                        # worker's page cache (review_ui.page_cache): both are reported.
                        started = time.perf_counter()
                        assert (await c.get(path)).status_code == 200
                        out[f"{name} first"] = (time.perf_counter() - started) * 1000
                        spent = []
                        for _ in range(rounds):
                            started = time.perf_counter()
                            response = await c.get(path)
                            spent.append((time.perf_counter() - started) * 1000)
                            assert response.status_code == 200, response.status_code
                        out[f"{name} median"] = statistics.median(spent)
                        out[f"{name} max"] = max(spent)
                    return out

            figures = asyncio.run(measure())
            store.close()
            return figures
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            get_settings.cache_clear()


def build_store(url: str, n_accounts: int, n_items: int, seed: int = 11) -> None:
    """Bulk-insert accounts, outcomes, sources, pending drafts and gap flags."""
    from sqlalchemy import insert

    from clerk.domain.models import (
        Account,
        Calculation,
        CalculationInput,
        Citation,
        Contract,
        GapFlag,
        Outcome,
        Period,
        ProofItem,
    )
    from clerk.review.users import add_user
    from clerk.store import Store
    from clerk.store.tables import AccountRow, GapFlagRow, OutcomeRow, ProofItemRow, SourceRow

    rng = random.Random(seed)
    store = Store(url)
    add_user(store, MANAGER[0], "manager", MANAGER[1], replace=True)
    as_of, period = (
        dt.date(2026, 7, 1),
        Period(start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 1), label="Q2 2026"),
    )
    outcomes = [
        Outcome(
            id=f"outcome_{k}",
            title=f"Promised outcome {k}",
            category="cost",
            unit="hours",
            target=1200,
            formula="a * b / 60",
        )
        for k in range(4)
    ]
    accounts, outcome_rows, sources, items, gaps = [], [], [], [], []
    per_account = max(1, n_items // n_accounts)
    for a in range(n_accounts):
        aid = f"acct-{a:04d}"
        renewal = as_of + dt.timedelta(days=rng.randint(10, 400))
        account = Account(
            id=aid,
            name=f"Account {a}",
            csm=f"csm{a % 20}@vendor.example",
            contract=Contract(start=dt.date(2026, 1, 1), renewal=renewal),
        )
        accounts.append(
            {
                "id": aid,
                "name": account.name,
                "csm": account.csm,
                "renewal": renewal,
                "data": account.model_dump(mode="json"),
                "content_hash": aid,
                "evidence_version": 0,
                "updated_at": dt.datetime(2026, 7, 1),
            }
        )
        for n, o in enumerate(outcomes):
            outcome_rows.append(
                {
                    "account_id": aid,
                    "id": o.id,
                    "position": n,
                    "title": o.title,
                    "category": o.category,
                    "period": o.period,
                    "data": o.model_dump(mode="json"),
                }
            )
        for i in range(per_account):
            n = rng.randint(1000, 9000)
            outcome = outcomes[i % len(outcomes)].id
            item_id = "pi_" + hashlib.sha1(f"{aid}/{i}".encode()).hexdigest()[:16]
            if i % 2:
                text = TICKET.format(n=n)
                quote = f"{n} approvals went through"
                start = text.index(quote)
                sid = f"ticket:{a}-{i}#1"
                sources.append(
                    {
                        "id": sid,
                        "account_id": aid,
                        "kind": "ticket_comment",
                        "title": f"Ticket {a}{i}",
                        "text": text,
                        "date": dt.datetime(2026, 5, 2),
                        "author": "customer",
                        "public": True,
                        "customer_spans": [{"start": 0, "end": len(text)}],
                        "meta": {},
                        "content_hash": sid,
                        "updated_at": dt.datetime(2026, 7, 1),
                    }
                )
                item = ProofItem(
                    id=item_id,
                    account=aid,
                    outcome=outcome,
                    kind="customer_statement",
                    period=period,
                    delivered=n,
                    claim=f'The customer said "{quote}" in Q2 2026.',
                    unit="approvals",
                    citations=[
                        Citation(source=sid, quote=quote, start=start, end=start + len(quote))
                    ],
                    evidence_category="customer_confirmed",
                )
            else:
                item = ProofItem(
                    id=item_id,
                    account=aid,
                    outcome=outcome,
                    kind="calculation",
                    period=period,
                    delivered=n * 16.5 / 60,
                    target=1200,
                    unit="hours",
                    claim=f"{n * 16.5 / 60:,.0f} hours saved in Q2 2026.",
                    calculation=Calculation(
                        formula="a * b / 60",
                        result=n * 16.5 / 60,
                        inputs=[
                            CalculationInput(
                                name="a",
                                value=n,
                                unit="count",
                                source="metric:x@2026-04-01..2026-07-01",
                            ),
                            CalculationInput(
                                name="b", value=16.5, unit="minutes", source="assumption:o.b"
                            ),
                        ],
                    ),
                    confidence_reasons=["every input is measured usage"],
                )
            items.append(
                {
                    "id": item_id,
                    "account_id": aid,
                    "outcome_id": outcome,
                    "kind": item.kind,
                    "as_of": as_of,
                    "period_start": period.start,
                    "period_end": period.end,
                    "status": "pending",
                    "drafted_by": "extractive",
                    "evidence_key": item_id,
                    "payload": item.model_dump(mode="json"),
                    "version": 1,
                    "created_at": dt.datetime(2026, 7, 1),
                    "updated_at": dt.datetime(2026, 7, 1),
                }
            )
        gap = GapFlag(
            id=f"gf_{aid}",
            account=aid,
            outcome="outcome_3",
            kind="under_delivery",
            severity="medium",
            message="Short of target.",
            next_action="Call the champion.",
            risk="Renewal at risk.",
            period=period,
        )
        gaps.append(
            {
                "id": gap.id,
                "account_id": aid,
                "outcome_id": gap.outcome,
                "kind": gap.kind,
                "severity": gap.severity,
                "status": "open",
                "as_of": as_of,
                "payload": gap.model_dump(mode="json"),
                "version": 1,
                "created_at": dt.datetime(2026, 7, 1),
                "updated_at": dt.datetime(2026, 7, 1),
            }
        )
    with store.session() as session:
        for table, rows in (
            (AccountRow, accounts),
            (OutcomeRow, outcome_rows),
            (SourceRow, sources),
            (ProofItemRow, items),
            (GapFlagRow, gaps),
        ):
            for k in range(0, len(rows), 2000):
                session.execute(insert(table), rows[k : k + 2000])
    store.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _session_cookie(base: str) -> str:
    """Sign in once through the real login form; every client then sends this cookie."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, "no login form"
        await client.post(
            "/login",
            data={"email": MANAGER[0], "password": MANAGER[1], "csrf_token": token.group(1)},
        )
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, head: bytes
) -> int:
    """One keep-alive HTTP/1.1 GET; returns the status. Hand-written so that the load
    generator, which shares the machine's cores with the server, costs as little CPU as
    possible (an httpx client costs about as much per request as a small page)."""
    writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + head)
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _client(
    port: int,
    cookie: str,
    paths: list[str],
    todo: list[int],
    latencies: list[float],
    errors: list[int],
    rng: random.Random,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"Host: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n\r\n".encode()
    try:
        while todo:
            todo.pop()
            started = time.perf_counter()
            status = await _get(reader, writer, rng.choice(paths), head)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def _load(
    base: str,
    port: int,
    paths: list[str],
    clients: int,
    requests: int,
    latencies: list[float],
    errors: list[int],
) -> float:
    cookie = await _session_cookie(base)
    todo = list(range(requests))
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _client(port, cookie, paths, todo, latencies, errors, random.Random(k))
            for k in range(clients)
        )
    )
    return time.perf_counter() - started


def run(
    n_accounts: int = 500,
    n_items: int = 10_000,
    clients: int = 20,
    requests: int = 2000,
    workers: int = 1,
    warmup: int = 100,
    workdir: Path | None = None,
) -> UiBench:
    base_dir = Path(workdir or tempfile.mkdtemp(prefix="clerk-bench-ui-"))
    try:
        return _run(base_dir, n_accounts, n_items, clients, requests, workers, warmup)
    finally:
        if workdir is None:  # a run of its own: its store and shared pages (~60 MB) go too
            shutil.rmtree(base_dir, ignore_errors=True)


def _run(
    base_dir: Path,
    n_accounts: int,
    n_items: int,
    clients: int,
    requests: int,
    workers: int,
    warmup: int,
) -> UiBench:
    home = base_dir / "home"
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{home / 'clerk.db'}"
    os.environ.update(CLERK_HOME=str(home), CLERK_DATABASE_URL=url)
    from clerk.settings import get_settings

    get_settings.cache_clear()
    build_store(url, n_accounts, n_items)
    port = _free_port()
    env = {**os.environ, "CLERK_HOME": str(home), "CLERK_DATABASE_URL": url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "review_ui.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.2)
        pages = [f"/accounts/acct-{a:04d}" for a in range(n_accounts)]
        asyncio.run(_load(base, port, pages, clients, warmup, [], []))
        latencies: list[float] = []
        errors: list[int] = []
        seconds = asyncio.run(_load(base, port, pages, clients, requests, latencies, errors))
        # The floor gets as many requests as the page: a quarter as many made its p95 the
        # tail of a half-second run, which one scheduler hiccup moved from 27 to 64 ms.
        bare: list[float] = []
        asyncio.run(_load(base, port, ["/static/app.css"], clients, requests, bare, []))
    finally:
        server.terminate()
        server.wait(10)
    return UiBench(n_accounts, n_items, clients, requests, len(errors), seconds, latencies, bare)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests in all")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="uvicorn worker processes (default: one per core, as `clerk serve --workers`)",
    )
    parser.add_argument(
        "--one-account-items",
        type=int,
        default=1000,
        help="pending items of the single-account page timed in-process (0: skip)",
    )
    args = parser.parse_args(argv)
    watch = load.start("ui")
    result = run(args.accounts, args.items, args.clients, args.requests, args.workers)
    verdict = "met" if result.pct(0.95) < GOAL_P95_MS else "NOT met"
    print(
        f"review queue page: {result.accounts} accounts, {result.items} pending items, "
        f"{result.clients} concurrent clients, {result.requests} requests, "
        f"{args.workers} uvicorn worker(s), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)"
    )
    print(
        f"  p50 {result.p50:.1f} ms   p95 {result.pct(0.95):.1f} ms   "
        f"p99 {result.pct(0.99):.1f} ms   max {max(result.latencies_ms):.1f} ms"
    )
    print(f"  throughput {result.requests / result.seconds:.0f} req/s   errors {result.errors}")
    bare = sorted(result.bare_ms)
    print(
        f"  bare floor (same clients on a static file): p50 {statistics.median(bare):.1f} ms"
        f"   p95 {bare[int(0.95 * len(bare))]:.1f} ms"
    )
    ratio = result.pct(0.95) / bare[int(0.95 * len(bare))] if bare else float("inf")
    ratio_ok = ratio <= GOAL_FLOOR_RATIO
    print(
        f"  p95 / floor p95 {ratio:.2f}x: goal <= {GOAL_FLOOR_RATIO}x "
        f"{'met' if ratio_ok else 'NOT met'}"
    )
    print(f"  (earlier absolute goal p95 < {GOAL_P95_MS:.0f} ms: {verdict})")
    one_ok = True
    if args.one_account_items:
        one = one_account_server_ms(args.one_account_items)
        worst = max(one[f"page {n} {k}"] for n in (1, 2) for k in ("first", "median"))
        one_ok = worst < GOAL_ONE_ACCOUNT_MS
        print(
            f"one account, {args.one_account_items:,} pending items (queue paginated), "
            "server time in-process:"
        )
        for page in ("page 1", "page 2"):
            print(
                f"  {page}: first load {one[page + ' first']:.1f} ms   then median "
                f"{one[page + ' median']:.1f} ms   max {one[page + ' max']:.1f} ms"
            )
        print(
            f"  goal < {GOAL_ONE_ACCOUNT_MS:.0f} ms (first load and median): "
            f"{'met' if one_ok else 'NOT met'}"
        )
    return load.finish(watch, ratio_ok and one_ok and not result.errors)


if __name__ == "__main__":
    raise SystemExit(main())
