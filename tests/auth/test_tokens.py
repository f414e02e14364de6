"""Organizer API tokens: shown once, stored hashed, usable as Bearer, revocable."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, ApiToken
from app.auth.security import digest
from app.events.models import RoleName
from tests.factories import csrf_for, grant, login_as, make_account, make_api_token, make_event


async def _organizer(db: AsyncSession) -> Account:
    account = await make_account(db)
    await grant(db, account, await make_event(db), RoleName.organizer)
    return account


async def _create(app: FastAPI, client: httpx.AsyncClient, name: str) -> httpx.Response:
    data = {"name": name, "csrf_token": csrf_for(app, client)}
    return await client.post("/account/tokens", data=data)


def _bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


async def test_organizer_creates_token_shown_once_and_hashed_at_rest(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await _organizer(db)
    await login_as(db, client, account)

    response = await _create(app, client, "CRM sync")

    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    match = re.search(r'value="(exh_[A-Za-z0-9_-]{40,})"', response.text)
    assert match is not None
    secret = match.group(1)
    [row] = (await db.scalars(select(ApiToken))).all()
    assert row.account_id == account.id
    assert row.name == "CRM sync"
    assert row.token_hash == digest(secret)
    assert row.prefix == secret[:12]
    assert secret not in (row.token_hash, row.prefix, row.name)
    listing = await client.get("/account/tokens")
    assert secret not in listing.text
    assert f"{row.prefix}…" in listing.text
    assert "CRM sync" in listing.text


async def test_bearer_token_authenticates_api_me(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await _organizer(db)
    secret = await make_api_token(db, account)
    await db.commit()

    response = await client.get("/api/me", headers=_bearer(secret))

    assert response.status_code == 200
    assert response.json() == {
        "id": account.id,
        "email": account.email,
        "display_name": account.display_name,
        "is_admin": False,
    }
    used = await db.scalar(select(ApiToken.last_used_at))
    assert used is not None


async def test_revoked_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await _organizer(db)
    secret = await make_api_token(db, account)
    await login_as(db, client, account)
    token_id = await db.scalar(select(ApiToken.id))

    response = await client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_for(app, client)}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/account/tokens?done=revoked"
    refused = await client.get("/api/me", headers=_bearer(secret))
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "That API token is not valid or has been revoked."
    page = await client.get("/account/tokens?done=revoked")
    assert "The token has been revoked" in page.text
    assert "Revoked " in page.text


async def test_cannot_revoke_someone_elses_token(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    owner = await _organizer(db)
    secret = await make_api_token(db, owner)
    intruder = await _organizer(db)
    await login_as(db, client, intruder)
    token_id = await db.scalar(select(ApiToken.id))

    response = await client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_for(app, client)}
    )

    assert response.status_code == 404
    assert (await client.get("/api/me", headers=_bearer(secret))).json()["id"] == owner.id


async def test_attendee_only_account_cannot_create_tokens(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await grant(db, account, await make_event(db), RoleName.attendee)
    await login_as(db, client, account)

    page = await client.get("/account/tokens")
    response = await _create(app, client, "sneaky")

    assert page.status_code == 200
    assert "Only event organizers and administrators can create API tokens." in page.text
    assert 'action="/account/tokens"' not in page.text
    assert response.status_code == 403
    assert "Only event organizers and administrators can create API tokens." in response.text
    assert (await db.scalars(select(ApiToken))).all() == []


async def test_admin_can_create_tokens(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await make_account(db, is_admin=True)
    await login_as(db, client, admin)
    assert (await _create(app, client, "Ops")).status_code == 201


async def test_token_name_is_required(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await _organizer(db)
    await login_as(db, client, account)

    response = await _create(app, client, "  ")

    assert response.status_code == 422
    assert '<p class="error" id="e-name" role="alert">Enter a name for the token.' in response.text
    assert (await db.scalars(select(ApiToken))).all() == []


async def test_api_me_without_auth_is_json_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me")
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "auth.required", "message": "Please log in to continue."}
    }
    garbage = await client.get("/api/me", headers=_bearer("exh_not-a-real-token"))
    assert garbage.status_code == 401


async def test_account_page_links_to_settings_and_data(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db, email="ada@example.com", display_name="Ada")
    await login_as(db, client, account)

    response = await client.get("/account")

    assert response.status_code == 200
    assert "ada@example.com" in response.text
    for href in ("/account/password", "/account/tokens", "/account/data.json", "/account/delete"):
        assert f'href="{href}"' in response.text
