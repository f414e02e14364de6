"""What one booth page shows a viewer, and the small helpers every booth route shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths import booth_repository as repo
from app.booths import meeting_repository as meeting_repo
from app.booths import service
from app.booths import visits as visit_service
from app.booths.errors import BoothNotFound, NotRegistered
from app.booths.models import Booth, Exhibitor, MeetingSlot, Resource, ResourceKind
from app.chat.sanitize import render_rich as render_markdown
from app.db import utcnow
from app.errors import Unauthenticated
from app.events import repository as events_repo
from app.events.lobby import Visit
from app.events.models import Registration
from app.realtime import channels
from app.templating import templates

STAGE_LABELS = {"research": "Research", "evaluation": "Evaluation", "decision": "Decision"}


@dataclass(slots=True)
class BoothView:
    """Everything the booth page shows, for one viewer."""

    exhibitor: Exhibitor
    booth: Booth
    resources: list[Resource]
    description_html: str
    video_embed: str | None
    staff: list[Account]
    on_duty: list[Account]
    live_count: int | None
    slot_days: list[tuple[str, list[tuple[MeetingSlot, str | None]]]]
    registration: Registration | None
    sharing: visit_service.Sharing | None
    my_meetings: list[tuple[Any, MeetingSlot]] = field(default_factory=list)
    can_manage: bool = False
    # Video resources whose player reports progress by postMessage (Vimeo), by resource id.
    players: dict[int, str] = field(default_factory=dict)


async def registration_of(db: AsyncSession, visit: Visit) -> Registration | None:
    if visit.account is None:
        return None
    reg = await events_repo.registration_of(
        db, event_id=visit.event.id, account_id=visit.account.id
    )
    return reg if reg is not None and reg.erased_at is None else None


async def booth_of(db: AsyncSession, visit: Visit, exhibitor_slug: str) -> tuple[Exhibitor, Booth]:
    found = await repo.exhibitor_booth(db, visit.event.id, exhibitor_slug)
    if found is None:
        raise BoothNotFound()
    return found


async def _live(
    request: Request, booth: Booth, staff: list[Account]
) -> tuple[int | None, list[Account]]:
    """Visitors now and staff present, from the realtime presence store when it runs."""
    realtime = getattr(request.app.state, "realtime", None)
    if realtime is None:
        return None, []
    place = channels.booth(booth.id)
    present = set(await realtime.presence.visitors(place))
    return await realtime.presence.count(place), [a for a in staff if a.id in present]


def _players(resources: list[Resource]) -> dict[int, str]:
    players: dict[int, str] = {}
    for resource in resources:
        if resource.kind == ResourceKind.video and resource.url and not resource.file_path:
            embed = service.embed_url(resource.url)
            if embed is not None and embed.startswith("https://player.vimeo.com/"):
                players[resource.id] = embed
    return players


async def booth_view(
    request: Request, db: AsyncSession, visit: Visit, exhibitor: Exhibitor, booth: Booth
) -> BoothView:
    registration = await registration_of(db, visit)
    staff = list(await repo.staff_of(db, visit.event.id, exhibitor.id))
    live_count, on_duty = await _live(request, booth, staff)
    tz = visit.event.timezone
    open_slots = [
        (slot, name)
        for slot, booking, name in await meeting_repo.slots_of(db, exhibitor.id, after=utcnow())
        if booking is None
    ]
    slot_days = [
        (day, list(group))
        for day, group in groupby(
            open_slots,
            key=lambda pair: pair[0].starts_at.astimezone(ZoneInfo(tz)).strftime("%A %d %B"),
        )
    ]
    resources = list(await repo.resources_of(db, booth.id))
    view = BoothView(
        exhibitor=exhibitor,
        booth=booth,
        resources=resources,
        description_html=render_markdown(booth.description) if booth.description else "",
        video_embed=service.embed_url(booth.video_url) if booth.video_url else None,
        staff=staff,
        on_duty=on_duty,
        live_count=live_count,
        slot_days=slot_days,
        registration=registration,
        sharing=None,
        can_manage=service.can_manage(visit.membership, exhibitor),
        players=_players(resources),
    )
    if registration is not None:
        view.sharing = await visit_service.sharing(db, registration, exhibitor)
        view.my_meetings = await meeting_repo.bookings_of_registration(
            db, registration.id, exhibitor.id
        )
    return view


def booth_response(
    request: Request,
    visit: Visit,
    view: BoothView,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "booths/booth.html",
        {
            **visit.context("hall"),
            "view": view,
            "stages": STAGE_LABELS,
            "errors": dict(errors or {}),
            "values": dict(values or {}),
            "notice": notice,
        },
        status_code=status,
    )


def booth_url(visit: Visit, exhibitor: Exhibitor, anchor: str = "", **query: str) -> str:
    url = f"/e/{visit.event.slug}/booths/{exhibitor.slug}"
    if query:
        url += "?" + urlencode(query)
    return url + (f"#{anchor}" if anchor else "")


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def attendee_of(db: AsyncSession, visit: Visit) -> Registration:
    registration = await registration_of(db, visit)
    if registration is None:
        if visit.account is None:
            raise Unauthenticated()
        raise NotRegistered()
    return registration


def consent_response(
    request: Request,
    visit: Visit,
    exhibitor: Exhibitor,
    *,
    then: str,
    pending: Mapping[str, str],
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "booths/consent.html",
        {
            **visit.context("hall"),
            "exhibitor": exhibitor,
            "then": then,
            "pending": dict(pending),
        },
    )
