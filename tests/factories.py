"""Factories: plain async functions that insert rows with believable defaults."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.csrf import COOKIE as CSRF_COOKIE
from app.auth.deps import SESSION_COOKIE
from app.auth.models import Account, AuthSession
from app.auth.security import digest, hash_password, new_token, sign
from app.booths.models import Booth, Exhibitor
from app.db import utcnow
from app.events.models import Event, EventStatus, Registration, Role, RoleName
from app.sessions.models import ProgramSession, Speaker, session_speakers

_seq = itertools.count(1)
PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)


async def make_account(db: AsyncSession, **values: Any) -> Account:
    n = next(_seq)
    values.setdefault("email", f"person{n}@example.com")
    values.setdefault("display_name", f"Person {n}")
    values.setdefault("password_hash", _PASSWORD_HASH)
    account = Account(**values)
    db.add(account)
    await db.flush()
    return account


async def make_event(db: AsyncSession, **values: Any) -> Event:
    n = next(_seq)
    start = values.pop("starts_at", utcnow() - dt.timedelta(hours=2))
    values.setdefault("slug", f"expo-{n}")
    values.setdefault("name", f"Expo {n}")
    values.setdefault("ends_at", start + dt.timedelta(days=2))
    values.setdefault("timezone", "Europe/Berlin")
    values.setdefault("status", EventStatus.live)
    event = Event(starts_at=start, **values)
    db.add(event)
    await db.flush()
    return event


async def make_exhibitor(db: AsyncSession, event: Event, **values: Any) -> Exhibitor:
    n = next(_seq)
    booth_values = values.pop("booth", {})
    values.setdefault("name", f"Acme {n}")
    values.setdefault("slug", f"acme-{n}")
    exhibitor = Exhibitor(event_id=event.id, **values)
    db.add(exhibitor)
    await db.flush()
    db.add(Booth(event_id=event.id, exhibitor_id=exhibitor.id, **booth_values))
    await db.flush()
    return exhibitor


async def grant(
    db: AsyncSession,
    account: Account,
    event: Event,
    role: RoleName,
    exhibitor_id: int | None = None,
) -> Role:
    row = Role(event_id=event.id, account_id=account.id, role=role, exhibitor_id=exhibitor_id)
    db.add(row)
    await db.flush()
    return row


async def make_registration(
    db: AsyncSession, event: Event, account: Account | None = None, **values: Any
) -> Registration:
    if account is None:
        account = await make_account(db)
    values.setdefault("email", account.email)
    values.setdefault("first_name", "Ada")
    values.setdefault("last_name", "Lovelace")
    values.setdefault("company", "Analytical Engines Ltd")
    values.setdefault("job_title", "Head of Engineering")
    values.setdefault("job_level", "director")
    values.setdefault("company_type", "end_user")
    values.setdefault("company_size", "201-1000")
    values.setdefault("industry", "software")
    values.setdefault("country", "GB")
    values.setdefault("budget", "approved")
    values.setdefault("timeframe", "3_6m")
    values.setdefault("consent_share_at", utcnow())
    registration = Registration(event_id=event.id, account_id=account.id, **values)
    db.add(registration)
    await grant(db, account, event, RoleName.attendee)
    await db.flush()
    return registration


async def login_as(db: AsyncSession, client: httpx.AsyncClient, account: Account) -> None:
    """Give `client` a logged-in session cookie for `account` (the login form has its own tests)."""
    token = new_token()
    db.add(
        AuthSession(
            token_hash=digest(token),
            account_id=account.id,
            expires_at=utcnow() + dt.timedelta(days=1),
        )
    )
    await db.commit()
    client.cookies.set(SESSION_COOKIE, token)


def csrf_for(app: FastAPI, client: httpx.AsyncClient) -> str:
    """The form token matching the client's CSRF cookie, creating the cookie if needed."""
    value = client.cookies.get(CSRF_COOKIE)
    if value is None:
        value = new_token(24)
        client.cookies.set(CSRF_COOKIE, value)
    return sign(app.state.settings.secret, value)


async def make_speaker(db: AsyncSession, event: Event, **values: Any) -> Speaker:
    n = next(_seq)
    values.setdefault("name", f"Speaker {n}")
    values.setdefault("title", "Principal Engineer")
    values.setdefault("company", "Initech")
    speaker = Speaker(event_id=event.id, **values)
    db.add(speaker)
    await db.flush()
    return speaker


async def make_session(
    db: AsyncSession, event: Event, speakers: Sequence[Speaker] = (), **values: Any
) -> ProgramSession:
    """A program session starting in an hour unless told; `speakers` are linked to it."""
    n = next(_seq)
    start = values.pop("starts_at", utcnow() + dt.timedelta(hours=1))
    values.setdefault("title", f"Session {n}")
    values.setdefault("ends_at", start + dt.timedelta(minutes=45))
    session = ProgramSession(event_id=event.id, starts_at=start, **values)
    db.add(session)
    await db.flush()
    for speaker in speakers:
        await db.execute(
            session_speakers.insert().values(session_id=session.id, speaker_id=speaker.id)
        )
    await db.flush()
    return session


