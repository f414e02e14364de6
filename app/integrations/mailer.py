"""Sending queued follow-up email through SMTP: leased, re-checked, retried, never lost.

A batch of messages is claimed (`claim.py`), rendered for each recipient, checked against the
suppression list once more just before it goes out, and sent over one SMTP connection. A
message ends `sent`, `suppressed`, or `failed` with the server's reason (a permanent 5xx, a
template that no longer renders, or too many attempts); anything transient (the relay down,
a 4xx) puts it back in the queue with a growing delay.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass
from email.errors import MessageError
from email.message import EmailMessage as MimeMessage

import aiosmtplib
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.booths.booth_repository import shares_with
from app.booths.models import Exhibitor
from app.config import Settings
from app.db import utcnow
from app.errors import Invalid
from app.events.models import Event, Registration
from app.integrations import campaigns, email_render
from app.integrations.claim import claim
from app.integrations.models import EmailCampaign, EmailMessage

log = structlog.get_logger()

BATCH = 50
SEND_TIMEOUT_SECONDS = 60.0  # one message, whatever the relay does
LEASE_SECONDS = 900.0  # longer than a batch can take (30 s timeouts), so no one takes it over
MAX_ATTEMPTS = 12
BASE_DELAY = 30.0  # seconds; doubled after each transient failure
MAX_DELAY = 3600.0


def backoff(attempts: int) -> dt.timedelta:
    """The wait before attempt `attempts + 1`: 30 s, 1 min, 2 min … at most an hour."""
    return dt.timedelta(seconds=min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1)))


@dataclass(slots=True)
class _Outgoing:
    id: int
    attempts: int
    mime: MimeMessage | None = None
    skip: str | None = None  # "suppressed" | "failed"
    reason: str | None = None


async def _prepare(db: AsyncSession, ids: list[int], settings: Settings) -> list[_Outgoing]:
    """Each leased message rendered for its recipient, or the reason it must not go out."""
    rows = (
        await db.execute(
            select(EmailMessage, EmailCampaign, Registration, Event)
            .join(EmailCampaign, EmailCampaign.id == EmailMessage.campaign_id)
            .join(Registration, Registration.id == EmailMessage.registration_id)
            .join(Event, Event.id == EmailCampaign.event_id)
            .where(EmailMessage.id.in_(ids))
            .order_by(EmailMessage.id)
        )
    ).all()
    blocked = await campaigns.suppressed_among(db, (m.to_address for m, *_ in rows))
    exhibitors: dict[int, Exhibitor | None] = {}
    out: list[_Outgoing] = []
    for message, campaign, registration, event in rows:
        item = _Outgoing(message.id, message.attempts)
        out.append(item)
        if message.to_address.lower() in blocked:
            item.skip, item.reason = "suppressed", "unsubscribed"
            continue
        if registration.erased_at is not None or not registration.email:
            item.skip, item.reason = "suppressed", "the attendee deleted their account"
            continue
        if registration.consent_marketing_at is None:
            item.skip, item.reason = (
                "suppressed",
                "the attendee withdrew consent to marketing email",
            )
            continue
        if campaign.exhibitor_id is not None and not await shares_with(
            db, registration, campaign.exhibitor_id
        ):
            item.skip, item.reason = "suppressed", "the attendee no longer shares their details"
            continue
        exhibitor = None
        if campaign.exhibitor_id is not None:
            if campaign.exhibitor_id not in exhibitors:
                exhibitors[campaign.exhibitor_id] = await db.get(Exhibitor, campaign.exhibitor_id)
            exhibitor = exhibitors[campaign.exhibitor_id]
        try:
            recipient = await campaigns.recipient_of(db, registration, event, exhibitor)
            item.mime = email_render.build_message(
                mail_from=settings.mail_from,
                to=message.to_address,
                subject=email_render.render_subject(campaign.subject, recipient),
                text=email_render.render(campaign.body, recipient, "body"),
                links=email_render.Links(settings.base_url, settings.secret, message.token),
            )
        except (
            Invalid,
            ValueError,
            MessageError,
        ) as exc:  # a bad address, or a template that fails now
            item.skip, item.reason = "failed", str(exc)[:500]
    return out


def _client(settings: Settings) -> aiosmtplib.SMTP:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        use_tls=settings.smtp_tls,
        start_tls=False if settings.smtp_tls else settings.smtp_starttls,
        timeout=30,
    )


def _permanent(exc: Exception) -> str | None:
    """The reason when the server refused this message for good (a 5xx reply), else None."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [(r.code, r.message) for r in exc.recipients]
        if codes and all(code >= 500 for code, _ in codes):
            return "; ".join(f"{code} {message}" for code, message in codes)[:500]
        return None
    if isinstance(exc, aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPDataError):
        if exc.code >= 500:
            return f"{exc.code} {exc.message}"[:500]
    return None


