"""Organizers' schedule tools: the session form (create, edit; tracks by name), speakers,
and the CSV import with a per-row error report."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.csrf import verify_csrf
from app.auth.deps import Organizer
from app.auth.models import Account
from app.auth.schemas import lookup_email
from app.db import DbSession, RowId
from app.sessions import repository, schedule_import, session_forms
from app.sessions.errors import SessionNotFound
from app.sessions.models import ProgramSession, Speaker
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

MAX_BYTES = 1_000_000
PATH = "/e/{slug}/manage/sessions/import"


def _page(
    request: Request, membership: Organizer, report: schedule_import.Report | None, status: int
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "sessions/import.html",
        {
            "event": membership.event,
            "account": membership.account,
            "membership": membership,
            "nav": "agenda",
            "report": report,
            "columns": schedule_import.REQUIRED + schedule_import.OPTIONAL,
        },
        status_code=status,
    )


@router.get(PATH, response_class=HTMLResponse)
async def import_form(request: Request, membership: Organizer) -> HTMLResponse:
    return _page(request, membership, None, 200)


@router.post(PATH, response_class=HTMLResponse)
async def import_upload(
    request: Request,
    membership: Organizer,
    db: DbSession,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    raw = await file.read(MAX_BYTES + 1)
    report = schedule_import.Report()
    if len(raw) > MAX_BYTES:
        report.errors.append((1, "The file is larger than 1 MB."))
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            report.errors.append((1, "Save the file as UTF-8 CSV."))
        else:
            report = await schedule_import.import_schedule(db, event=membership.event, text=text)
    return _page(request, membership, report, 422 if report.errors else 200)


def _form_page(
    request: Request,
    membership: Organizer,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    sponsors: dict[str, str],
    session_id: int | None,
    status: int = 200,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "sessions/session_form.html",
        {
            "event": membership.event,
            "account": membership.account,
            "membership": membership,
            "nav": "agenda",
            "values": values,
            "errors": errors,
            "sponsors": sponsors,
            "session_id": session_id,
        },
        status_code=status,
    )


async def _submitted(request: Request) -> dict[str, str]:
    form = await request.form()
    return {name: str(form.get(name) or "").strip() for name in session_forms.FIELDS}


async def _own_session(db: AsyncSession, event_id: int, session_id: int) -> ProgramSession:
    session = await repository.get_session(db, event_id, session_id)
    if session is None:
        raise SessionNotFound()
    return session


@router.get("/e/{slug}/manage/sessions/new", response_class=HTMLResponse)
async def new_session(request: Request, membership: Organizer, db: DbSession) -> HTMLResponse:
    values = dict.fromkeys(session_forms.FIELDS, "")
    sponsors = await session_forms.sponsors_of(db, membership.event)
    return _form_page(
        request, membership, values=values, errors={}, sponsors=sponsors, session_id=None
    )


@router.get("/e/{slug}/manage/sessions/{session_id}/edit", response_class=HTMLResponse)
async def edit_session(
    request: Request, membership: Organizer, db: DbSession, session_id: RowId
) -> HTMLResponse:
    session = await _own_session(db, membership.event.id, session_id)
    values = await session_forms.values_of(db, membership.event, session)
    sponsors = await session_forms.sponsors_of(db, membership.event)
    return _form_page(
        request, membership, values=values, errors={}, sponsors=sponsors, session_id=session_id
    )


@router.post("/e/{slug}/manage/sessions/new", response_model=None)
@router.post("/e/{slug}/manage/sessions/{session_id}/edit", response_model=None)
async def save_session(
    request: Request, membership: Organizer, db: DbSession, session_id: RowId | None = None
) -> HTMLResponse | RedirectResponse:
    event = membership.event
    session = await _own_session(db, event.id, session_id) if session_id is not None else None
    values = await _submitted(request)
    sponsors = await session_forms.sponsors_of(db, event)
    errors = session_forms.check(values, ZoneInfo(event.timezone), sponsors)
    if errors:
        return _form_page(
            request,
            membership,
            values=values,
            errors=errors,
            sponsors=sponsors,
            session_id=session_id,
            status=422,
        )
    saved = await session_forms.save(db, event=event, form=values, session=session)
    return RedirectResponse(f"/e/{event.slug}/sessions/{saved.id}", status_code=303)


SPEAKER_FIELDS = {"name": 200, "title": 200, "company": 200, "bio": 4000}
ACCOUNT_EMAIL = "account_email"


async def _account_by_email(db: AsyncSession, email: str) -> Account | None:
    return (
        await db.execute(
            select(Account).where(Account.email == lookup_email(email), Account.erased_at.is_(None))
        )
    ).scalar_one_or_none()


async def _linked_emails(db: AsyncSession, speakers: list[Speaker]) -> dict[int, str]:
    """Speaker id -> the email of the account linked to it (linked speakers only)."""
    ids = {s.account_id for s in speakers if s.account_id is not None}
    if not ids:
        return {}
    rows = await db.execute(select(Account.id, Account.email).where(Account.id.in_(ids)))
    emails = {account_id: email or "" for account_id, email in rows.all()}
    return {
        s.id: emails[s.account_id]
        for s in speakers
        if s.account_id is not None and s.account_id in emails
    }


async def _speakers_page(
    request: Request,
    membership: Organizer,
    db: AsyncSession,
    *,
    editing: Speaker | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    speakers = list(await repository.speakers_of_event(db, membership.event.id))
    return templates.TemplateResponse(
        request,
        "sessions/speakers.html",
        {
            "event": membership.event,
            "account": membership.account,
            "membership": membership,
            "nav": "agenda",
            "speakers": speakers,
            "linked": await _linked_emails(db, speakers),
            "editing": editing,
            "values": values or {},
            "errors": errors or {},
        },
        status_code=422 if errors else 200,
    )


async def _speaker(db: AsyncSession, event_id: int, speaker_id: int) -> Speaker:
    speaker = await db.get(Speaker, speaker_id)
    if speaker is None or speaker.event_id != event_id:
        raise SessionNotFound("There is no such speaker at this event.")
    return speaker


@router.get("/e/{slug}/manage/speakers", response_class=HTMLResponse)
async def speakers(
    request: Request, membership: Organizer, db: DbSession, edit: int | None = None
) -> HTMLResponse:
    editing = await _speaker(db, membership.event.id, edit) if edit is not None else None
    values = None
    if editing is not None:
        values = {k: getattr(editing, k) for k in SPEAKER_FIELDS}
        values[ACCOUNT_EMAIL] = (await _linked_emails(db, [editing])).get(editing.id, "")
    return await _speakers_page(request, membership, db, editing=editing, values=values)


@router.post("/e/{slug}/manage/speakers", response_model=None)
async def save_speaker(
    request: Request, membership: Organizer, db: DbSession, edit: int | None = None
) -> HTMLResponse | RedirectResponse:
    """Create a speaker, or (with ?edit=id) update one: name, title, company, bio, and the
    account (by email) that may run the speaker's polls and Q&A; an empty email unlinks."""
    editing = await _speaker(db, membership.event.id, edit) if edit is not None else None
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in SPEAKER_FIELDS}
    errors = {
        k: f"At most {limit} characters."
        for k, limit in SPEAKER_FIELDS.items()
        if len(values[k]) > limit
    }
    if not values["name"]:
        errors["name"] = "Enter the speaker's name."
    email = str(form.get(ACCOUNT_EMAIL) or "").strip()
    account = None
    if len(email) > 320:
        errors[ACCOUNT_EMAIL] = "At most 320 characters."
    elif email:
        account = await _account_by_email(db, email)
        if account is None:
            errors[ACCOUNT_EMAIL] = "There is no account with this email address."
    if errors:
        values[ACCOUNT_EMAIL] = email
        return await _speakers_page(
            request, membership, db, editing=editing, values=values, errors=errors
        )
    speaker = editing or Speaker(event_id=membership.event.id)
    for key, value in values.items():
        setattr(speaker, key, value)
    speaker.account_id = account.id if account is not None else None
    db.add(speaker)
    await db.flush()
    return RedirectResponse(f"/e/{membership.event.slug}/manage/speakers", status_code=303)
