"""Sign in and out. The login form is CSRF-protected too, by an anonymous session cookie."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Form, HTTPException, Request
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
from review_ui.throttle import client_address, get_throttle

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
    throttle, address = get_throttle(request), client_address(request)
    try:
        throttle.check(email, address)
    except HTTPException as exc:
        return render(
            request, "login.html", status_code=429, next=_safe_next(next), error=exc.detail
        )
    user = authenticate(get_store(request), email, password)
    if user is None:
        throttle.failed(email, address)
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            error="Wrong email or password.",
            email=email[:255],
        )
    throttle.succeeded(email)
    # A new session and CSRF token at sign-in, so a token planted before login is worthless.
    done: Response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(done, request, sessions.dump(sessions.sign_in(user.email)))
    return done


@router.post("/logout", dependencies=[Depends(page_user)])
def logout(request: Request) -> Response:
    _, data = session_user(request)
    get_sessions(request).sign_out(data)  # the session ends on the server, not just here
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
