"""Registration and profile pages: every field's validation, accounts, consents."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import SESSION_COOKIE
from app.auth.models import Account
from app.auth.security import verify_password
from app.events.models import EventStatus, Registration, Role, RoleName
from tests.events.forms import field_error, registration_data, with_csrf
from tests.factories import login_as, make_account, make_event, make_registration

REQUIRED_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "company",
    "job_title",
    "job_level",
    "company_type",
    "company_size",
    "industry",
    "country",
    "budget",
    "timeframe",
]


async def _registrations(db: AsyncSession) -> list[Registration]:
    await db.rollback()
    db.expire_all()
    return list((await db.execute(select(Registration).order_by(Registration.id))).scalars())


async def _count(db: AsyncSession, model: type[Account] | type[Role]) -> int:
    await db.rollback()
    db.expire_all()
    return int((await db.execute(select(func.count()).select_from(model))).scalar_one())


async def test_register_page_lists_every_field(client: httpx.AsyncClient, db: AsyncSession) -> None:
    event = await make_event(db, slug="expo")
    await db.commit()
    response = await client.get("/e/expo/register")
    assert response.status_code == 200
    for name in [*REQUIRED_FIELDS, "phone", "interests", "password"]:
        assert f'name="{name}"' in response.text
    assert "Share my contact details with exhibitors I interact with" in response.text
    assert "Send me marketing email" in response.text
    assert '<option value="DE">Germany</option>' in response.text
    assert event.name in response.text


async def test_register_anonymous_creates_account_and_logs_in(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="expo")
    await db.commit()
    data = registration_data(password="a long enough secret")
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 303
    assert response.headers["location"] == "/e/expo"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    [registration] = await _registrations(db)
    assert (registration.first_name, registration.email) == ("Grace", "grace@example.com")
    assert registration.interests == ["compilers", "COBOL"]
    assert registration.phone == "+1 (555) 123-4567"
    account = await db.get(Account, registration.account_id)
    assert account is not None
    assert account.email == "grace@example.com"
    assert verify_password(account.password_hash, "a long enough secret")
    roles = (await db.execute(select(Role.role).where(Role.account_id == account.id))).scalars()
    assert list(roles) == [RoleName.attendee]
    profile = await client.get("/e/expo/profile")
    assert profile.status_code == 200
    assert 'value="Navy Computing"' in profile.text


async def test_register_anonymous_needs_long_password(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="expo")
    await db.commit()
    data = registration_data(password="short")
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, "password") == "Use at least 10 characters."
    assert await _count(db, Account) == 0


@pytest.mark.parametrize("name", REQUIRED_FIELDS)
async def test_register_missing_required_field_is_422(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, name: str
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(**{name: ""})
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, name) == "This field is required."
    assert 'value="Navy Computing"' in response.text or name == "company"
    assert await _registrations(db) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("job_level", "Choose a job level from the list."),
        ("company_type", "Choose a company type from the list."),
        ("company_size", "Choose a company size from the list."),
        ("industry", "Choose an industry from the list."),
        ("budget", "Choose a budget status from the list."),
        ("timeframe", "Choose a purchase timeframe from the list."),
    ],
)
async def test_register_value_outside_vocabulary_is_422(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, name: str, message: str
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(**{name: "bogus"})
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, name) == message


@pytest.mark.parametrize("country", ["XX", "Germany", "D"])
async def test_register_unknown_country_is_422(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, country: str
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(country=country)
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, "country") in (
        "Choose a country from the list.",
        "Use at most 2 characters (you entered 7).",
    )


async def test_register_country_code_is_case_insensitive(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(country="de")
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 303
    [registration] = await _registrations(db)
    assert registration.country == "DE"


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("call me maybe", "Use digits, spaces and + ( ) - . only, like +49 30 1234567."),
        ("+49 30 <b>1</b>", "Use digits, spaces and + ( ) - . only, like +49 30 1234567."),
        ("()-", "Use digits, spaces and + ( ) - . only, like +49 30 1234567."),
        ("1" * 41, "Use at most 40 characters (you entered 41)."),
    ],
)
async def test_register_bad_phone_is_422(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, phone: str, message: str
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(phone=phone)
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, "phone") == message


async def test_register_without_phone_and_interests(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(phone="", interests="")
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 303
    [registration] = await _registrations(db)
    assert (registration.phone, registration.interests) == (None, [])


@pytest.mark.parametrize(
    ("first", "last"),
    [("Zoë", "Ångström-Łukasiewicz"), ("李", "小龍"), ("Ólafur", "Þórðarson"), ("Nguyễn", "Văn A")],
)
async def test_register_accepts_unicode_names(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, first: str, last: str
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(first_name=first, last_name=last)
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 303
    [registration] = await _registrations(db)
    assert (registration.first_name, registration.last_name) == (first, last)


@pytest.mark.parametrize(
    ("name", "size", "limit"),
    [
        ("first_name", 101, 100),
        ("last_name", 5000, 100),
        ("company", 201, 200),
        ("job_title", 100_000, 200),
    ],
)
async def test_register_overlong_input_is_422_with_message(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, name: str, size: int, limit: int
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(**{name: "é" * size})
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    expected = f"Use at most {limit} characters (you entered {size})."
    assert field_error(response.text, name) == expected
    assert await _registrations(db) == []


async def test_register_overlong_email_is_422(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(email="a" * 400 + "@example.com")
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, "email") == "Use at most 320 characters (you entered 412)."


@pytest.mark.parametrize("email", ["not-an-email", "grace@", "@example.com", "a b@example.com"])
async def test_register_invalid_email_is_422(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, email: str
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(email=email)
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, "email") == (
        "Enter a valid email address, like name@example.com."
    )


@pytest.mark.parametrize(
    ("interests", "message"),
    [
        (",".join(f"t{i}" for i in range(11)), "Enter at most 10 interests."),
        ("x" * 41, "Keep each interest to at most 40 characters."),
    ],
)
async def test_register_bad_interests_is_422(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, interests: str, message: str
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(interests=interests)
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, "interests") == message


async def test_register_interests_are_trimmed_and_deduplicated(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(interests=" AI ,ai,  cloud   security ,, ")
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 303
    [registration] = await _registrations(db)
    assert registration.interests == ["AI", "cloud security"]


@pytest.mark.parametrize("name", ["Gr\x00ace", "Gr\x1bace", "\u202eecarG"])
async def test_register_control_characters_are_422(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, name: str
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(first_name=name)
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, "first_name") == (
        "Remove the control characters from this text."
    )


async def test_register_error_keeps_entered_values(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(first_name="Zoë", job_level="bogus", company='<b>"Acme"</b>')
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert 'value="Zoë"' in response.text
    assert 'value="&lt;b&gt;&#34;Acme&#34;&lt;/b&gt;"' in response.text
    assert '<option value="US" selected>' in response.text
    assert "Please correct 1 field." in response.text


async def test_register_again_updates_the_same_registration(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db, email="grace@example.com")
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    first = await client.post("/e/expo/register", data=with_csrf(app, client, registration_data()))
    assert first.status_code == 303
    again = await client.post(
        "/e/expo/register", data=with_csrf(app, client, registration_data(company="Univac"))
    )
    assert again.status_code == 303
    [registration] = await _registrations(db)
    assert registration.company == "Univac"
    assert await _count(db, Role) == 1


async def test_register_email_of_other_account_is_refused_anonymous(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_account(db, email="grace@example.com")
    await make_event(db, slug="expo")
    await db.commit()
    data = registration_data(email="Grace@Example.com", password="a long enough secret")
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert "already exists. Log in with it" in field_error(response.text, "email")
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert await _registrations(db) == []
    assert await _count(db, Account) == 1


async def test_register_email_of_other_account_is_refused_logged_in(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_account(db, email="grace@example.com")
    mallory = await make_account(db, email="mallory@example.com")
    await make_event(db, slug="expo")
    await login_as(db, client, mallory)
    response = await client.post(
        "/e/expo/register", data=with_csrf(app, client, registration_data())
    )
    assert response.status_code == 422
    assert "already exists" in field_error(response.text, "email")
    assert await _registrations(db) == []


async def test_register_email_registered_by_someone_else_is_refused(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="expo")
    await make_registration(db, event, email="shared@example.com")
    other = await make_account(db)
    await login_as(db, client, other)
    data = registration_data(email="shared@example.com")
    response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert field_error(response.text, "email") == (
        "This email address is already registered for this event by someone else."
    )


async def test_register_with_own_other_email_keeps_one_registration(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db, email="grace@example.com")
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    for email in ("grace@example.com", "grace.work@example.com"):
        data = registration_data(email=email)
        response = await client.post("/e/expo/register", data=with_csrf(app, client, data))
        assert response.status_code == 303
    [registration] = await _registrations(db)
    assert registration.email == "grace.work@example.com"


async def test_register_for_draft_event_is_404(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await make_event(db, slug="secret", status=EventStatus.draft)
    await db.commit()
    assert (await client.get("/e/secret/register")).status_code == 404
    assert (await client.get("/e/nowhere/register")).status_code == 404


async def test_register_without_csrf_token_is_403(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="expo")
    await db.commit()
    data = registration_data(password="a long enough secret")
    response = await client.post("/e/expo/register", data=data)
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert await _registrations(db) == []


async def test_consents_are_stored_with_times_and_cleared_on_revoke(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db, email="grace@example.com")
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(consent_share="yes", consent_marketing="yes")
    assert (
        await client.post("/e/expo/register", data=with_csrf(app, client, data))
    ).status_code == 303
    [registration] = await _registrations(db)
    shared_at = registration.consent_share_at
    assert shared_at is not None
    assert registration.consent_marketing_at is not None

    # Saving again keeps the time the consent was first given.
    response = await client.post("/e/expo/profile", data=with_csrf(app, client, data))
    assert response.status_code == 303
    assert response.headers["location"] == "/e/expo/profile?saved=1"
    [registration] = await _registrations(db)
    assert registration.consent_share_at == shared_at

    revoked = registration_data(consent_share=None)  # type: ignore[arg-type]
    response = await client.post("/e/expo/profile", data=with_csrf(app, client, revoked))
    assert response.status_code == 303
    [registration] = await _registrations(db)
    assert registration.consent_share_at is None
    assert registration.consent_marketing_at is None


async def test_register_without_consents_stores_none(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    data = registration_data(consent_share=None)  # type: ignore[arg-type]
    assert (
        await client.post("/e/expo/register", data=with_csrf(app, client, data))
    ).status_code == 303
    [registration] = await _registrations(db)
    assert (registration.consent_share_at, registration.consent_marketing_at) == (None, None)


async def test_profile_page_shows_saved_values(client: httpx.AsyncClient, db: AsyncSession) -> None:
    event = await make_event(db, slug="expo")
    registration = await make_registration(db, event, interests=["ai", "cloud"])
    account = await db.get(Account, registration.account_id)
    assert account is not None
    await login_as(db, client, account)
    response = await client.get("/e/expo/profile?saved=1")
    assert response.status_code == 200
    assert "Your profile is saved." in response.text
    assert 'value="Analytical Engines Ltd"' in response.text
    assert 'value="ai, cloud"' in response.text
    assert 'id="f-consent_share" name="consent_share" type="checkbox" value="yes" checked' in (
        response.text
    )
    assert "/account/data.json" in response.text


async def test_profile_edit_validates_fields(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="expo")
    registration = await make_registration(db, event)
    account = await db.get(Account, registration.account_id)
    assert account is not None
    await login_as(db, client, account)
    data = registration_data(email=account.email or "", job_title="x" * 300)
    response = await client.post("/e/expo/profile", data=with_csrf(app, client, data))
    assert response.status_code == 422
    assert (
        field_error(response.text, "job_title") == "Use at most 200 characters (you entered 300)."
    )
    assert 'name="password"' not in response.text


async def test_profile_without_registration_redirects_to_register(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    account = await make_account(db)
    await make_event(db, slug="expo")
    await login_as(db, client, account)
    response = await client.get("/e/expo/profile")
    assert response.status_code == 303
    assert response.headers["location"] == "/e/expo/register"


async def test_profile_anonymous_redirects_to_login(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="expo")
    await db.commit()
    response = await client.get("/e/expo/profile")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/e/expo/profile"
