"""What attendees do at a booth, tracked once each through the lead engine: consent at the door,
visits, downloads, video progress and info requests. Services flush; the request commits."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths import booth_repository as repo
from app.booths.errors import BoothFieldsInvalid
from app.booths.models import Booth, BoothConsent, Exhibitor, InfoRequest, Resource
from app.booths.service import MAX_MESSAGE, local_day
from app.db import utcnow
from app.events.models import Event, Registration
from app.leads.service import RecordResult, record

log = structlog.get_logger()


# -- consent at the door --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sharing:
    """Where an attendee stands with one exhibitor."""

    shares: bool
    answer: BoothConsent | None
    event_wide: bool

    @property
    def must_ask(self) -> bool:
        """Not consented event-wide and not yet asked at this booth."""
        return self.answer is None and not self.event_wide


async def sharing(db: AsyncSession, registration: Registration, exhibitor: Exhibitor) -> Sharing:
    answer = await repo.booth_consent(db, registration.id, exhibitor.id)
    event_wide = registration.consent_share_at is not None
    shares = answer.shared if answer is not None else event_wide
    return Sharing(
        shares=shares and registration.erased_at is None, answer=answer, event_wide=event_wide
    )


async def answer_consent(
    db: AsyncSession, *, registration: Registration, exhibitor: Exhibitor, shared: bool
) -> BoothConsent:
    row = await repo.save_consent(
        db,
        registration_id=registration.id,
        exhibitor_id=exhibitor.id,
        shared=shared,
        at=utcnow(),
    )
    log.info("booth.consent", exhibitor_id=exhibitor.id, shared=shared)
    return row


# -- tracked actions --------------------------------------------------------------------------


async def record_visit(
    db: AsyncSession, *, event: Event, registration: Registration, booth: Booth
) -> bool:
    """One `booth.visit` per attendee, booth and (event-local) day; True when new."""
    now = utcnow()
    result = await record(
        db,
        event=event,
        registration=registration,
        type="booth.visit",
        at=now,
        booth_id=booth.id,
        idempotency_key=f"booth.visit:{booth.id}:{registration.id}:{local_day(event, now)}",
    )
    return result.created


async def record_download(
    db: AsyncSession, *, event: Event, registration: Registration, resource: Resource
) -> RecordResult:
    """One `resource.download` per attendee, resource and day (a second click counts once)."""
    now = utcnow()
    result = await record(
        db,
        event=event,
        registration=registration,
        type="resource.download",
        at=now,
        resource_id=resource.id,
        meta={"kind": resource.kind},
        idempotency_key=(
            f"resource.download:{resource.id}:{registration.id}:{local_day(event, now)}"
        ),
    )
    return result


async def record_video_progress(
    db: AsyncSession,
    *,
    event: Event,
    registration: Registration,
    resource: Resource,
    percent: float,
) -> RecordResult | None:
    """`video.progress` at 25, 50, 75 and 100 %: each milestone counts once per attendee
    (None below 25 %: nothing to record)."""
    milestone = int(percent // 25) * 25
    if milestone == 0:
        return None
    return await record(
        db,
        event=event,
        registration=registration,
        type="video.progress",
        value=float(milestone),
        resource_id=resource.id,
        idempotency_key=f"video.progress:{resource.id}:{registration.id}:{milestone}",
    )


async def request_info(
    db: AsyncSession,
    *,
    event: Event,
    registration: Registration,
    exhibitor: Exhibitor,
    message: str,
) -> tuple[InfoRequest, RecordResult]:
    """Hand over the business card; one `info.request` per attendee, booth and day."""
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise BoothFieldsInvalid({"message": f"Keep the message under {MAX_MESSAGE} characters."})
    now = utcnow()
    day = local_day(event, now)
    row = await repo.info_request(db, exhibitor.id, registration.id, day)
    if row is None:
        row = InfoRequest(
            exhibitor_id=exhibitor.id,
            registration_id=registration.id,
            day=day,
            message=message,
            created_at=now,
        )
        if not await repo.insert_once(db, row):
            row = await repo.info_request(db, exhibitor.id, registration.id, day)
            assert row is not None  # noqa: S101
    if message and not row.message:
        row.message = message
    result = await record(
        db,
        event=event,
        registration=registration,
        type="info.request",
        at=now,
        exhibitor_id=exhibitor.id,
        idempotency_key=f"info.request:{exhibitor.id}:{registration.id}:{day}",
    )
    await db.flush()
    return row, result
