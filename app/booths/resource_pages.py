"""A booth's files for visitors: images, downloads, links and video progress (each tracked)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.csrf import verify_csrf
from app.booths import alerts, service, uploads
from app.booths import booth_repository as repo
from app.booths import visits as visit_service
from app.booths.booth_view import (
    attendee_of,
    see_other,
)
from app.booths.errors import BoothNotFound
from app.booths.models import Exhibitor, Resource, ResourceKind
from app.db import DbSession, RowId
from app.errors import Unauthenticated
from app.events.lobby import Visit, VisitDep
from app.events.models import Registration
from app.leads.service import RecordResult

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _root(request: Request) -> Path:
    root: Path = request.app.state.settings.uploads_dir
    return root


@router.get("/media/images/{name}")
async def image(request: Request, name: str) -> Response:
    return uploads.image_response(_root(request), name)


async def _resource(db: AsyncSession, visit: Visit, resource_id: int) -> tuple[Resource, Exhibitor]:
    found = await repo.resource_in_event(db, visit.event.id, resource_id)
    if found is None:
        raise BoothNotFound("That resource does not exist.")
    resource, _booth_row, exhibitor = found
    return resource, exhibitor


async def _gate(
    db: AsyncSession, visit: Visit, exhibitor: Exhibitor, resource: Resource
) -> tuple[Registration | None, Response | None]:
    """Who downloads, or where to send them first (login, consent)."""
    if visit.account is None:
        raise Unauthenticated()
    if service.can_manage(visit.membership, exhibitor):
        return None, None  # staff checking their own files are not leads
    registration = await attendee_of(db, visit)
    if (await visit_service.sharing(db, registration, exhibitor)).must_ask:
        query = urlencode({"then": "download", "resource_id": str(resource.id)})
        return registration, see_other(
            f"/e/{visit.event.slug}/booths/{exhibitor.slug}/consent?{query}"
        )
    return registration, None


def _tell_staff(
    request: Request,
    background: BackgroundTasks,
    exhibitor: Exhibitor,
    registration: Registration,
    result: RecordResult | None,
) -> None:
    pushes = alerts.activity(exhibitor_id=exhibitor.id, registration=registration, result=result)
    alerts.after_commit(request, background, exhibitor, pushes)


async def _count_download(
    request: Request,
    background: BackgroundTasks,
    db: AsyncSession,
    visit: Visit,
    exhibitor: Exhibitor,
    resource: Resource,
    registration: Registration | None,
) -> None:
    """A download or a link followed, once a day, told to the booth's staff console."""
    if registration is None:  # the booth's own staff (see _gate)
        return
    result = await visit_service.record_download(
        db, event=visit.event, registration=registration, resource=resource
    )
    _tell_staff(request, background, exhibitor, registration, result)


@router.get("/e/{slug}/resources/{resource_id}/download")
async def download(
    request: Request,
    background: BackgroundTasks,
    visit: VisitDep,
    db: DbSession,
    resource_id: RowId,
) -> Response:
    resource, exhibitor = await _resource(db, visit, resource_id)
    if resource.kind == ResourceKind.link or not resource.file_path:
        return see_other(f"/e/{visit.event.slug}/resources/{resource.id}/open")
    registration, detour = await _gate(db, visit, exhibitor, resource)
    if detour is not None:
        return detour
    path = uploads.resolve(_root(request), resource.file_path)  # 404 before anything counts
    await _count_download(request, background, db, visit, exhibitor, resource, registration)
    return uploads.download_response(
        path,
        content_type=resource.content_type or "application/octet-stream",
        filename=uploads.download_name(resource.title, resource.content_type, resource.file_path),
    )


@router.get("/e/{slug}/resources/{resource_id}/open")
async def open_link(
    request: Request,
    background: BackgroundTasks,
    visit: VisitDep,
    db: DbSession,
    resource_id: RowId,
) -> Response:
    """Follow a link (or linked video) resource; the click counts like a download."""
    resource, exhibitor = await _resource(db, visit, resource_id)
    target = service.safe_link(resource.url) if resource.url else None
    if target is None:
        raise BoothNotFound("That resource has no link.")
    registration, detour = await _gate(db, visit, exhibitor, resource)
    if detour is not None:
        return detour
    await _count_download(request, background, db, visit, exhibitor, resource, registration)
    return RedirectResponse(target, status_code=303)


@router.post("/e/{slug}/resources/{resource_id}/progress", status_code=204)
async def video_progress(
    request: Request,
    background: BackgroundTasks,
    visit: VisitDep,
    db: DbSession,
    resource_id: RowId,
    percent: Annotated[float, Form(ge=0, le=100)],
) -> Response:
    """The player's progress events (fetch with X-CSRF-Token): one activity per quarter."""
    resource, exhibitor = await _resource(db, visit, resource_id)
    if resource.kind != ResourceKind.video:
        raise BoothNotFound("That resource is not a video.")
    if visit.account is None:
        raise Unauthenticated()
    if service.can_manage(visit.membership, exhibitor):
        return Response(status_code=204)
    registration = await attendee_of(db, visit)
    result = await visit_service.record_video_progress(
        db, event=visit.event, registration=registration, resource=resource, percent=percent
    )
    _tell_staff(request, background, exhibitor, registration, result)
    return Response(status_code=204)
