"""Public tracking routes of follow-up email: the open pixel, signed click redirects, unsubscribe.

No login: the message token in the URL names the recipient. A click URL carries an HMAC over
the token and the target, so a changed target or signature is refused (never an open
redirect). Opens and clicks become `email.open` / `email.click` activities of the lead,
once per message (and URL); unsubscribing suppresses the address for every event.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import DbSession, utcnow
from app.errors import AppError, NotFound
from app.events.models import Event, Registration
from app.integrations import campaigns
from app.integrations.email_render import click_is_valid
from app.integrations.models import EmailCampaign, EmailMessage
from app.leads import service as leads_service
from app.templating import templates

router = APIRouter(include_in_schema=False)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = {"Cache-Control": "no-store, max-age=0", "Pragma": "no-cache"}


class InvalidLink(AppError):
    code = "email.invalid_link"
    status = 400

    @classmethod
    def default_message(cls) -> str:
        return "This link is not valid. Copy the whole link from the email, or open it again."


def _unknown() -> NotFound:
    return NotFound("This email link is not valid or no longer exists.")


async def _message(db: AsyncSession, token: str) -> EmailMessage:
    message = await campaigns.message_by_token(db, token)
    if message is None:
        raise _unknown()
    return message


async def _record(
    db: AsyncSession, message: EmailMessage, type_: str, key: str, meta: dict[str, object]
) -> None:
    """An activity of the message's lead (the campaign's exhibitor gets the points)."""
    campaign = await db.get(EmailCampaign, message.campaign_id)
    registration = await db.get(Registration, message.registration_id)
    if campaign is None or registration is None or registration.erased_at is not None:
        return
    event = await db.get(Event, campaign.event_id)
    if event is None:
        return
    await leads_service.record(
        db,
        event=event,
        registration=registration,
        type=type_,
        idempotency_key=key,
        exhibitor_id=campaign.exhibitor_id,
        meta={"campaign_id": campaign.id, **meta},
    )


async def _opened(db: AsyncSession, message: EmailMessage) -> None:
    if message.opened_at is None:
        message.opened_at = utcnow()
    await _record(db, message, "email.open", f"email.open:{message.id}", {})


@router.get("/t/o/{token}.gif")
async def pixel(token: str, db: DbSession) -> Response:
    """The 1×1 image in every HTML email: its first load is the open."""
    message = await campaigns.message_by_token(db, token)
    if message is not None:
        await _opened(db, message)
    return Response(PIXEL, media_type="image/gif", headers=NO_STORE)


@router.get("/t/c/{token}")
async def click(
    request: Request,
    token: str,
    db: DbSession,
    u: Annotated[str, Query(max_length=4000)] = "",
    s: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    """A link in an email: recorded (a click implies an open), then on to its target."""
    message = await _message(db, token)
    if not click_is_valid(request.app.state.settings.secret, message.token, u, s):
        raise InvalidLink()
    now = utcnow()
    await _opened(db, message)
    if message.clicked_at is None:
        message.clicked_at = now
    digest = hashlib.sha256(u.encode()).hexdigest()[:32]
    await _record(
        db, message, "email.click", f"email.click:{message.id}:{digest}", {"url": u[:500]}
    )
    return RedirectResponse(u, status_code=303, headers=NO_STORE)


@router.get("/t/u/{token}", response_class=HTMLResponse)
async def unsubscribe_form(request: Request, token: str, db: DbSession) -> HTMLResponse:
    message = await _message(db, token)
    event = await _event_of(db, message)
    return templates.TemplateResponse(
        request,
        "integrations/email_unsubscribe.html",
        {"done": False, "token": token, "address": message.to_address, "event_name": event},
        headers=NO_STORE,
    )


@router.post("/t/u/{token}", response_class=HTMLResponse)
async def unsubscribe(request: Request, token: str, db: DbSession) -> HTMLResponse:
    """The confirm button and RFC 8058 one-click (`List-Unsubscribe=One-Click`): the token in
    the URL is the credential, so there is no CSRF token to check."""
    message = await _message(db, token)
    event = await _event_of(db, message)
    await campaigns.suppress(db, message.to_address, at=utcnow(), reason="unsubscribed")
    await _record(db, message, "unsubscribe", f"unsubscribe:{message.id}", {})
    return templates.TemplateResponse(
        request,
        "integrations/email_unsubscribe.html",
        {"done": True, "token": token, "address": message.to_address, "event_name": event},
        headers=NO_STORE,
    )


async def _event_of(db: AsyncSession, message: EmailMessage) -> str:
    campaign = await db.get(EmailCampaign, message.campaign_id)
    event = await db.get(Event, campaign.event_id) if campaign is not None else None
    return event.name if event is not None else "Expohall"
