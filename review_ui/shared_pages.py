"""Account-page content shared by every worker process of one deployment, as files.

Each uvicorn worker keeps the pages it rendered (review_ui.page_cache); without this module a
page rendered by worker A is built again, a dozen queries and twenty cards, the first time
worker B is asked for it. Here the rendered content is also written to a file under
``CLERK_HOME/cache/pages``, named by a digest of the page's key (account, query, role), its
fingerprint (everything the page rests on, read from the database by this request), the
code that renders it and the store's URL. A worker that has no page in memory reads that
file before building the page.

Why files and not a table: every worker of a deployment shares ``CLERK_HOME`` (the SQLite
file lives there; a PostgreSQL deployment keeps its settings and exports there), a file read
costs no database round trip nor lock, and the content is derived data that can be thrown
away at any time: nothing is lost when the folder is deleted. Workers that do not share
``CLERK_HOME`` (two hosts) simply do not share pages.

The rules the memory cache follows hold here too:

* never stale: the fingerprint is read from the database on every request and is part of the
  file name, so after a decision, an edit, a sweep or an ingest the old file is never named
  again (it ages out). Files older than the TTL are not used (ages shown on the page tick);
* never another viewer's: the access check runs before any lookup; the content holds no
  viewer data but their role (part of the key); the CSRF token is a placeholder, random per
  writing process and recorded in the file's header, which the reader replaces with its own
  (and then with the viewer's token, per request);
* bounded: at most :data:`MAX_FILES` files and :data:`MAX_BYTES` bytes after each clean-up
  (in between, at most :data:`SWEEP_EVERY` more per worker); every :data:`SWEEP_EVERY`
  writes a worker removes expired files, then the oldest, and leftover temporary files of
  crashed writes.

Writes go to a temporary file in the same folder, then ``os.replace``: a reader sees a whole
file or none. A file that cannot be read or parsed is a miss, never an error page.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

from review_ui.cards import card_key

MAX_FILES = 4000  # about 360 MB of 90 KB pages at most; MAX_BYTES bounds it first
MAX_BYTES = 200_000_000
SWEEP_EVERY = 200  # writes between two clean-ups by one worker
_MAGIC = b"clerk-page 1\n"
_SUFFIX = ".page"
_HERE = Path(__file__).parent


@functools.cache
def code_version() -> str:
    """A digest of the templates and code that render a page: a deployment running other
    code (an upgrade, a rollback) never reads pages rendered by this code."""
    root = _HERE.parent
    files = sorted(
        [*_HERE.rglob("*.py"), *(_HERE / "templates").rglob("*.html")]
        + [*(root / "clerk" / "review").glob("*.py"), *(root / "clerk" / "domain").glob("*.py")]
    )
    digest = hashlib.blake2b(digest_size=16)
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class SharedPages:
    """Rendered page content by (key, fingerprint), in files every worker reads."""

    def __init__(
        self,
        folder: Path,
        ttl: float,
        *,
        max_files: int = MAX_FILES,
        max_bytes: int = MAX_BYTES,
        store: str = "",
    ) -> None:
        """``store``: the database's URL (password masked): two stores whose rows happen to
        look alike never share a page, even under one ``CLERK_HOME``."""
        self.folder = folder
        self.ttl = ttl
        self.max_files = max_files
        self.max_bytes = max_bytes
        self.version = (code_version(), store)
        self._writes = 0
        self._lock = threading.Lock()
        self.hits = 0
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, key: tuple[Any, ...], fingerprint: tuple[Any, ...]) -> Path:
        return self.folder / (card_key(self.version, key, fingerprint).hex() + _SUFFIX)

    def get(
        self, key: tuple[Any, ...], fingerprint: tuple[Any, ...], slot: str
    ) -> tuple[str, bytes, float] | None:
        """The title and content stored under ``key`` at ``fingerprint`` if fresh, with
        ``slot`` (this process's CSRF placeholder) where the writer's placeholder was, and
        the content's age in seconds."""
        try:
            with open(self.path(key, fingerprint), "rb") as f:
                age = max(0.0, time.time() - os.fstat(f.fileno()).st_mtime)
                if age >= self.ttl:
                    return None
                blob = f.read()
            if not blob.startswith(_MAGIC):
                return None
            head, _, body = blob[len(_MAGIC) :].partition(b"\n")
            meta = orjson.loads(head)
            theirs, title, length = meta["slot"], meta["title"], meta["length"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not (isinstance(theirs, str) and theirs and isinstance(title, str)):
            return None
        if length != len(body):  # cut short: never serve half a page
            return None
        self.hits += 1
        return title, body.replace(theirs.encode(), slot.encode()), age

    def put(
        self,
        key: tuple[Any, ...],
        fingerprint: tuple[Any, ...],
        title: str,
        body: bytes,
        slot: str,
    ) -> None:
        """Store the content (rendered with ``slot`` as its CSRF placeholder); a full disk
        or a read-only folder only means the page is not shared."""
        head = orjson.dumps({"slot": slot, "title": title, "length": len(body)})
        try:
            fd, temp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(_MAGIC + head + b"\n" + body)
                os.replace(temp, self.path(key, fingerprint))
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError:
            return
        with self._lock:
            self._writes += 1
            due = self._writes % SWEEP_EVERY == 0
        if due:
            self.clean()

    def clean(self) -> None:
        """Remove expired pages and leftover temporary files, then the oldest pages while
        there are more than ``max_files`` or ``max_bytes``."""
        now = time.time()
        kept: list[tuple[float, int, str]] = []
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return
        for entry in entries:
            try:
                stat = entry.stat()
            except OSError:
                continue  # removed by another worker meanwhile
            age = now - stat.st_mtime
            if entry.name.endswith(_SUFFIX) and age < self.ttl:
                kept.append((stat.st_mtime, stat.st_size, entry.path))
            elif entry.name.endswith(_SUFFIX) or (entry.name.endswith(".tmp") and age > 60):
                _remove(entry.path)
        kept.sort(reverse=True)  # newest first
        total = 0
        for n, (_, size, path) in enumerate(kept):
            total += size
            if n >= self.max_files or total > self.max_bytes:
                _remove(path)


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):  # another worker removed it first
        os.unlink(path)
