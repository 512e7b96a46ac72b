"""Usage files parsed in worker processes (ingest_workers > 1) store and report exactly what one
process does; a worker that fails stops the ingest with a clear message and leaves no staging
files behind."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from clerk.ingest import IngestReport, run_ingest
from clerk.ingest.readers import ReadContext
from clerk.ingest.staging import Piece, Setup, Staged, StagingError, cut, staged_pieces
from clerk.settings import get_settings
from clerk.store import Store
from tests.ingest.helpers import write

PIECE = 8192  # bytes: the CloudEvents file below is cut into about a dozen pieces

ACCOUNT = """id: {id}
name: {id}
csm: csm@vendor.example
contract: {{start: 2026-01-01, renewal: 2027-06-01}}
usage_subjects: [{subjects}]
"""


def _ce(i: int, subject: str, rng: random.Random, ident: str | None = None) -> str:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": ident or f"e{i}",
            "source": "app",
            "type": ("approval", "export")[i % 2],
            "subject": subject,
            "time": f"2026-0{1 + i % 4}-{1 + i % 27:02d}T10:00:{i % 60:02d}Z",
            "data": {
                "amount": round(rng.uniform(1, 500), 2),
                "units": rng.randrange(1, 9),
                "approver": f"u{rng.randrange(5)}",
            },
        }
    )


def _data(root: Path) -> tuple[Path, Path]:
    rng = random.Random(17)
    data = root / "data"
    for account, subjects in (("acme", "acme, acme-prod"), ("globex", "globex")):
        write(
            data / "accounts" / account / "account.yaml",
            ACCOUNT.format(id=account, subjects=subjects),
        )
    lines = []
    for i in range(1, 401):
        subject = ("acme", "acme-prod", "globex", "initech")[i % 4] if i % 13 else "initech"
        if i == 300:  # the identity of line 5, in a later piece: line 5 wins
            lines.append(_ce(i, "globex", rng, ident="e5"))
        elif i == 50:  # in the second piece
            lines.append('{"specversion": "1.0", "id": "broken"')
        elif i == 120:
            lines.append(_ce(i, "acme", rng).replace('"2026-', '"1999-'))
        else:
            lines.append(_ce(i, subject, rng))
    cloudevents = write(data / "usage" / "a-cloudevents.jsonl", "\n".join(lines) + "\n")
    lago = [
        json.dumps(
            {
                "transaction_id": f"tx-{i}",
                "external_customer_id": ("acme", "globex", "hooli")[i % 3],
                "code": "invoice.ingested",
                "timestamp": 1767225600 + i * 86400,
                "properties": {"pages": i % 7, "lane": f"l{i % 3}"},
            }
        )
        for i in range(200)
    ]
    write(data / "usage" / "b-lago.jsonl", "\n".join(lago) + "\n")
    csv = ["id,subject,type,time,approver,amount"]
    csv += [
        f"c{i},acme,approval,2026-02-{1 + i % 27:02d}T09:00:00Z,u{i % 3},{i}.5" for i in range(60)
    ]
    csv.insert(10, 'c-x,acme,approval,"not a time",u1,3')
    write(data / "usage" / "c-events.csv", "\n".join(csv) + "\n")
    more = "\n".join(_ce(i, "acme", rng, ident=f"gz{i}") for i in range(1, 40)) + "\n{oops\n"
    write(data / "usage" / "d-more.jsonl.gz", gzip.compress(more.encode()))
    unknown = "\n".join(json.dumps({"what": i, "when": "today"}) for i in range(800))
    write(data / "usage" / "e-unknown.jsonl", unknown + "\n")
    return data, cloudevents


def _dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with store.engine.connect() as conn:
        for table, order in (
            ("usage_events", "seq"),
            ("sources", "id"),
            ("accounts", "id"),
            ("ingest_pending", "account_id"),
        ):
            rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))
            keep = [i for i, name in enumerate(rows.keys()) if not name.endswith("_at")]
            out[table] = [tuple(row[i] for i in keep) for row in rows]
    return out


def _seen(report: IngestReport) -> dict[str, Any]:
    path = report.reject_report
    log = sorted(path.read_text(encoding="utf-8").splitlines()) if path is not None else []
    return {
        "counts": {kind: c.as_dict() for kind, c in report.counts.items()},
        "rejects": [r.as_dict() for r in report.rejects],
        "unrouted": [r.as_dict() for r in report.unrouted],
        "totals": (report.rejected_total, report.unrouted_total),
        "log": log,
        "shapes": report.file_shapes,
        "notes": report.notes,
        "not_understood": report.not_understood,
        "touched": sorted(report.touched),
        "digests": report.digests,
    }


def _ingest(
    data: Path, home: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> tuple[dict[str, Any], dict[str, list[tuple[Any, ...]]]]:
    monkeypatch.setenv("CLERK_INGEST_WORKERS", str(workers))
    monkeypatch.setenv("CLERK_INGEST_PARALLEL_BYTES", "1")
    monkeypatch.setenv("CLERK_INGEST_PIECE_BYTES", str(PIECE))
    get_settings.cache_clear()
    home.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{home / f'workers-{workers}.db'}")
    try:
        report = run_ingest(data, store)
        return _seen(report), _dump(store)
    finally:
        store.close()


def test_workers_store_and_report_what_one_process_does(
    tmp_path: Path, clerk_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, cloudevents = _data(tmp_path)
    pieces = cut(cloudevents, cloudevents.stat().st_size, PIECE)
    assert len(pieces) > 3  # really split, the bad line 50 in the second piece
    assert pieces[1][2] <= 50 < pieces[2][2]
    unknown = data / "usage" / "e-unknown.jsonl"  # cut too: its later pieces are not read
    assert len(cut(unknown, unknown.stat().st_size, PIECE)) > 1

    one_report, one_rows = _ingest(data, clerk_home, monkeypatch, 1)
    two_report, two_rows = _ingest(data, clerk_home, monkeypatch, 2)

    assert two_rows == one_rows
    assert two_report == one_report
    # What both say, so the comparison is of something.
    events = one_report["counts"]["events"]
    assert events["new"] == 400 - 3 + 200 + 60 + 39 and events["duplicates"] == 1
    assert events["rejected"] == 4
    assert [(r["file"], r["line"]) for r in one_report["rejects"]] == [
        ("usage/a-cloudevents.jsonl", 50),
        ("usage/a-cloudevents.jsonl", 120),
        ("usage/c-events.csv", 11),
        ("usage/d-more.jsonl.gz", 40),
    ]
    assert one_report["not_understood"][0].startswith("usage/e-unknown.jsonl: JSON of no known")
    first_unrouted = one_report["unrouted"][0]
    assert (first_unrouted["file"], first_unrouted["line"]) == ("usage/a-cloudevents.jsonl", 3)
    stored = {row[1]: row for row in one_rows["usage_events"]}
    # Line 5's event (routed through the alias), not line 300's with the same id (globex).
    assert stored["event:app/e5"][2:4] == ("acme", "acme-prod")
    assert stored["event:app/e5"][-1] == 5
    assert one_report["digests"] and one_rows["ingest_pending"] == []


def _raise_on_second(piece: Piece) -> Staged:
    if piece.index == 1:
        raise RuntimeError("disk full")
    return Staged(piece.index, os.devnull)


def _die_on_second(piece: Piece) -> Staged:
    if piece.index == 1:
        os._exit(3)
    return Staged(piece.index, os.devnull)


def _pieces(tmp_path: Path) -> list[Piece]:
    return [
        Piece(i, str(tmp_path / "a.jsonl"), "usage/a.jsonl", start, None, line, None, ReadContext())
        for i, (start, line) in enumerate([(0, 1), (100, 7), (200, 13)])
    ]


def _read(pieces: list[Piece], home: Path, work: Any) -> tuple[list[int], str]:
    taken = []
    with (
        pytest.raises(StagingError) as failed,
        staged_pieces(pieces, lambda folder: Setup({}, False, folder), 2, home, work) as staged,
    ):
        for piece, _ in staged:
            taken.append(piece.index)
    return taken, str(failed.value)


def test_a_failing_worker_stops_with_its_file_and_line_and_leaves_no_staging(
    tmp_path: Path, clerk_home: Path
) -> None:
    taken, message = _read(_pieces(tmp_path), clerk_home, _raise_on_second)
    assert taken == [0]
    assert message == (
        "reading usage/a.jsonl from line 7 in a worker process failed: RuntimeError: disk full"
    )
    assert list(clerk_home.iterdir()) == []  # the staging folder is gone
    assert Path(os.devnull).is_char_device()  # what the worker named was not removed


def test_a_dead_worker_stops_the_reading_and_leaves_no_staging(
    tmp_path: Path, clerk_home: Path
) -> None:
    taken, message = _read(_pieces(tmp_path), clerk_home, _die_on_second)
    assert taken in ([], [0])  # the pool breaks as a whole: the first may go with it
    assert message.startswith("a worker process reading the usage files died")
    assert list(clerk_home.iterdir()) == []
    assert Path(os.devnull).is_char_device()


def test_a_piece_whose_first_record_fits_two_shapes_takes_the_shape_before_it(
    tmp_path: Path, clerk_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Mixpanel export whose records also carry Segment's keys: read in one pass each takes
    the shape of the record before it (Mixpanel); a piece read on its own would start with
    Segment, so the ingest reads such a piece again knowing the shape before it."""
    data = tmp_path / "data"
    write(data / "accounts" / "acme" / "account.yaml", ACCOUNT.format(id="acme", subjects="acme"))

    def record(i: int, segment_too: bool) -> str:
        event: dict[str, Any] = {
            "event": "report.exported",
            "properties": {
                "time": 1767225600 + i * 3600,
                "distinct_id": "acme",
                "$insert_id": f"m{i}",
                "pages": i % 9,
            },
        }
        if segment_too:
            event |= {"messageId": f"s{i}", "userId": "acme"}
        return json.dumps(event)

    lines = [record(i, segment_too=i > 30) for i in range(600)]
    usage = write(data / "usage" / "mixpanel.jsonl", "\n".join(lines) + "\n")
    assert len(cut(usage, usage.stat().st_size, PIECE)) > 3

    one_report, one_rows = _ingest(data, clerk_home, monkeypatch, 1)
    two_report, two_rows = _ingest(data, clerk_home, monkeypatch, 2)

    assert two_rows == one_rows
    assert two_report == one_report
    assert one_report["shapes"] == {"usage/mixpanel.jsonl": "Mixpanel raw export, 600 events"}


