"""Rendered item cards, kept per worker process and reused while nothing they show changes.

An item card (``_item.html``: claim, figures, evidence panes, the approve / edit / reject
forms, the customer's answer, the audit trail) is most of the account page's template work,
and it changes only when the item, its audit trail, its customer answer or a cited source
changes, or when its "waiting N d" ticks over. So each card is rendered once per
*fingerprint*: a digest of exactly those inputs as this request read them from the database
(:func:`card_key`). Every request reads them anyway, so a decision made through another
worker process changes the fingerprint and the next page load renders the card afresh: no
invalidation messages, no stale card.

What differs between viewers never enters the cache: the card holds a random per-process
placeholder where the CSRF token goes, replaced by the viewer's token on every use; the card
shows no viewer role. Which cards a viewer gets is decided by the page's queries (account
access is checked before any card is looked up), and the fingerprint includes the item's
account, so two accounts never share a card.

The cache is a bounded LRU of UTF-8 bytes (:data:`CARD_CACHE_BYTES` per process; a card
with one "…" in it would take two bytes a character as a Python string).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from typing import Any

import orjson
from jinja2 import Environment, Template
from markupsafe import Markup, escape

# Bytes of card HTML one worker keeps: about 7,000 cards of 4.5 KB.
CARD_CACHE_BYTES = 32_000_000


def _default(value: Any) -> Any:
    return str(value)  # dates and datetimes: their ISO text is what the card shows


def card_key(*parts: Any) -> bytes:
    """A digest of everything a card shows (passed in by the query layer)."""
    blob = orjson.dumps(parts, default=_default, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(blob, digest_size=16).digest()


class CardCache:
    """Card HTML by fingerprint, with a per-process placeholder for the CSRF token."""

    def __init__(self, env: Environment, max_bytes: int = CARD_CACHE_BYTES) -> None:
        self._template: Template = env.get_template("_item.html")
        self._cards: OrderedDict[bytes, bytes] = OrderedDict()
        # The item of each card, and how many cards each item has here: a page none of whose
        # items has a card here skips reading the sources' hashes apart from their text.
        self._owner: dict[bytes, str] = {}
        self._held: Counter[str] = Counter()
        self._bytes = 0
        self.max_bytes = max_bytes
        # Unguessable, so no text inside a card (a claim, a ticket) can contain it.
        self.slot = "csrf-" + secrets.token_hex(16)
        self._slot = self.slot.encode()
        # The async pages run on the event loop, partials that render cards in the threadpool.
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> bytes | None:
        with self._lock:
            html = self._cards.get(key)
            if html is not None:
                self._cards.move_to_end(key)
        return html

    def holds_any(self, item_ids: Iterable[str]) -> bool:
        """Whether this worker holds a card of any of ``item_ids`` (of any fingerprint)."""
        with self._lock:
            return any(i in self._held for i in item_ids)

    def render(self, entry: Any, page: Any, context: dict[str, Any] | None = None) -> bytes:
        """The card of ``entry`` with the placeholder in place of the CSRF token, cached.
        ``context``: :meth:`page_context` of ``page``, when rendering many cards."""
        key: bytes | None = getattr(entry, "card_key", None)
        # The card the page was built with (its evidence was not read then), else this
        # worker's copy, else render it.
        cached = getattr(entry, "card", None)
        if cached is None and key is not None:
            cached = self.get(key)
        if cached is not None:
            self.hits += 1
            return bytes(cached)
        self.misses += 1
        if context is None:
            context = self.page_context(page)
        # Template.render, minus merging the globals again for each card of a page.
        template = self._template
        ctx = template.new_context({**context, "entry": entry}, shared=True)
        try:
            text: str = template.environment.concat(template.root_render_func(ctx))
        except Exception:
            template.environment.handle_exception()  # the template's line in the traceback
        html = text.encode()
        if key is not None:
            with self._lock:
                self._put(key, html, str(entry.item.id))
        return html

    def _put(self, key: bytes, html: bytes, item_id: str) -> None:
        if key in self._cards:
            return
        self._cards[key] = html
        self._owner[key] = item_id
        self._held[item_id] += 1
        self._bytes += len(html)
        while self._bytes > self.max_bytes and self._cards:
            old_key, old = self._cards.popitem(last=False)
            self._bytes -= len(old)
            owner = self._owner.pop(old_key)
            self._held[owner] -= 1
            if not self._held[owner]:
                del self._held[owner]

    def page_context(self, page: Any) -> dict[str, Any]:
        """The variables every card of ``page`` is rendered with (the template's globals,
        the page, the placeholder CSRF token)."""
        return {**self._template.globals, "page": page, "csrf": self.slot}

    def fill(self, html: bytes, csrf: str) -> Markup:
        """Cached HTML (cards, or content made of them) with the viewer's CSRF token."""
        return Markup(self.fill_bytes(html, csrf).decode())

    def fill_bytes(self, html: bytes, csrf: str) -> bytes:
        """:meth:`fill` as UTF-8 bytes, for a response that sends them as they are."""
        return html.replace(self._slot, str(escape(csrf)).encode())

    def cards(self, entries: Iterable[Any], page: Any, csrf: str) -> Markup:
        """The cards of ``entries``, in order, each with the viewer's CSRF token."""
        context = self.page_context(page)
        return self.fill(b"".join(self.render(e, page, context) for e in entries), csrf)

    def __len__(self) -> int:
        return len(self._cards)
