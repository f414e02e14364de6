"""CSRF protection: a signed double-submit token on every state-changing browser request.

A random value lives in the `expohall_csrf` cookie; forms carry HMAC(secret, value) in the
`csrf_token` field (or the `X-CSRF-Token` header for fetch calls). A sibling site can neither
read the cookie nor compute the signature, so it cannot forge the pair.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.security import new_token, same, sign
from app.errors import CsrfFailed

COOKIE = "expohall_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfCookieMiddleware:
    """Gives every browser a CSRF cookie on its first request (and after a login rotates it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"cookie", b"").decode("latin-1")
        cookie = SimpleCookie()
        try:
            cookie.load(raw)
        except Exception:
            cookie = SimpleCookie()
        current = cookie[COOKIE].value if COOKIE in cookie else ""
        state = scope.setdefault("state", {})
        state["csrf_value"] = current or new_token(24)
        secure = scope.get("scheme") == "https"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and state["csrf_value"] != current:
                flags = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
                MutableHeaders(scope=message).append(
                    "set-cookie", f"{COOKIE}={state['csrf_value']}; {flags}"
                )
            await send(message)

        await self.app(scope, receive, send_wrapper)


def csrf_token(request: Request) -> str:
    """The value a form or fetch call must send back (exposed to templates)."""
    return sign(request.app.state.settings.secret, request.state.csrf_value)


def rotate(request: Request) -> None:
    """Issue a fresh CSRF value (at login), so a token seen before login is worthless after."""
    request.state.csrf_value = new_token(24)


async def verify_csrf(request: Request) -> None:
    """Router dependency: reject unsafe browser requests without a valid token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(FIELD)
        sent = value if isinstance(value, str) else ""
    cookie = request.cookies.get(COOKIE, "")
    if not cookie or not sent or not same(sent, sign(request.app.state.settings.secret, cookie)):
        raise CsrfFailed()
