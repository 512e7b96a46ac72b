"""Data folders for the sweep tests: the shared example, extra events, many accounts."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from clerk.ingest import run_ingest
from clerk.store import Store
from clerk.store.tables import GapFlagRow, ProofItemRow

AS_OF = dt.date(2026, 7, 1)


def copy_example(example_dir: Path, tmp_path: Path) -> Path:
    """A writable copy of the shared example."""
    target = tmp_path / "data"
    shutil.copytree(example_dir, target)
    return target


def ingested_twins(
    data: Path, tmp_path: Path, killed_url: str | None = None
) -> tuple[Store, Store]:
    """The same ingest of ``data`` in two stores: the one a test kills a sweep in (SQLite
    under ``tmp_path`` unless ``killed_url``) and the one it sweeps cleanly to compare."""
    killed = Store(killed_url or f"sqlite:///{tmp_path / 'killed.db'}")
    clean = Store(f"sqlite:///{tmp_path / 'clean.db'}")
    for store in (killed, clean):
        run_ingest(data, store)
    return killed, clean


def add_approvals(data: Path, name: str, approvers: list[str], *, day: str = "2026-05-05") -> Path:
    """A new usage file with one auto approval per entry of ``approvers`` on ``day``."""
    lines = [
        json.dumps({"specversion": "1.0", "id": f"{name}-{n}", "source": "ap-app",
                    "type": "approval.completed", "subject": "northwind",
                    "time": f"{day}T10:00:{n % 60:02d}Z",
                    "data": {"mode": "auto", "approver": who, "amount": 100.0}})
        for n, who in enumerate(approvers)
    ]  # fmt: skip
    path = data / "usage" / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def set_field(data: Path, outcome: str, name: str, value: str) -> None:
    """Change (or add) one top-level field of an outcome in the example's value_case.yaml."""
    path = data / "accounts" / "northwind" / "value_case.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"  - id: {outcome}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("  - id:")),
               len(lines))  # fmt: skip
    for i in range(start + 1, end):
        if lines[i].startswith(f"    {name}:"):
            lines[i] = f"    {name}: {value}"
            break
    else:
        lines.insert(start + 1, f"    {name}: {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def set_target(data: Path, outcome: str, target: float) -> None:
    """Change one outcome's target in the example's value_case.yaml."""
    set_field(data, outcome, "target", f"{target:g}")


def many_accounts(example_dir: Path, tmp_path: Path, n: int) -> Path:
    """``n`` copies of the example account (every 10th event each, no tickets)."""
    data = tmp_path / "many"
    (data / "usage").mkdir(parents=True)
    source = example_dir / "accounts" / "northwind"
    events = (example_dir / "usage" / "events.jsonl").read_text().splitlines()[::10]
    out = []
    for k in range(n):
        aid = f"acct-{k:02d}"
        folder = data / "accounts" / aid
        shutil.copytree(source, folder)
        text = (folder / "account.yaml").read_text()
        text = text.replace("id: northwind", f"id: {aid}").replace("[northwind]", f"[{aid}]")
        text = text.replace("zendesk_organization_id: 3612", f"zendesk_organization_id: {9000 + k}")
        (folder / "account.yaml").write_text(text)
        for line in events:
            event = json.loads(line)
            if "subject" in event:
                event["subject"], event["id"] = aid, f"{aid}-{event['id']}"
            else:
                event["external_customer_id"] = aid
                event["transaction_id"] = f"{aid}-{event['transaction_id']}"
            out.append(json.dumps(event))
    (data / "usage" / "events.jsonl").write_text("\n".join(out) + "\n")
    return data


def snapshot(store: Store) -> dict[str, Any]:
    """Every stored draft and flag, minus timestamps: what two equivalent runs must share."""
    with store.session() as session:
        items = {
            r.id: (r.account_id, r.outcome_id, r.kind, r.status, r.superseded_by, r.payload)
            for r in session.scalars(select(ProofItemRow))
        }
        gaps = {
            r.id: (r.account_id, r.outcome_id, r.kind, r.status, r.payload)
            for r in session.scalars(select(GapFlagRow))
        }
    return {"items": items, "gaps": gaps}
