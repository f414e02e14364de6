"""Login, logout and the session cookie: attributes, fixation, CSRF, redirects."""

from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.csrf import COOKIE as CSRF_COOKIE
from app.auth.deps import SESSION_COOKIE
from app.auth.models import Account, AuthSession
from app.auth.security import needs_rehash
from tests.factories import PASSWORD, csrf_for, login_as, make_account


async def _log_in(
    app: FastAPI, client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: str
) -> httpx.Response:
    data = {"email": email, "password": password, "csrf_token": csrf_for(app, client), **extra}
    return await client.post("/login", data=data)


def _cookie_header(response: httpx.Response, name: str = SESSION_COOKIE) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


def _set_cookie_value(response: httpx.Response, name: str) -> str:
    return _cookie_header(response, name).split(";")[0].split("=", 1)[1]


async def _me_with(app: FastAPI, session_token: str) -> httpx.Response:
    """GET /api/me from a fresh browser holding only this session cookie."""
    transport = httpx.ASGITransport(app=app)
    cookies = {SESSION_COOKIE: session_token}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", cookies=cookies
    ) as browser:
        return await browser.get("/api/me")


async def _session_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(AuthSession)) or 0)


async def test_login_sets_httponly_lax_cookie(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db, email="ada@example.com")
    await db.commit()

    response = await _log_in(app, client, "  ADA@example.com ")

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    header = _cookie_header(response).lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "path=/" in header
    assert f"max-age={14 * 86400}" in header
    assert "secure" not in header
    me = await client.get("/api/me")
    assert me.json() == {
        "id": account.id,
        "email": "ada@example.com",
        "display_name": account.display_name,
        "is_admin": False,
    }


async def test_login_replaces_existing_session_and_csrf_value(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await login_as(db, client, account)
    old_token = client.cookies[SESSION_COOKIE]
    csrf_for(app, client)
    old_csrf = client.cookies[CSRF_COOKIE]

    response = await _log_in(app, client, account.email or "")

    assert response.status_code == 303
    new_token = _set_cookie_value(response, SESSION_COOKIE)
    assert new_token != old_token
    assert _set_cookie_value(response, CSRF_COOKIE) != old_csrf
    assert await _session_count(db) == 1
    assert (await _me_with(app, old_token)).status_code == 401
    assert (await _me_with(app, new_token)).json()["id"] == account.id


async def test_login_with_secure_cookie_over_https(app: FastAPI, db: AsyncSession) -> None:
    account = await make_account(db)
    await db.commit()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await _log_in(app, client, account.email or "")

    assert response.status_code == 303
    assert "; secure" in _cookie_header(response).lower()


@pytest.mark.parametrize(
    ("email", "password"),
    [("ada@example.com", "wrong password!"), ("nobody@example.com", PASSWORD)],
)
async def test_login_failure_is_generic(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, email: str, password: str
) -> None:
    await make_account(db, email="ada@example.com")
    await db.commit()

    response = await _log_in(app, client, email, password)

    assert response.status_code == 422
    assert "The email or password is incorrect." in response.text
    assert f'value="{email}"' in response.text
    assert SESSION_COOKIE not in client.cookies
    assert await _session_count(db) == 0


async def test_login_with_empty_fields_reports_each(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post("/login", data={"csrf_token": csrf_for(app, client)})
    assert response.status_code == 422
    assert "Enter your email address." in response.text
    assert "Enter your password." in response.text


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/e/expo/hall?tab=2", "/e/expo/hall?tab=2"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
    ],
)
async def test_login_redirects_only_to_local_next(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, next_url: str, location: str
) -> None:
    account = await make_account(db)
    await db.commit()
    response = await _log_in(app, client, account.email or "", next=next_url)
    assert response.headers["location"] == location


async def test_login_page_carries_next_into_form(client: httpx.AsyncClient) -> None:
    response = await client.get("/login", params={"next": "/account"})
    assert response.status_code == 200
    assert '<input type="hidden" name="next" value="/account">' in response.text
    outside = await client.get("/login", params={"next": "//evil.example"})
    assert '<input type="hidden" name="next" value="/">' in outside.text


async def test_login_upgrades_outdated_password_hash(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    account = await make_account(db, password_hash=weak)
    await db.commit()
    assert needs_rehash(weak)

    assert (await _log_in(app, client, account.email or "")).status_code == 303

    account_id = account.id
    db.expire_all()
    fresh = await db.scalar(select(Account).where(Account.id == account_id))
    assert fresh is not None
    assert fresh.password_hash != weak
    assert fresh.password_hash is not None
    assert not needs_rehash(fresh.password_hash)


@pytest.mark.parametrize("token", [None, "forged"])
async def test_login_without_valid_csrf_token_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, token: str | None
) -> None:
    account = await make_account(db)
    await db.commit()
    await client.get("/login")  # the browser has its CSRF cookie
    data = {"email": account.email or "", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token

    response = await client.post("/login", data=data)

    assert response.status_code == 403
    assert "This form has expired or was not sent from Expohall." in response.text
    assert SESSION_COOKIE not in client.cookies


async def test_logout_ends_the_session(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await login_as(db, client, account)
    token = client.cookies[SESSION_COOKIE]

    response = await client.post("/logout", data={"csrf_token": csrf_for(app, client)})

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert "max-age=0" in _cookie_header(response).lower()
    assert await _session_count(db) == 0
    assert (await _me_with(app, token)).status_code == 401
    page = await client.get("/account")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/account"


async def test_login_with_huge_or_odd_input_fails_cleanly(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    data = {
        "email": "x" * 10_000 + "@example.com",
        "password": "p" * 10_000,
        "csrf_token": csrf_for(app, client),
    }
    response = await client.post("/login", data=data)
    assert response.status_code == 422
    assert "The email or password is incorrect." in response.text

    upload = await client.post(
        "/login",
        data={"csrf_token": csrf_for(app, client)},
        files={"email": ("a.txt", b"ada@example.com"), "password": ("b.txt", b"secret")},
    )
    assert upload.status_code == 422
    assert "Enter your email address." in upload.text