async def send_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> int:
    """Send the queued messages that are due; returns how many it handled (0: none, or no
    SMTP relay configured, in which case mail stays queued)."""
    if not settings.smtp_host:
        return 0
    now = now or utcnow()
    lock, ids = await claim(
        sessionmaker,
        EmailMessage,
        status="queued",
        limit=BATCH,
        lease_seconds=LEASE_SECONDS,
        now=now,
    )
    if not ids:
        return 0
    async with sessionmaker() as db:
        batch = await _prepare(db, ids, settings)
    smtp: aiosmtplib.SMTP | None = None
    down: str | None = None  # the relay is unreachable: the rest of the batch waits
    started = time.monotonic()
    try:
        for item in batch:
            if time.monotonic() - started > LEASE_SECONDS / 2:
                # A slow relay: leave the rest leased (unsent) until the lease lapses, well
                # before anyone else could take over a message this worker is sending.
                log.warning("email.batch_deadline", left=len(batch) - batch.index(item))
                break
            if item.skip is not None:
                await _finish(sessionmaker, lock, item.id, status=item.skip, error=item.reason)
                continue
            if down is not None:
                await _retry(sessionmaker, lock, item, now, down)
                continue
            assert item.mime is not None  # noqa: S101
            if smtp is None:
                smtp = _client(settings)
                try:
                    await smtp.connect()
                except (aiosmtplib.SMTPException, OSError) as exc:
                    smtp, down = None, f"{type(exc).__name__}: {exc}"[:500]
                    log.warning("email.relay_down", error=down)
                    await _retry(sessionmaker, lock, item, now, down)
                    continue
            try:
                async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                    await smtp.send_message(item.mime)
            except (aiosmtplib.SMTPException, OSError) as exc:  # TimeoutError is an OSError
                if isinstance(exc, TimeoutError):
                    smtp.close()
                reason = _permanent(exc)
                if reason is not None:
                    log.warning("email.failed", message_id=item.id, reason=reason)
                    await _finish(sessionmaker, lock, item.id, status="failed", error=reason)
                    continue
                error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("email.retry", message_id=item.id, error=error)
                await _retry(sessionmaker, lock, item, now, error)
                if not smtp.is_connected:
                    smtp = None  # reconnect for the next message
                continue
            await _finish(sessionmaker, lock, item.id, status="sent", sent_at=utcnow())
    finally:
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()
    return len(ids)


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    lock: str,
    message_id: int,
    *,
    status: str,
    error: str | None = None,
    sent_at: dt.datetime | None = None,
) -> None:
    values: dict[str, object] = {"status": status, "locked_until": None, "lock_token": None}
    if error is not None:
        values["last_error"] = error
    if sent_at is not None:
        values["sent_at"] = sent_at
        values["attempts"] = EmailMessage.attempts + 1
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(EmailMessage)
            .where(EmailMessage.id == message_id, EmailMessage.lock_token == lock)
            .values(**values)
        )


async def _retry(
    sessionmaker: async_sessionmaker[AsyncSession],
    lock: str,
    item: _Outgoing,
    now: dt.datetime,
    error: str,
) -> None:
    attempts = item.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        reason = f"gave up after {attempts} attempts: {error}"[:500]
        await _finish(sessionmaker, lock, item.id, status="failed", error=reason)
        return
    async with sessionmaker() as db, db.begin():
        await db.execute(
            update(EmailMessage)
            .where(EmailMessage.id == item.id, EmailMessage.lock_token == lock)
            .values(
                attempts=attempts,
                next_attempt_at=now + backoff(attempts),
                last_error=error,
                locked_until=None,
                lock_token=None,
            )
        )
