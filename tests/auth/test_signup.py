"""Sign-up: account creation, validation errors shown next to their fields."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import SESSION_COOKIE
from app.auth.models import Account
from app.auth.security import verify_password
from tests.factories import csrf_for, make_account

GOOD = {"email": "Ada@Example.COM", "display_name": "Ada Lovelace", "password": "analytical-1843"}


async def _sign_up(app: FastAPI, client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    data = {**GOOD, **fields, "csrf_token": csrf_for(app, client)}
    return await client.post("/signup", data=data)


async def _accounts(db: AsyncSession) -> list[Account]:
    db.expire_all()
    return list((await db.scalars(select(Account).order_by(Account.id))).all())


async def test_signup_creates_account_and_logs_in(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    response = await _sign_up(app, client)

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    [account] = await _accounts(db)
    assert account.email == "ada@example.com"
    assert account.display_name == "Ada Lovelace"
    assert account.password_hash is not None
    assert "analytical" not in account.password_hash
    assert verify_password(account.password_hash, "analytical-1843")
    assert client.cookies.get(SESSION_COOKIE)
    me = await client.get("/api/me")
    assert me.json()["email"] == "ada@example.com"


async def test_signup_honours_local_next(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await _sign_up(app, client, next="/e/expo/hall")
    assert response.headers["location"] == "/e/expo/hall"


async def test_signup_page_has_labelled_fields(client: httpx.AsyncClient) -> None:
    response = await client.get("/signup")
    assert response.status_code == 200
    for name in ("email", "display_name", "password"):
        assert f'<label for="f-{name}">' in response.text
        assert f'id="f-{name}" name="{name}"' in response.text
    assert 'name="csrf_token"' in response.text
    assert 'minlength="10"' in response.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": ""}, "email", "Enter a valid email address."),
        ({"password": "short1234"}, "password", "Use at least 10 characters."),
        ({"password": "p" * 201}, "password", "Use at most 200 characters."),
        ({"display_name": "   "}, "display_name", "Enter your name."),
        ({"display_name": "n" * 5000}, "display_name", "Use at most 100 characters."),
        ({"display_name": "Ada\nLovelace"}, "display_name", "Remove the control characters"),
        ({"display_name": "evil\u202egnp.exe"}, "display_name", "Remove the control characters"),
        (
            {"email": "a" * 5000 + "@example.com"},
            "email",
            "Enter a valid email address. The email address is too long",
        ),
    ],
)
async def test_signup_rejects_bad_field(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: AsyncSession,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = await _sign_up(app, client, **fields)

    assert response.status_code == 422
    assert f'<p class="error" id="e-{field}" role="alert">{message}' in response.text
    assert re.search(rf'aria-describedby="[^"]*e-{field}"', response.text)
    assert 'aria-invalid="true"' in response.text
    assert await _accounts(db) == []
    assert SESSION_COOKIE not in client.cookies


async def test_signup_keeps_typed_values_but_not_password(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await _sign_up(app, client, password="short")
    assert 'value="Ada@Example.COM"' in response.text
    assert 'value="Ada Lovelace"' in response.text
    assert "short" not in response.text.split('id="f-password"')[1].split(">")[0]


async def test_signup_rejects_duplicate_email_case_insensitively(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_account(db, email="ada@example.com")
    await db.commit()

    response = await _sign_up(app, client, email="ADA@example.com")

    assert response.status_code == 422
    assert "An account with this email address already exists." in response.text
    assert len(await _accounts(db)) == 1


async def test_signup_accepts_unicode_display_name_and_escapes_it(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    name = "Zoë 李 <b>🚀</b>"
    response = await _sign_up(app, client, display_name=name)
    assert response.status_code == 303

    [account] = await _accounts(db)
    assert account.display_name == name
    page = await client.get("/account")
    assert "Zoë 李 &lt;b&gt;🚀&lt;/b&gt;" in page.text
    assert "<b>🚀</b>" not in page.text


async def test_signup_with_missing_fields_reports_each(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.post("/signup", data={"csrf_token": csrf_for(app, client)})
    assert response.status_code == 422
    for field in ("email", "display_name", "password"):
        assert f'id="e-{field}"' in response.text
    assert "Please correct 3 fields." in response.text
