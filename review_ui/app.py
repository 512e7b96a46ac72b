"""The FastAPI app: ``create_app(store=None, settings=None)`` wires store, templates and routes.

Pages are server-rendered Jinja (autoescaped) enhanced by htmx; the JSON API lives under
``/api`` and is the only part in the OpenAPI schema (``/api/openapi.json``, ``/api/docs``).
"""

from __future__ import annotations

import functools
import gc
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from clerk.review.decisions import Conflict, NeedsAssertion, ReviewError
from clerk.settings import Settings, get_settings
from clerk.store import Store
from review_ui.middleware import BodyLimit, SecurityHeaders
from review_ui.page_cache import PAGE_TTL, PageCache
from review_ui.rendering import HERE, is_htmx, make_templates, render
from review_ui.routes import accounts, api, auth, gaps, items, manager, packets, share
from review_ui.security import LoginRequired, Sessions
from review_ui.shared_pages import SharedPages
from review_ui.throttle import Throttle

SWAGGER_UI_VERSION = "5.35.0"  # vendored from the npm package swagger-ui-dist


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


async def _review_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ReviewError)
    if _is_api(request):
        body: dict[str, Any] = {"detail": str(exc)}
        if isinstance(exc, Conflict):
            body.update(
                current_version=exc.current_version,
                changed_by=exc.changed_by,
                changed_at=exc.changed_at.isoformat() if exc.changed_at else None,
            )
        if isinstance(exc, NeedsAssertion):
            body["errors"] = exc.errors
        return JSONResponse(body, status_code=exc.status_code)
    name = "_conflict.html" if isinstance(exc, Conflict) else "_error.html"
    if not is_htmx(request):
        return render(request, "error.html", status_code=exc.status_code, error=exc)
    return render(request, name, status_code=exc.status_code, error=exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if _is_api(request) or is_htmx(request):
        if is_htmx(request) and not _is_api(request):
            return render(request, "_error.html", status_code=exc.status_code, error=exc.detail)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )
    return render(request, "error.html", status_code=exc.status_code, error=exc.detail)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """422 naming each field and what is wrong with it, never echoing what was sent (a 50 MB
    input came back whole)."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))[:200], "type": e.get("type")}
        for e in exc.errors()[:20]
    ]
    if _is_api(request) or is_htmx(request):
        return JSONResponse({"detail": errors}, status_code=422)
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
    return render(request, "error.html", status_code=422, error=f"Invalid request: {fields}")


async def _login_required(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


@functools.cache
def _freeze_start_up_objects() -> None:
    """Once per process, after the first app is built: move every object alive so far (the
    imported modules, the app) out of the garbage collector's sight. They live as long as
    the process, and a full collection walking them (about 130,000 objects: 70 to 185 ms on
    a 2-core machine) stalled every request queued on the worker; measured in-process over
    1,050 page requests: one full collection of 185 ms before, two or three of 11 to 13 ms
    in all after."""
    gc.collect()
    gc.freeze()


def shared_pages(settings: Settings, store: Store) -> SharedPages | None:
    """The account pages every worker of this deployment shares (review_ui.shared_pages),
    under ``CLERK_HOME/cache/pages``; None when that folder cannot be made (read-only home):
    each worker then keeps its own pages only."""
    try:
        return SharedPages(
            settings.home.resolve() / "cache" / "pages", PAGE_TTL, store=str(store.engine.url)
        )
    except OSError:
        return None


def create_app(store: Store | None = None, settings: Settings | None = None) -> FastAPI:
    """The review app over ``store`` (default: the store named by settings)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Evidence Clerk",
        summary="Review drafted value proof, audit gaps and publish Value Proof Packets.",
        description=(
            "JSON API of the Evidence Clerk review UI. Authenticate with HTTP Basic "
            "(email and password of a user made with `clerk users add`) or with the session "
            "cookie of a signed-in browser; cookie requests that change state must send the "
            "session's CSRF token in the `X-CSRF-Token` header. A CSM sees and changes only "
            "the accounts they own (403 otherwise)."
        ),
        version="1",
        openapi_url="/api/openapi.json",
        # Served below from vendored files: the default page loads Swagger UI from a CDN,
        # which an offline install cannot reach.
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store or Store.from_settings(settings)
    app.state.settings = settings
    app.state.sessions = Sessions(settings, app.state.store)
    app.state.throttle = Throttle(settings, app.state.store)
    app.state.templates = make_templates()
    app.state.page_cache = PageCache(
        shared=shared_pages(settings, app.state.store),
        slot=app.state.templates.env.globals["card_cache"].slot,
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (auth, accounts, items, gaps, manager, packets, api):
        app.include_router(module.router)
    app.include_router(share.router)  # share links (issue 16): /s/{token} and share / revoke
    share.install(app, settings)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="Evidence Clerk API",
            swagger_js_url=f"/static/swagger-ui-bundle-{SWAGGER_UI_VERSION}.js",
            swagger_css_url=f"/static/swagger-ui-{SWAGGER_UI_VERSION}.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    app.add_exception_handler(ReviewError, _review_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    # Outermost last: the body limit sees the request before anything reads it.
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    _freeze_start_up_objects()
    return app