async def make_api_token(db: AsyncSession, account: Account, name: str = "Integration") -> str:
    """Give `account` an API token; returns the secret a client sends as a Bearer token."""
    from app.auth.models import ApiToken

    secret = "exh_" + new_token(32)
    db.add(
        ApiToken(account_id=account.id, name=name, prefix=secret[:12], token_hash=digest(secret))
    )
    await db.flush()
    return secret


from app.events.models import Invitation  # noqa: E402  (appended: events)


async def make_invitation(
    db: AsyncSession,
    event: Event,
    *,
    role: RoleName = RoleName.staff,
    exhibitor: Exhibitor | None = None,
    email: str | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[Invitation, str]:
    """An invitation to `event` and the token of its link (only the digest is stored)."""
    token = new_token()
    invitation = Invitation(
        event_id=event.id,
        role=role,
        exhibitor_id=exhibitor.id if exhibitor is not None else None,
        email=email,
        token_hash=digest(token),
        expires_at=expires_at or utcnow() + dt.timedelta(days=14),
    )
    db.add(invitation)
    await db.flush()
    return invitation, token


async def session_token(db: AsyncSession, account: Account) -> str:
    """A committed login for `account`; the value of its session cookie (for websockets)."""
    token = new_token()
    db.add(
        AuthSession(
            token_hash=digest(token),
            account_id=account.id,
            expires_at=utcnow() + dt.timedelta(days=1),
        )
    )
    await db.commit()
    return token


from app.booths.models import Resource  # noqa: E402  (appended: leads)


async def make_resource(db: AsyncSession, exhibitor: Exhibitor, **values: Any) -> Resource:
    """A resource on the exhibitor's booth."""
    from sqlalchemy import select

    booth = (await db.execute(select(Booth).where(Booth.exhibitor_id == exhibitor.id))).scalar_one()
    n = next(_seq)
    values.setdefault("kind", "document")
    values.setdefault("title", f"Datasheet {n}")
    values.setdefault("stage", "research")
    resource = Resource(booth_id=booth.id, **values)
    db.add(resource)
    await db.flush()
    return resource


from app.leads.models import EVENT_SCOPE, Lead, LeadTransition  # noqa: E402  (appended: lead pages)


async def make_staff(
    db: AsyncSession, event: Event, exhibitor: Exhibitor, **values: Any
) -> Account:
    """An account that is staff of `exhibitor` at `event`."""
    account = await make_account(db, **values)
    await grant(db, account, event, RoleName.staff, exhibitor.id)
    return account


async def make_lead(
    db: AsyncSession,
    event: Event,
    registration: Registration,
    exhibitor: Exhibitor | None = None,
    *,
    moves: Sequence[tuple[str, str, str | None, Account | None, dt.datetime]] = (),
    **values: Any,
) -> Lead:
    """A lead row as scoring left it (no activities); `moves` are its logged transitions as
    (from_stage, to_stage, reason, actor, at)."""
    values.setdefault("cell", "D4")
    values.setdefault("grade", values["cell"][0] if values["cell"] != "F" else "F")
    values.setdefault("tier", int(values["cell"][1]) if values["cell"] != "F" else 4)
    values.setdefault("stage", "inquiry")
    lead = Lead(
        event_id=event.id,
        registration_id=registration.id,
        exhibitor_id=exhibitor.id if exhibitor else None,
        scope=exhibitor.id if exhibitor else EVENT_SCOPE,
        state={},
        contributions=[],
        **values,
    )
    db.add(lead)
    await db.flush()
    for from_stage, to_stage, reason, actor, at in moves:
        db.add(
            LeadTransition(
                lead_id=lead.id,
                from_stage=from_stage,
                to_stage=to_stage,
                reason=reason,
                actor_id=actor.id if actor else None,
                at=at,
            )
        )
    await db.flush()
    return lead


from app.booths.models import MeetingSlot  # noqa: E402  (appended: booths)


async def make_slot(
    db: AsyncSession,
    exhibitor: Exhibitor,
    staff: Account | None = None,
    *,
    starts_at: dt.datetime | None = None,
    minutes: int = 30,
) -> MeetingSlot:
    """A published meeting slot of `exhibitor`, tomorrow unless told."""
    start = starts_at or (utcnow() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    slot = MeetingSlot(
        exhibitor_id=exhibitor.id,
        staff_account_id=staff.id if staff is not None else None,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=minutes),
    )
    db.add(slot)
    await db.flush()
    return slot


async def make_booth_visitor(db: AsyncSession) -> tuple[Event, Exhibitor, Registration]:
    """An event with one exhibitor and one attendee who has visited its booth (recorded by
    the lead engine: the attendee's event lead and exhibitor lead exist, scored)."""
    from app.leads.service import record

    event = await make_event(db)
    exhibitor = await make_exhibitor(db, event)
    registration = await make_registration(db, event)
    await record(
        db,
        event=event,
        registration=registration,
        type="booth.visit",
        exhibitor_id=exhibitor.id,
        idempotency_key="visit",
    )
    return event, exhibitor, registration