def test_only_plain_json_lines_files_are_cut_and_every_piece_knows_its_first_line(
    tmp_path: Path,
) -> None:
    rng = random.Random(3)
    lines = [_ce(i, "acme", rng) for i in range(1, 301)]
    lines[40:40] = ["", "   "]  # blank lines count as lines
    text = "\n".join(lines) + "\n"
    jsonl = write(tmp_path / "a.jsonl", text)
    raw = text.encode()
    pieces = cut(jsonl, len(raw), PIECE)
    assert len(pieces) > 3
    assert pieces[0][0] == 0 and pieces[-1][1] == len(raw)
    for (start, end, line), after in zip(pieces, pieces[1:] + [(len(raw), None, 0)], strict=True):
        assert end == after[0] and raw[end - 1 : end] == b"\n"  # whole lines, no gap
        assert line == raw.count(b"\n", 0, start) + 1
    csv = write(tmp_path / "a.csv", "id,subject,type,time\n" + "x,acme,t,2026-01-01\n" * 2000)
    assert cut(csv, csv.stat().st_size, PIECE) == [(0, None, 1)]
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress(raw, compresslevel=0))
    assert cut(gz, gz.stat().st_size, PIECE) == [(0, None, 1)]
    array = write(tmp_path / "b.json", "[\n" + ",\n".join(lines[:40]) + "\n]\n")
    assert cut(array, array.stat().st_size, 1024) == [(0, None, 1)]


def test_a_script_without_a_main_guard_ingests_with_workers(
    tmp_path: Path, clerk_home: Path
) -> None:
    """A user's script (or notebook cell) calling run_ingest at top level, with no
    ``if __name__ == "__main__"``: the workers must not run the script again."""
    data, _ = _data(tmp_path)
    script = tmp_path / "nightly.py"
    script.write_text(
        "from pathlib import Path\n"
        "from clerk.ingest import run_ingest\n"
        "from clerk.store import Store\n"
        f"store = Store('sqlite:///{tmp_path / 'nightly.db'}')\n"
        f"report = run_ingest(Path({str(data)!r}), store)\n"
        "print('new', report.counts['events'].new)\n"
    )
    env = {
        **os.environ,
        "CLERK_HOME": str(clerk_home),
        "CLERK_INGEST_WORKERS": "2",
        "CLERK_INGEST_PARALLEL_BYTES": "1",
        "CLERK_INGEST_PIECE_BYTES": str(PIECE),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["new 696"]
