"""Sign in and out. The login form is CSRF-protected too, by an anonymous session cookie."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from clerk.review.users import authenticate
from review_ui.rendering import render
from review_ui.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    get_sessions,
    get_store,
    page_user,
    session_user,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a phishing link bounce through the app.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    user, data = session_user(request)
    if user is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    sessions = get_sessions(request)
    data = data or sessions.new()
    request.state.clerk_session = data
    response = render(request, "login.html", next=_safe_next(next), error=None)
    set_session_cookie(response, request, sessions.dump(data))
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    email: str = Form(...),
    password: str = Form(...),
    csrf_token: str = Form("", alias=CSRF_FIELD),
    next: str = Form("/"),
) -> Response:
    sessions = get_sessions(request)
    _, data = session_user(request)
    if data is None or not hmac.compare_digest(csrf_token, data.csrf):
        fresh = sessions.new()
        request.state.clerk_session = fresh
        response = render(
            request,
            "login.html",
            status_code=403,
            next=_safe_next(next),
            error="Your sign-in form had expired. Please try again.",
        )
        set_session_cookie(response, request, sessions.dump(fresh))
        return response
    user = authenticate(get_store(request), email, password)
    if user is None:
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            error="Wrong email or password.",
            email=email,
        )
    # A new CSRF token at sign-in, so a token planted before login is worthless after it.
    done: Response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(done, request, sessions.dump(sessions.new(user.email)))
    return done


@router.post("/logout", dependencies=[Depends(page_user)])
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
