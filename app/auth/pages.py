"""HTML pages of accounts: sign-up, login, logout, account overview, password, API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from app.auth import csrf
from app.auth.csrf import verify_csrf
from app.auth.deps import SESSION_COOKIE, CurrentAccount, MaybeAccount
from app.auth.errors import FieldInvalid, InvalidCredentials, TokensForbidden
from app.auth.models import Account
from app.auth.schemas import (
    MAX_DISPLAY_NAME,
    MAX_PASSWORD,
    MAX_TOKEN_NAME,
    MIN_PASSWORD,
    AccountCreate,
    ApiTokenCreate,
    LoginForm,
    PasswordChange,
    parse_form,
)
from app.auth.service import account as account_service
from app.auth.service import api_token as api_token_service
from app.config import Settings
from app.db import DbSession, RowId
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

# Messages shown after a redirect, chosen by a fixed key so a link cannot inject text.
DONE_MESSAGES = {
    "password": "Your password has been changed. Your other devices have been logged out.",
    "revoked": "The token has been revoked; it no longer works.",
}
# Passed to every template so the hints and maxlength attributes match the validation.
_LIMITS = {
    "min_password": MIN_PASSWORD,
    "max_password": MAX_PASSWORD,
    "max_display_name": MAX_DISPLAY_NAME,
    "max_token_name": MAX_TOKEN_NAME,
}


def safe_next(value: str | None) -> str:
    """A local path to go to after logging in; anything else (other sites included) is "/"."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
    ):
        return "/"
    return value


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _form(request: Request) -> dict[str, str]:
    """The submitted text fields; files and repeated fields collapse to one string (or none)."""
    form = await request.form()
    fields = {name: value for name, value in form.items() if isinstance(value, str)}
    await form.close()  # no auth form takes files: release any that were sent
    return fields


def _render(request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> Response:
    context.setdefault("errors", {})
    context.setdefault("limits", _LIMITS)
    return templates.TemplateResponse(request, f"auth/{name}.html", context, status_code=status)


async def _logged_in(request: Request, db: DbSession, account: Account, next_url: str) -> Response:
    """Start a fresh session (ending the browser's old one) and set its cookie."""
    settings = _settings(request)
    token = await account_service.start_session(
        db,
        account=account,
        days=settings.session_days,
        user_agent=request.headers.get("user-agent", ""),
        replacing=request.cookies.get(SESSION_COOKIE),
    )
    csrf.rotate(request)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/signup")
async def signup_page(request: Request, account: MaybeAccount) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    return _render(request, "signup", {"account": account, "values": {}, "next": next_url})


@router.post("/signup")
async def signup(request: Request, db: DbSession) -> Response:
    data = await _form(request)
    next_url = safe_next(data.get("next"))
    values = {"email": data.get("email", ""), "display_name": data.get("display_name", "")}
    form, errors = parse_form(AccountCreate, data)
    if form is not None:
        try:
            created = await account_service.sign_up(db, data=form)
        except FieldInvalid as exc:
            errors = {exc.field: exc.message}
        else:
            return await _logged_in(request, db, created, next_url)
    context = {"account": None, "values": values, "errors": errors, "next": next_url}
    return _render(request, "signup", context, status=422)


@router.get("/login")
async def login_page(request: Request, account: MaybeAccount) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    return _render(request, "login", {"account": account, "values": {}, "next": next_url})


@router.post("/login")
async def login(request: Request, db: DbSession) -> Response:
    data = await _form(request)
    next_url = safe_next(data.get("next") or request.query_params.get("next"))
    context: dict[str, Any] = {
        "account": None,
        "values": {"email": data.get("email", "")},
        "next": next_url,
    }
    form, errors = parse_form(LoginForm, data)
    if form is None:
        return _render(request, "login", {**context, "errors": errors}, status=422)
    try:
        account = await account_service.log_in(
            db,
            data=form,
            address=_address(request),
            attempts_per_minute=_settings(request).login_attempts_per_minute,
        )
    except InvalidCredentials as exc:
        # Answered normally (not raised) so the failure just recorded is committed.
        return _render(request, "login", {**context, "failure": exc.message}, status=422)
    return await _logged_in(request, db, account, next_url)


@router.post("/logout")
async def logout(request: Request, db: DbSession) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await account_service.end_session(db, token=token)
    csrf.rotate(request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=request.url.scheme == "https", httponly=True
    )
    return response


@router.get("/account")
async def account_page(request: Request, account: CurrentAccount) -> Response:
    flash = DONE_MESSAGES.get(request.query_params.get("done", ""))
    return _render(request, "account", {"account": account, "flash": flash})


@router.get("/account/password")
async def password_page(request: Request, account: CurrentAccount) -> Response:
    return _render(request, "password", {"account": account})


@router.post("/account/password")
async def change_password(request: Request, db: DbSession, account: CurrentAccount) -> Response:
    form, errors = parse_form(PasswordChange, await _form(request))
    if form is not None:
        try:
            await account_service.change_password(
                db, account=account, data=form, current_token=request.cookies.get(SESSION_COOKIE)
            )
        except FieldInvalid as exc:
            errors = {exc.field: exc.message}
        else:
            return RedirectResponse("/account?done=password", status_code=303)
    return _render(request, "password", {"account": account, "errors": errors}, status=422)


async def _tokens_context(db: DbSession, account: Account) -> dict[str, Any]:
    return {
        "account": account,
        "tokens": await api_token_service.list(db, account=account),
        "can_create": await api_token_service.can_create(db, account=account),
        "values": {},
    }


@router.get("/account/tokens")
async def tokens_page(request: Request, db: DbSession, account: CurrentAccount) -> Response:
    context = await _tokens_context(db, account)
    context["flash"] = DONE_MESSAGES.get(request.query_params.get("done", ""))
    return _render(request, "tokens", context)


@router.post("/account/tokens")
async def create_token(request: Request, db: DbSession, account: CurrentAccount) -> Response:
    if not await api_token_service.can_create(db, account=account):
        raise TokensForbidden()
    data = await _form(request)
    form, errors = parse_form(ApiTokenCreate, data)
    if form is None:
        context = await _tokens_context(db, account)
        context.update(errors=errors, values={"name": data.get("name", "")})
        return _render(request, "tokens", context, status=422)
    created = await api_token_service.create(db, account=account, data=form)
    context = await _tokens_context(db, account)
    context.update(created=created)
    response = _render(request, "tokens", context, status=201)
    # The secret is on this page only: keep it out of every cache.
    response.headers["cache-control"] = "no-store"
    return response


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(token_id: RowId, db: DbSession, account: CurrentAccount) -> Response:
    await api_token_service.revoke(db, account=account, token_id=token_id)
    return RedirectResponse("/account/tokens?done=revoked", status_code=303)
