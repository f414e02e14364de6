"""Follow-up email campaigns over HTTP: preview and count, create (queue), read with counts."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Member, Membership
from app.booths.models import Exhibitor
from app.db import DbSession, RowId
from app.integrations import campaigns
from app.integrations.campaigns import Audience, InvalidCampaign
from app.integrations.models import EmailCampaign

router = APIRouter(prefix="/api", tags=["email"])


class CampaignWrite(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000)
    filters: dict[str, str | int | float | bool] = Field(default_factory=dict)


class CampaignPreview(BaseModel):
    count: int
    suppressed: int
    to: str | None
    subject: str | None
    text: str | None


class CampaignRead(BaseModel):
    id: int
    exhibitor: str | None
    subject: str
    body: str
    filters: dict[str, str]
    created_at: dt.datetime
    total: int
    queued: int
    sent: int
    opened: int
    clicked: int
    suppressed: int
    failed: int


async def _audience(db: AsyncSession, member: Membership, body: CampaignWrite) -> Audience:
    params = {
        k: ("1" if v is True else "" if v is False else str(v)) for k, v in body.filters.items()
    }
    audience, errors = await campaigns.audience_for(db, member, params)
    if errors:
        field, message = next(iter(errors.items()))
        raise InvalidCampaign(message, field=f"filters.{field}")
    return audience


async def read(db: AsyncSession, campaign: EmailCampaign) -> CampaignRead:
    counts = await campaigns.counts(db, campaign.id)
    exhibitor = await db.get(Exhibitor, campaign.exhibitor_id) if campaign.exhibitor_id else None
    return CampaignRead(
        id=campaign.id,
        exhibitor=exhibitor.slug if exhibitor is not None else None,
        subject=campaign.subject,
        body=campaign.body,
        filters={str(k): str(v) for k, v in campaign.filters.items()},
        created_at=campaign.created_at,
        total=counts.total,
        queued=counts.queued,
        sent=counts.sent,
        opened=counts.opened,
        clicked=counts.clicked,
        suppressed=counts.suppressed,
        failed=counts.failed,
    )


@router.post("/events/{slug}/campaigns/preview")
async def preview_campaign(body: CampaignWrite, member: Member, db: DbSession) -> CampaignPreview:
    """How many leads the filters reach and the email the first of them would get."""
    audience = await _audience(db, member, body)
    p = await campaigns.preview(db, audience, body.subject, body.body)
    return CampaignPreview(
        count=p.count, suppressed=p.suppressed, to=p.to, subject=p.subject, text=p.text
    )


@router.post("/events/{slug}/campaigns", status_code=201)
async def create_campaign(body: CampaignWrite, member: Member, db: DbSession) -> CampaignRead:
    """Queue one message per lead the filters select; the worker sends them after commit."""
    audience = await _audience(db, member, body)
    campaign = await campaigns.create(
        db, audience, subject=body.subject, body=body.body, created_by_id=member.account.id
    )
    return await read(db, campaign)


@router.get("/events/{slug}/campaigns")
async def list_campaigns(member: Member, db: DbSession) -> list[CampaignRead]:
    return [await read(db, c) for c in await campaigns.campaigns_of(db, member)]


@router.get("/events/{slug}/campaigns/{campaign_id}")
async def get_campaign(campaign_id: RowId, member: Member, db: DbSession) -> CampaignRead:
    return await read(db, await campaigns.campaign_for(db, member, campaign_id))
