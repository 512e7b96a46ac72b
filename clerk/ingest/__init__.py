"""Ingest: the data folder of shared/spec/FORMATS.md §1-6 into the SQL store.

``run_ingest(data_dir, store=None, *, console=None)`` reads accounts and value
cases, usage events (CloudEvents, Lago, CSV), Zendesk exports and notes; it is idempotent and
reports every record it could not take in an :class:`IngestReport`.
"""

from clerk.ingest.report import IngestReport, KindCounts, Reject
from clerk.ingest.run import IngestError, run_ingest

__all__ = ["IngestError", "IngestReport", "KindCounts", "Reject", "run_ingest"]
