"""SQL tables: the source of truth. Payload columns hold the pydantic models as JSON.

All datetimes are naive UTC. JSON is JSONB on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY, so BigInteger falls back to Integer there.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType}


class AccountRow(Base):
    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    csm: Mapped[str | None] = mapped_column(String(255), index=True)
    renewal: Mapped[dt.date | None] = mapped_column(Date)
    zendesk_organization_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    content_hash: Mapped[str] = mapped_column(String(64))
    # Bumped whenever evidence for the account changes; the sweep compares it to skip work.
    evidence_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SubjectRow(Base):
    """Routes a usage-event subject to its account."""

    __tablename__ = "subjects"
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))


class ValueCaseRow(Base):
    __tablename__ = "value_cases"
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class OutcomeRow(Base):
    __tablename__ = "outcomes"
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class UsageEventRow(Base):
    __tablename__ = "usage_events"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(String(512), unique=True)
    account_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(255))
    time: Mapped[dt.datetime] = mapped_column(DateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    file: Mapped[str | None] = mapped_column(Text)
    line: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_usage_events_account_type_time", "account_id", "type", "time"),
        Index("ix_usage_events_subject", "subject"),
    )


class SourceRow(Base):
    """Tickets, ticket comments, notes and usage digests: everything a citation may name."""

    __tablename__ = "sources"
    id: Mapped[str] = mapped_column(String(512), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    date: Mapped[dt.datetime] = mapped_column(DateTime)
    author: Mapped[str | None] = mapped_column(String(255))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    customer_spans: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (Index("ix_sources_account_kind_date", "account_id", "kind", "date"),)


class IngestedFileRow(Base):
    """What ingest has read, so an unchanged file is skipped without parsing."""

    __tablename__ = "ingested_files"
    path: Mapped[str] = mapped_column(Text, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    counts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class IndexStateRow(Base):
    """Which source version sits in the vector index, so reindexing touches only changes."""

    __tablename__ = "index_state"
    source_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    chunks: Mapped[int] = mapped_column(Integer)
    indexed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ProofItemRow(Base):
    __tablename__ = "proof_items"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    outcome_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    # as_of: the sweep date that first drafted the item; last_confirmed: the newest sweep date
    # that found it again (same evidence, same id), so a later sweep keeps it current.
    as_of: Mapped[dt.date] = mapped_column(Date)
    last_confirmed: Mapped[dt.date | None] = mapped_column(Date)
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    period_end: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    drafted_by: Mapped[str] = mapped_column(String(64), default="extractive")
    evidence_key: Mapped[str] = mapped_column(String(64))
    # The draft as the clerk wrote it (ProofItem JSON); `edited` holds a CSM's edit beside it.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    edited: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(255))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    superseded_by: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_proof_items_account_status", "account_id", "status"),
        Index("ix_proof_items_account_outcome", "account_id", "outcome_id", "kind"),
    )


class GapFlagRow(Base):
    __tablename__ = "gap_flags"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    outcome_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    as_of: Mapped[dt.date] = mapped_column(Date)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    owner: Mapped[str | None] = mapped_column(String(255))
    next_action: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    dismiss_reason: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_gap_flags_account_status", "account_id", "status"),)


class AuditRow(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(255))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    reason: Mapped[str | None] = mapped_column(Text)


class PacketRow(Base):
    __tablename__ = "packets"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[dt.date] = mapped_column(Date)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    published_by: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (UniqueConstraint("account_id", "version"),)


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # A disabled user keeps their audit trail but cannot sign in; their sessions are ended.
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class WebSessionRow(Base):
    """A signed-in (or anonymous, for the login form's CSRF) browser session.

    The cookie carries a random token; only its SHA-256 is stored, so a copy of the database
    cannot be replayed as cookies. Deleting a user's rows ends all their sessions at once.
    """

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(255), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)


class IngestPendingRow(Base):
    """Bookkeeping an ingest still owes: written in the same transaction as the data that
    causes it, cleared in the transaction that does it, so a killed run's debts are paid by
    the next run. kind ``account``: bump the account's evidence version; kind ``digest``:
    rebuild the usage digest of (account, event type, month)."""

    __tablename__ = "ingest_pending"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(255), primary_key=True, default="")
    month: Mapped[str] = mapped_column(String(7), primary_key=True, default="")


class SweepRow(Base):
    __tablename__ = "sweeps"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    stats: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class SweepStateRow(Base):
    """The evidence fingerprint an account was last swept at, per as-of date."""

    __tablename__ = "sweep_state"
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    swept_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LLMCallRow(Base):
    __tablename__ = "llm_calls"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    sweep_id: Mapped[int | None] = mapped_column(Integer, index=True)
    account_id: Mapped[str | None] = mapped_column(String(64))
    outcome_id: Mapped[str | None] = mapped_column(String(128))
    task: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(255))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    # ok | retried | failed | cached | skipped (breaker open or token budget spent)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    # json_schema | json_mode | function_calling | prompt: how the answer was asked for
    mode: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LLMModeRow(Base):
    """The structured-output mode that works for one endpoint and model, and what did not."""

    __tablename__ = "llm_modes"
    endpoint: Mapped[str] = mapped_column(String(512), primary_key=True)
    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    mode: Mapped[str] = mapped_column(String(32))
    # None: not probed; False: the server drops system messages (fold them into the user's)
    system_honoured: Mapped[bool | None] = mapped_column(Boolean)
    misses: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # mode -> cause
    source: Mapped[str] = mapped_column(String(16))  # check | sweep
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class LLMCacheRow(Base):
    __tablename__ = "llm_cache"
    prompt_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(255))
    response: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ShareLinkRow(Base):
    """A link that shows one published packet version to the customer (issue 16).

    Only the sha256 of the token is stored: the URL is shown once, when the link is made.
    """

    __tablename__ = "share_links"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(255))


class ShareResponseRow(Base):
    """One answer from the customer: confirm or question an item, or an overall comment.

    Append-only: nothing in the product updates or deletes these rows.
    """

    __tablename__ = "share_responses"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    share_id: Mapped[int] = mapped_column(ForeignKey("share_links.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # null for the overall comment
    item_id: Mapped[str | None] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # confirm | question | comment
    comment: Mapped[str | None] = mapped_column(Text)
    # the claim as the customer read it: a confirmation carries over only to the same words
    claim: Mapped[str | None] = mapped_column(Text)
    responder_name: Mapped[str] = mapped_column(String(255))
    responder_email: Mapped[str] = mapped_column(String(255))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class DigestEntryRow(Base):
    """One line a CSM digest owes: a new item, a new gap or a resolved gap of one account.

    Written in the sweep's transaction for the account, so a sweep killed after storing an
    account's drafts still owes their lines; ``digest_id`` is set in the transaction that
    stores the digest which reports the line, so a line is reported exactly once.
    """

    __tablename__ = "digest_entries"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    sweep_id: Mapped[int | None] = mapped_column(Integer)
    as_of: Mapped[dt.date] = mapped_column(Date)
    account_id: Mapped[str] = mapped_column(String(64))
    csm: Mapped[str | None] = mapped_column(String(255))
    section: Mapped[str] = mapped_column(String(16))  # item | gap | resolved
    ref_id: Mapped[str] = mapped_column(String(64))
    # the line's content as the sweep saw it: account name, kind, outcome, claim / message ...
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    digest_id: Mapped[int | None] = mapped_column(Integer, index=True)


class CsmDigestRow(Base):
    """One section of a CSM's digest file, the truth the Markdown file is written from.

    ``written_at`` is set once the section is in ``digests/<folder>/<day>.md``; a section not
    yet written (the process died) is written by the next digest run.
    """

    __tablename__ = "csm_digests"
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    csm: Mapped[str | None] = mapped_column(String(255))
    folder: Mapped[str] = mapped_column(String(255))
    day: Mapped[dt.date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    written_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)


class ThrottleHitRow(Base):
    """One counted request of a rate limit (a failed sign-in, a share-link request).

    In SQL so that every worker process of ``clerk serve`` counts against one budget.
    ``key`` is the SHA-256 of what is limited (an email, a client address, a link), never
    the value itself; rows older than their scope's window are deleted as new ones arrive.
    """

    __tablename__ = "throttle_hits"
    __table_args__ = (Index("ix_throttle_hits_scope_key_at", "scope", "key", "at"),)
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))  # login | share
    key: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime)
