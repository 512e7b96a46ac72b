"""Rendering pages and partials: the Jinja environment, its filters, and ``render``.

Routes import from here (never from ``review_ui.app``, which imports the routes).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from clerk.domain.format import date_text, number, percent
from clerk.domain.vocabulary import OPEN_GAP_STATUSES
from review_ui.cards import CardCache
from review_ui.page_cache import PageCache
from review_ui.security import csrf_token, session_user

HERE = Path(__file__).parent
HTMX_JS = "htmx-2.0.11.min.js"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    # Templates ship inside the package; checking their mtimes on every include (20 cards a
    # page) costs more than it is worth outside development.
    env.auto_reload = False
    env.filters.update(num=number, pct=percent, date=date_text, reject_options=reject_options)
    env.globals.update(
        htmx_js=HTMX_JS, csrf_field="csrf_token", open_gap_statuses=OPEN_GAP_STATUSES
    )
    env.globals.update(card_cache=CardCache(env), item_cards=item_cards)
    return templates


def reject_options(reasons: dict[str, str], selected: Any = None) -> Markup:
    """The reject form's ``<option>`` list, ``selected`` marked: built once per (reasons,
    choice) rather than per card."""
    return _reject_options(tuple(reasons.items()), selected if isinstance(selected, str) else None)


@lru_cache(maxsize=64)
def _reject_options(reasons: tuple[tuple[str, str], ...], selected: str | None) -> Markup:
    return Markup("").join(
        Markup('<option value="{}" {}>{}</option>').format(
            code, Markup("selected") if selected == code else "", label
        )
        for code, label in reasons
    )


@pass_context
def item_cards(context: Context, entries: list[Any]) -> Markup:
    """The cards of ``entries`` (the account page's queue or reviewed list), from the
    worker's card cache, each with this viewer's CSRF token."""
    cards: CardCache = context["card_cache"]
    return cards.cards(entries, context["page"], context["csrf"])


def card_cache(request: Request) -> CardCache:
    """This worker's rendered item cards (one cache per app, i.e. per process)."""
    cards: CardCache = request.app.state.templates.env.globals["card_cache"]
    return cards


def page_cache(request: Request) -> PageCache:
    """This worker's account pages (see review_ui.page_cache)."""
    pages: PageCache = request.app.state.page_cache
    return pages


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(
    request: Request,
    name: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render a page or partial with the user and CSRF token every template may need."""
    user, _ = session_user(request)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf": csrf_token(request), "htmx": is_htmx(request), **context},
        status_code=status_code,
        headers=headers,
    )
