"""HTML pages of events: organizer event forms, staff invitations, registration, privacy."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.auth import csrf
from app.auth.csrf import verify_csrf
from app.auth.deps import SESSION_COOKIE, CurrentAccount, MaybeAccount, Organizer
from app.auth.models import Account
from app.auth.security import verify_password
from app.auth.service import account as account_service
from app.db import DbSession, utcnow
from app.events import privacy, vocab
from app.events.errors import CannotCreateEvents, FieldsInvalid, SlugTaken
from app.events.models import Event, EventStatus, Registration, RoleName
from app.events.schemas import (
    PROFILE_FIELDS,
    EventCreate,
    EventUpdate,
    InvitationCreate,
    RegistrationForm,
    check_password,
    form_errors,
    timezones,
)
from app.events.service import event as event_service
from app.events.service import invitation as invitation_service
from app.events.service import registration as registration_service
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

LOCAL_INPUT = "%Y-%m-%dT%H:%M"
VOCABULARIES = {
    "job_levels": vocab.JOB_LEVELS,
    "company_types": vocab.COMPANY_TYPES,
    "company_sizes": vocab.COMPANY_SIZES,
    "industries": vocab.INDUSTRIES,
    "budgets": vocab.BUDGETS,
    "timeframes": vocab.TIMEFRAMES,
}


def _render(
    request: Request, name: str, context: Mapping[str, Any], status: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, f"events/{name}", dict(context), status_code=status)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# Organizer: create and edit events -------------------------------------------------------


def _event_values(event: Event) -> dict[str, str]:
    zone = ZoneInfo(event.timezone)
    return {
        "name": event.name,
        "slug": event.slug,
        "timezone": event.timezone,
        "starts_at": event.starts_at.astimezone(zone).strftime(LOCAL_INPUT),
        "ends_at": event.ends_at.astimezone(zone).strftime(LOCAL_INPUT),
        "tagline": event.tagline,
        "description": event.description,
        "status": event.status,
    }


def _event_form(
    request: Request,
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    event: Event | None = None,
    status: int = 200,
    flash: str | None = None,
) -> HTMLResponse:
    context = {
        "values": values,
        "errors": errors,
        "event": event,
        "nav": "manage",
        "flash": flash,
        "timezones": {tz: tz for tz in sorted(timezones())},
        "statuses": {s.value: s.value.capitalize() for s in EventStatus},
    }
    return _render(request, "event_form.html", context, status)


@router.get("/organizer/events/new")
async def new_event_page(request: Request, db: DbSession, account: CurrentAccount) -> Response:
    if not await event_service.can_create(db, account=account):
        raise CannotCreateEvents()
    values = {"timezone": "UTC", "status": EventStatus.draft}
    return _event_form(request, values=values, errors={})


@router.post("/organizer/events/new")
async def create_event_page(request: Request, db: DbSession, account: CurrentAccount) -> Response:
    if not await event_service.can_create(db, account=account):
        raise CannotCreateEvents()
    values = await _form(request)
    try:
        data = EventCreate.model_validate(_without_csrf(values))
        event = await event_service.create(db, account=account, data=data)
    except ValidationError as exc:
        return _event_form(request, values=values, errors=form_errors(exc), status=422)
    except (FieldsInvalid, SlugTaken) as exc:
        return _event_form(request, values=values, errors=exc.fields, status=exc.status)
    return _see_other(f"/e/{event.slug}/manage?created=1")


@router.get("/e/{slug}/manage")
async def edit_event_page(request: Request, membership: Organizer) -> Response:
    flash = "The event was created." if request.query_params.get("created") else None
    if request.query_params.get("saved"):
        flash = "Your changes are saved."
    event = membership.event
    return _event_form(request, values=_event_values(event), errors={}, event=event, flash=flash)


@router.post("/e/{slug}/manage")
async def update_event_page(request: Request, db: DbSession, membership: Organizer) -> Response:
    values = await _form(request)
    event = membership.event
    try:
        data = EventUpdate.model_validate(_without_csrf(values))
        await event_service.update(db, membership=membership, data=data)
    except ValidationError as exc:
        return _event_form(request, values=values, errors=form_errors(exc), event=event, status=422)
    except (FieldsInvalid, SlugTaken) as exc:
        return _event_form(
            request, values=values, errors=exc.fields, event=event, status=exc.status
        )
    return _see_other(f"/e/{event.slug}/manage?saved=1")


def _without_csrf(values: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in values.items() if key != csrf.FIELD}


# Organizer: invitations ----------------------------------------------------------------


async def _invites_page(
    request: Request,
    db: DbSession,
    membership: Organizer,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    link: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    event = membership.event
    exhibitors = await event_service.exhibitors(db, event=event)
    context = {
        "event": event,
        "nav": "manage",
        "values": values or {"role": RoleName.staff},
        "errors": errors or {},
        "link": link,
        "exhibitors": {str(x.id): x.name for x in exhibitors},
        "roles": {"staff": "Exhibitor staff", "organizer": "Organizer"},
        "invitations": await invitation_service.of_event(db, event=event),
        "now": utcnow(),
    }
    return _render(request, "invites.html", context, status)


@router.get("/e/{slug}/manage/invites")
async def invites_page(request: Request, db: DbSession, membership: Organizer) -> Response:
    return await _invites_page(request, db, membership)


@router.post("/e/{slug}/manage/invites")
async def create_invite_page(request: Request, db: DbSession, membership: Organizer) -> Response:
    values = await _form(request)
    try:
        data = InvitationCreate.model_validate(_without_csrf(values))
        _, token = await invitation_service.create(db, membership=membership, data=data)
    except ValidationError as exc:
        return await _invites_page(
            request, db, membership, values=values, errors=form_errors(exc), status=422
        )
    except FieldsInvalid as exc:
        return await _invites_page(
            request, db, membership, values=values, errors=exc.fields, status=exc.status
        )
    base = request.app.state.settings.base_url.rstrip("/")
    return await _invites_page(request, db, membership, link=f"{base}/invite/{token}", status=201)


@router.get("/invite/{token}")
async def invitation_page(
    request: Request, token: str, db: DbSession, account: CurrentAccount
) -> Response:
    invitation = await invitation_service.open(db, token=token, account=account)
    event, exhibitor = await invitation_service.target(db, invitation=invitation)
    context = {
        "invitation": invitation,
        "invited_event": event,
        "exhibitor": exhibitor,
        "token": token,
        "account": account,
    }
    return _render(request, "invitation.html", context)


@router.post("/invite/{token}")
async def accept_invitation_page(token: str, db: DbSession, account: CurrentAccount) -> Response:
    invitation = await invitation_service.accept(db, token=token, account=account)
    event, _ = await invitation_service.target(db, invitation=invitation)
    if invitation.role == RoleName.organizer:
        return _see_other(f"/e/{event.slug}/manage")
    return _see_other(f"/e/{event.slug}")


# Attendees: registration and profile -----------------------------------------------------


def _registration_values(
    registration: Registration | None, account: Account | None
) -> dict[str, Any]:
    if registration is None:
        return {"email": account.email if account else ""}
    values: dict[str, Any] = {name: getattr(registration, name) for name in PROFILE_FIELDS}
    values["interests"] = ", ".join(registration.interests or [])
    values["consent_share"] = registration.consent_share_at is not None
    values["consent_marketing"] = registration.consent_marketing_at is not None
    return values


def _registration_form(
    request: Request,
    *,
    event: Event,
    mode: str,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    account: Account | None,
    status: int = 200,
    flash: str | None = None,
) -> HTMLResponse:
    context = {
        "event": event,
        "nav": "profile",
        "mode": mode,
        "values": values,
        "errors": errors,
        "needs_password": account is None,
        "flash": flash,
        "countries": vocab.countries(),
        **VOCABULARIES,
    }
    return _render(request, "registration.html", context, status)


async def _save_registration(
    request: Request, db: DbSession, *, event: Event, account: Account | None, mode: str
) -> tuple[Response | None, Account | None]:
    """Validate and save the posted profile; a response when the form must be shown again."""
    raw = await _form(request)
    values: dict[str, Any] = {k: v for k, v in raw.items() if k not in (csrf.FIELD, "password")}
    values["consent_share"] = bool(raw.get("consent_share"))
    values["consent_marketing"] = bool(raw.get("consent_marketing"))
    errors: dict[str, str] = {}
    form: RegistrationForm | None = None
    try:
        form = RegistrationForm.model_validate(values)
    except ValidationError as exc:
        errors = form_errors(exc)
    password = raw.get("password", "")
    if account is None and (problem := check_password(password)):
        errors["password"] = problem
    if form is not None and not errors:
        try:
            _, saved = await registration_service.register(
                db, event=event, form=form, account=account, password=password
            )
            return None, saved
        except FieldsInvalid as exc:
            errors = exc.fields
    response = _registration_form(
        request, event=event, mode=mode, values=values, errors=errors, account=account, status=422
    )
    return response, None


@router.get("/e/{slug}/register")
async def register_page(
    request: Request, slug: str, db: DbSession, account: MaybeAccount
) -> Response:
    event = await event_service.get_visible(db, slug=slug, account=account)
    registration = (
        await registration_service.of(db, event=event, account=account) if account else None
    )
    values = _registration_values(registration, account)
    return _registration_form(
        request, event=event, mode="register", values=values, errors={}, account=account
    )


@router.post("/e/{slug}/register")
async def register(request: Request, slug: str, db: DbSession, account: MaybeAccount) -> Response:
    event = await event_service.get_visible(db, slug=slug, account=account)
    failed, saved = await _save_registration(
        request, db, event=event, account=account, mode="register"
    )
    if failed is not None:
        return failed
    response = _see_other(f"/e/{event.slug}")
    if account is None and saved is not None:
        settings = request.app.state.settings
        token = await account_service.start_session(
            db,
            account=saved,
            days=settings.session_days,
            user_agent=request.headers.get("user-agent", ""),
            replacing=request.cookies.get(SESSION_COOKIE),
        )
        csrf.rotate(request)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=settings.session_days * 86400,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


@router.get("/e/{slug}/profile")
async def profile_page(
    request: Request, slug: str, db: DbSession, account: CurrentAccount
) -> Response:
    event = await event_service.get_visible(db, slug=slug, account=account)
    registration = await registration_service.of(db, event=event, account=account)
    if registration is None:
        return _see_other(f"/e/{event.slug}/register")
    flash = "Your profile is saved." if request.query_params.get("saved") else None
    values = _registration_values(registration, account)
    return _registration_form(
        request,
        event=event,
        mode="profile",
        values=values,
        errors={},
        account=account,
        flash=flash,
    )


@router.post("/e/{slug}/profile")
async def update_profile(
    request: Request, slug: str, db: DbSession, account: CurrentAccount
) -> Response:
    event = await event_service.get_visible(db, slug=slug, account=account)
    if await registration_service.of(db, event=event, account=account) is None:
        return _see_other(f"/e/{event.slug}/register")
    failed, _ = await _save_registration(request, db, event=event, account=account, mode="profile")
    return failed or _see_other(f"/e/{event.slug}/profile?saved=1")


# Privacy: download my data, delete my account ---------------------------------------------


@router.get("/account/data.json")
async def download_data(db: DbSession, account: CurrentAccount) -> Response:
    data = await privacy.export(db, account=account)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="expohall-my-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/account/delete")
async def delete_account_page(request: Request, account: CurrentAccount) -> Response:
    return _render(request, "account_delete.html", {"errors": {}, "account": account})


@router.post("/account/delete")
async def delete_account(request: Request, db: DbSession, account: CurrentAccount) -> Response:
    raw = await _form(request)
    errors: dict[str, str] = {}
    if not raw.get("confirm"):
        errors["confirm"] = "Tick the box to confirm that you want to delete your account."
    password = raw.get("password", "")
    if not await asyncio.to_thread(verify_password, account.password_hash, password):
        errors["password"] = "This is not your password."  # noqa: S105
    if errors:
        context = {"errors": errors, "account": account, "confirmed": bool(raw.get("confirm"))}
        return _render(request, "account_delete.html", context, 422)
    await privacy.erase(db, account=account)
    request.state.account = None
    response = _render(request, "account_deleted.html", {"account": None})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
