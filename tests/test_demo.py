"""The demo event: what `expohall demo` loads, its logins, --if-empty and --reset."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from app.auth.deps import SESSION_COOKIE
from app.auth.models import Account
from app.booths.models import Booth, Exhibitor, Resource
from app.cli import cli
from app.config import Settings
from app.db import utcnow
from app.demo import DEMO_PASSWORD, DEMO_SLUG, load_demo
from app.demo.attendees import Persona, attendee_profiles
from app.demo.loader import _add_attendees
from app.events.models import Event, EventStatus, Registration, Role, RoleName
from app.events.vocab import COMPANY_SIZES
from app.sessions.models import ProgramSession, session_speakers
from tests.conftest import TEST_SECRET
from tests.factories import csrf_for, make_event

LOGINS = ["organizer@expohall.test", "staff@expohall.test", "attendee@expohall.test"]


async def _count(db: AsyncSession, model: type[object]) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def _demo(db: AsyncSession) -> Event:
    return (await db.execute(select(Event).where(Event.slug == DEMO_SLUG))).scalar_one()


async def test_demo_creates_booths_across_tiers(
    app: FastAPI, settings: Settings, db: AsyncSession
) -> None:
    await load_demo(settings, reset=False, if_empty=False, activity=False)

    event = await _demo(db)
    assert event.status == EventStatus.live
    assert event.timezone == "Europe/Berlin"
    tiers = Counter((await db.scalars(select(Booth.tier).where(Booth.event_id == event.id))).all())
    assert tiers == {"platinum": 2, "gold": 3, "silver": 4, "bronze": 6}
    booths = (await db.scalars(select(Booth))).all()
    assert all(b.tags and b.tagline and b.description for b in booths)
    assert all(set(b.ideal_sizes) <= set(COMPANY_SIZES) for b in booths)
    assert any(b.territory == [] for b in booths)  # worldwide
    assert any("US" in b.territory and "DE" not in b.territory for b in booths)
    assert any("DE" in b.territory and "US" not in b.territory for b in booths)
    competitors = (await db.scalars(select(Exhibitor.competitor_domains))).all()
    assert sum(1 for domains in competitors if domains) >= 2


async def test_demo_resources_cover_every_buying_stage_with_real_files(
    app: FastAPI, settings: Settings, db: AsyncSession
) -> None:
    await load_demo(settings, reset=False, if_empty=False, activity=False)

    resources = (await db.scalars(select(Resource))).all()
    assert {r.stage for r in resources} == {"research", "evaluation", "decision"}
    assert {r.kind for r in resources} == {"document", "video", "link"}
    per_booth = Counter(r.booth_id for r in resources)
    assert all(2 <= n <= 4 for n in per_booth.values())
    documents = [r for r in resources if r.kind == "document"]
    assert documents
    for document in documents:
        assert document.file_path is not None
        content = (settings.uploads_dir / document.file_path).read_bytes()
        assert content.startswith(b"%PDF-1.4")
        assert content.rstrip().endswith(b"%%EOF")
        assert document.size_bytes == len(content)
        assert document.content_type == "application/pdf"
    assert all(r.url.startswith("https://") for r in resources if r.kind != "document")


async def test_demo_program_spans_two_days_with_a_session_on_now(
    app: FastAPI, settings: Settings, db: AsyncSession
) -> None:
    await load_demo(settings, reset=False, if_empty=False, activity=False)

    event = await _demo(db)
    sessions = (await db.scalars(select(ProgramSession))).all()
    berlin = ZoneInfo("Europe/Berlin")
    days = {s.starts_at.astimezone(berlin).date() for s in sessions}
    today = utcnow().astimezone(berlin).date()
    assert len(sessions) >= 10
    assert today + dt.timedelta(days=1) in days
    assert len(days) >= 2
    assert len({s.track for s in sessions}) == 3
    now = utcnow()
    assert any(s.starts_at <= now < s.ends_at for s in sessions)
    assert all(event.starts_at <= s.starts_at and s.ends_at <= event.ends_at for s in sessions)
    assert event.starts_at <= now < event.ends_at
    assert sum(1 for s in sessions if s.sponsor_exhibitor_id is not None) >= 3
    assert all(s.stream_url.startswith("https://") for s in sessions)
    speaker_links = (await db.execute(select(session_speakers))).all()
    assert {link.session_id for link in speaker_links} == {s.id for s in sessions}


@pytest.mark.parametrize("email", LOGINS)
async def test_demo_login_works(
    app: FastAPI, settings: Settings, client: httpx.AsyncClient, email: str
) -> None:
    await load_demo(settings, reset=False, if_empty=False, activity=False)

    data = {"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_for(app, client)}
    response = await client.post("/login", data=data)

    assert response.status_code == 303
    assert client.cookies.get(SESSION_COOKIE)
    me = await client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["email"] == email


async def test_demo_accounts_have_their_roles(
    app: FastAPI, settings: Settings, db: AsyncSession
) -> None:
    await load_demo(settings, reset=False, if_empty=False, activity=False)

    event = await _demo(db)
    accounts = {
        a.email: a
        for a in (await db.scalars(select(Account).where(Account.email.in_(LOGINS)))).all()
    }
    roles = {
        (r.account_id, r.role): r
        for r in (await db.scalars(select(Role).where(Role.event_id == event.id))).all()
    }
    organizer = accounts["organizer@expohall.test"]
    assert organizer.is_admin
    assert (organizer.id, RoleName.organizer) in roles
    staff_role = roles[(accounts["staff@expohall.test"].id, RoleName.staff)]
    assert staff_role.exhibitor_id is not None
    staff_booth = (
        await db.execute(select(Booth).where(Booth.exhibitor_id == staff_role.exhibitor_id))
    ).scalar_one()
    assert staff_booth.tier == "platinum"
    attendee = accounts["attendee@expohall.test"]
    registration = (
        await db.execute(select(Registration).where(Registration.account_id == attendee.id))
    ).scalar_one()
    assert registration.consent_share_at is not None
    assert registration.consent_marketing_at is not None
    assert registration.first_name
    assert registration.company
    assert registration.job_title
    assert not accounts["staff@expohall.test"].is_admin
    assert not attendee.is_admin


async def test_demo_registers_three_hundred_varied_attendees(
    app: FastAPI, settings: Settings, db: AsyncSession
) -> None:
    await load_demo(settings, reset=False, if_empty=False, activity=False)

    registrations = (await db.scalars(select(Registration))).all()
    assert len(registrations) == 301  # 300 generated + the attendee login
    assert len({r.email for r in registrations}) == 301
    assert {r.job_level for r in registrations} >= {"c_level", "director", "student"}
    assert {r.company_type for r in registrations} >= {"end_user", "competitor", "partner"}
    assert Counter(r.consent_share_at is None for r in registrations)[True] > 10
    assert await _count(db, Account) == 306


def test_attendee_profiles_are_repeatable_and_cover_every_persona() -> None:
    profiles = attendee_profiles(300)

    assert profiles == attendee_profiles(300)
    assert len(profiles) == 300
    assert {p.persona for p in profiles} == set(Persona)
    assert all(p.email.isascii() and p.email.endswith(".example") for p in profiles)


async def test_add_attendees_hook_returns_each_registration_with_its_persona(
    app: FastAPI, db: AsyncSession
) -> None:
    event = await make_event(db)

    attendees = await _add_attendees(
        db, event, password_hash="stored-as-given", now=utcnow(), count=40
    )
    await db.commit()

    assert len(attendees) == 40
    registrations = {
        r.id: r
        for r in (
            await db.scalars(select(Registration).where(Registration.event_id == event.id))
        ).all()
    }
    for attendee in attendees:
        registration = registrations[attendee.registration_id]
        assert registration.account_id == attendee.account_id
        assert registration.email == attendee.profile.email
    assert len({a.profile.persona for a in attendees}) >= 5
    roles = await db.scalars(select(Role.role).where(Role.event_id == event.id))
    assert Counter(roles.all()) == {"attendee": 40}


async def test_demo_if_empty_does_not_duplicate(
    app: FastAPI, settings: Settings, db: AsyncSession
) -> None:
    first = await load_demo(settings, reset=False, if_empty=True, activity=False)
    second = await load_demo(settings, reset=False, if_empty=True, activity=False)

    assert first.startswith("Loaded the demo event.")
    assert second.startswith("The demo event is already loaded.")
    assert all(email in second for email in LOGINS)
    assert await _count(db, Event) == 1
    assert await _count(db, Booth) == 15
    assert await _count(db, Account) == 306


async def test_demo_if_empty_leaves_a_database_with_events_alone(
    app: FastAPI, settings: Settings, db: AsyncSession
) -> None:
    await make_event(db, slug="our-own-show")
    await db.commit()

    summary = await load_demo(settings, reset=False, if_empty=True, activity=False)

    assert "the demo was not loaded" in summary
    assert (await db.scalars(select(Event.slug))).all() == ["our-own-show"]


async def test_demo_reset_reloads_cleanly(
    app: FastAPI, settings: Settings, db: AsyncSession
) -> None:
    await load_demo(settings, reset=False, if_empty=False, activity=False)
    other = await make_event(db, slug="kept-show")
    await db.commit()
    stray = settings.uploads_dir / "demo" / DEMO_SLUG / "stray.pdf"
    stray.write_bytes(b"left over")

    summary = await load_demo(settings, reset=True, if_empty=False, activity=False)

    assert summary.startswith("Loaded the demo event.")
    assert sorted((await db.scalars(select(Event.slug))).all()) == [DEMO_SLUG, "kept-show"]
    assert await db.get(Event, other.id) is not None
    assert await _count(db, Booth) == 15
    assert await _count(db, Account) == 306
    assert await _count(db, Registration) == 301
    assert not stray.exists()
    assert any((settings.uploads_dir / "demo" / DEMO_SLUG).rglob("*.pdf"))


def test_cli_demo_prints_the_logins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    env = {
        "EXPOHALL_SECRET_KEY": TEST_SECRET,
        "EXPOHALL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "EXPOHALL_DATA_DIR": str(tmp_path / "var"),
        "EXPOHALL_BASE_URL": "http://expo.test:8000",
    }
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"], env=env).exit_code == 0

    first = runner.invoke(cli, ["demo", "--if-empty", "--no-activity"], env=env)
    again = runner.invoke(cli, ["demo", "--if-empty", "--no-activity"], env=env)

    for result in (first, again):
        assert result.exit_code == 0, result.output
        assert "http://expo.test:8000/e/ai-expo" in result.output
        for email in LOGINS:
            assert f"{email}" in result.output
        assert result.output.count(DEMO_PASSWORD) >= len(LOGINS)
    assert "Loaded the demo event." in first.output
    assert "already loaded" in again.output


def test_cli_demo_with_activity_keeps_its_output_to_the_logins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hundreds of simulated attendees reach MQL while it loads; none of that is printed."""
    monkeypatch.chdir(tmp_path)
    env = {
        "EXPOHALL_SECRET_KEY": TEST_SECRET,
        "EXPOHALL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "EXPOHALL_DATA_DIR": str(tmp_path / "var"),
    }
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"], env=env).exit_code == 0
    logging_before = structlog.get_config()
    try:
        result = runner.invoke(cli, ["demo"], env=env)
    finally:
        structlog.configure(**logging_before)  # the command configured it for its process
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Loaded the demo event.")
    assert "mql_reached" not in result.output
