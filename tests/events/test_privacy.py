"""Download my data and delete my account."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, ApiToken, AuthSession
from app.auth.security import verify_password
from app.db import utcnow
from app.events import privacy
from app.events.models import Invitation, Registration, RoleName
from app.models import Base
from tests.events.forms import with_csrf
from tests.factories import (
    PASSWORD,
    grant,
    login_as,
    make_account,
    make_api_token,
    make_event,
    make_exhibitor,
    make_invitation,
    make_registration,
)

ACCOUNT_PERSONAL = ("email", "password_hash")
REGISTRATION_PERSONAL = (
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "consent_share_at",
    "consent_marketing_at",
)


async def _attendee(db: AsyncSession, client: httpx.AsyncClient) -> tuple[int, int]:
    """A logged-in attendee registered for two events; returns (account id, event id)."""
    account = await make_account(db, email="ada@example.com", display_name="Ada L.")
    event = await make_event(db, slug="expo")
    await make_registration(
        db,
        event,
        account,
        phone="+44 20 7946 0000",
        interests=["engines"],
        consent_marketing_at=utcnow(),
    )
    await make_registration(db, await make_event(db), account)
    await make_api_token(db, account)
    ids = (account.id, event.id)
    await login_as(db, client, account)
    return ids


async def test_download_my_data_has_registrations_and_no_secrets(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account_id, event_id = await _attendee(db, client)
    response = await client.get("/account/data.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        'attachment; filename="expohall-my-data.json"'
    )
    assert "password" not in response.text
    assert "_hash" not in response.text
    data = response.json()
    assert data["account"]["id"] == account_id
    assert data["account"]["email"] == "ada@example.com"
    assert len(data["registrations"]) == 2
    first = data["registrations"][0]
    assert (first["event_id"], first["first_name"], first["phone"]) == (
        event_id,
        "Ada",
        "+44 20 7946 0000",
    )
    assert first["interests"] == ["engines"]
    assert first["consent_marketing_at"] is not None
    assert {r["role"] for r in data["roles"]} == {"attendee"}
    assert len(data["other"]["auth_sessions"]) == 1
    assert data["other"]["api_tokens"][0]["name"]


async def test_download_my_data_includes_rows_the_account_owns(
    client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(privacy.OWNER_COLUMNS, "invitations", ["accepted_by_id"])
    account = await make_account(db)
    event = await make_event(db)
    invitation, _ = await make_invitation(db, event, role=RoleName.organizer)
    invitation.accepted_by_id = account.id
    invitation.accepted_at = utcnow()
    await login_as(db, client, account)
    data = (await client.get("/account/data.json")).json()
    [row] = data["other"]["invitations"]
    assert row["accepted_by_id"] == data["account"]["id"]
    assert "token_hash" not in row


async def test_download_my_data_leaves_out_rows_the_account_only_acted_on(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    organizer = await make_account(db)
    invitation, _ = await make_invitation(
        db, await make_event(db), role=RoleName.organizer, email="someone@example.com"
    )
    invitation.created_by_id = organizer.id
    await login_as(db, client, organizer)
    data = (await client.get("/account/data.json")).json()
    assert "invitations" not in data["other"]
    assert "someone@example.com" not in json.dumps(data)


async def test_download_my_data_anonymous_redirects_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/account/data.json")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/data.json"


async def test_delete_account_erases_personal_fields_and_keeps_aggregates(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account_id, event_id = await _attendee(db, client)
    other = await make_registration(db, await make_event(db))
    other_id = other.id
    await db.commit()
    page = await client.get("/account/delete")
    assert page.status_code == 200
    data = {"confirm": "yes", "password": PASSWORD}
    response = await client.post("/account/delete", data=with_csrf(app, client, data))
    assert response.status_code == 200
    assert "Your account is deleted" in response.text
    assert 'expohall_session=""' in response.headers["set-cookie"]

    await db.rollback()

    db.expire_all()
    account = await db.get(Account, account_id)
    assert account is not None
    for name in ACCOUNT_PERSONAL:
        assert getattr(account, name) is None, name
    assert account.display_name == ""
    assert account.erased_at is not None
    assert not verify_password(account.password_hash, PASSWORD)
    registrations = (
        (await db.execute(select(Registration).where(Registration.account_id == account_id)))
        .scalars()
        .all()
    )
    assert len(registrations) == 2
    for registration in registrations:
        for name in REGISTRATION_PERSONAL:
            assert getattr(registration, name) is None, name
        assert registration.erased_at is not None
        assert (registration.job_level, registration.country, registration.company_size) == (
            "director",
            "GB",
            "201-1000",
        )
    for model in (AuthSession, ApiToken):
        count = await db.execute(
            select(func.count()).select_from(model).where(model.account_id == account_id)
        )
        assert count.scalar_one() == 0
    # Someone else's registration is untouched.
    untouched = await db.get(Registration, other_id)
    assert untouched is not None
    assert untouched.email is not None

    # The old session is gone: the profile asks to log in again.
    profile = await client.get("/e/expo/profile")
    assert profile.status_code == 303
    assert profile.headers["location"].startswith("/login")
    assert event_id


async def test_delete_account_lets_the_email_register_again(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _attendee(db, client)
    data = {"confirm": "yes", "password": PASSWORD}
    assert (
        await client.post("/account/delete", data=with_csrf(app, client, data))
    ).status_code == 200
    await db.rollback()
    db.expire_all()
    gone = await db.execute(select(Account).where(Account.email == "ada@example.com"))
    assert gone.scalar_one_or_none() is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"password": PASSWORD}, "Tick the box to confirm"),
        ({"confirm": "yes", "password": "wrong password"}, "This is not your password."),
        ({"confirm": "yes"}, "This is not your password."),
    ],
)
async def test_delete_account_needs_confirmation_and_password(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: AsyncSession,
    data: dict[str, str],
    message: str,
) -> None:
    account_id, _ = await _attendee(db, client)
    response = await client.post("/account/delete", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert message in response.text
    await db.rollback()
    db.expire_all()
    account = await db.get(Account, account_id)
    assert account is not None
    assert (account.email, account.erased_at) == ("ada@example.com", None)


async def test_delete_account_without_csrf_is_403(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account_id, _ = await _attendee(db, client)
    response = await client.post("/account/delete", data={"confirm": "yes", "password": PASSWORD})
    assert response.status_code == 403
    await db.rollback()
    db.expire_all()
    account = await db.get(Account, account_id)
    assert account is not None
    assert account.erased_at is None


async def test_delete_account_anonymous_redirects_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/account/delete")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/delete"


async def test_erase_blanks_registered_columns_of_other_tables(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(privacy.PERSONAL_COLUMNS, "invitations", ["email"])
    monkeypatch.setitem(privacy.OWNER_COLUMNS, "invitations", ["accepted_by_id"])
    account = await make_account(db)
    event = await make_event(db)
    exhibitor = await make_exhibitor(db, event)
    mine, _ = await make_invitation(db, event, exhibitor=exhibitor, email="me@example.com")
    mine.accepted_by_id = account.id
    theirs, _ = await make_invitation(db, event, email="them@example.com")
    theirs.created_by_id = account.id  # acting on a row does not make it yours
    await grant(db, account, event, RoleName.staff, exhibitor.id)
    await db.commit()
    await privacy.erase(db, account=account)
    await db.commit()
    await db.rollback()
    db.expire_all()
    rows = (await db.execute(select(Invitation.email).order_by(Invitation.id))).scalars().all()
    assert list(rows) == [None, "them@example.com"]


def test_personal_and_owner_columns_name_real_columns() -> None:
    tables = Base.metadata.tables
    registries = [privacy.PERSONAL_COLUMNS, privacy.OWNER_COLUMNS]
    for table, columns in (item for registry in registries for item in registry.items()):
        assert table in tables, table
        for column in columns:
            assert column in tables[table].c, f"{table}.{column}"


def test_export_is_json_serialisable_for_every_type() -> None:
    row = {"at": utcnow(), "n": 1, "tags": ["a"], "token_hash": "x", "password_hash": "y"}
    cleaned = privacy._clean(row)
    assert set(cleaned) == {"at", "n", "tags"}
    json.dumps(cleaned)
