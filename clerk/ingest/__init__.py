"""Ingest: the data folder of shared/spec/FORMATS.md §1-6 into the SQL store.

``run_ingest(data_dir, store=None, *, console=None)`` reads accounts and value
cases, usage events (CloudEvents, Lago, CSV), Zendesk exports and notes; it is idempotent and
reports every record it could not take in an :class:`IngestReport`.

The names are imported on first use, so a worker process of a parallel ingest
(:mod:`clerk.ingest.staging`) does not load the store to parse usage files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clerk.ingest.report import IngestReport, KindCounts, Reject
    from clerk.ingest.run import IngestError, run_ingest

__all__ = ["IngestError", "IngestReport", "KindCounts", "Reject", "run_ingest"]


def __getattr__(name: str) -> Any:
    if name in ("IngestReport", "KindCounts", "Reject"):
        from clerk.ingest import report

        return getattr(report, name)
    if name in ("IngestError", "run_ingest"):
        from clerk.ingest import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
