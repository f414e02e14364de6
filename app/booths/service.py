"""Booth rules: what attendees do at a booth (tracked through the lead engine), consent at the
door, meetings, and what staff and organizers change. Services flush; the request commits."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from app.auth.deps import Membership
from app.auth.models import Account
from app.auth.security import digest, new_token
from app.booths import booth_repository as repo
from app.booths import uploads
from app.booths.models import (
    Booth,
    BoothConsent,
    BuyingStage,
    Exhibitor,
    InfoRequest,
    MeetingRequest,
    MeetingSlot,
    MeetingStatus,
    Resource,
    ResourceKind,
    Tier,
)
from app.db import utcnow
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.events import privacy
from app.events.models import Event, Invitation, Registration, RoleName
from app.events.vocab import COMPANY_SIZES, countries
from app.leads.service import record

log = structlog.get_logger()

# Erasing an account blanks what attendees wrote to exhibitors.
for _table in ("meeting_requests", "info_requests"):
    if "message" not in privacy.PERSONAL_COLUMNS.setdefault(_table, []):
        privacy.PERSONAL_COLUMNS[_table].append("message")

MAX_MESSAGE = 2000
MAX_TAGS = 12
INVITATION_LIFETIME = dt.timedelta(days=14)
SLOT_MINUTES = (15, 20, 30, 45, 60)
# Hosts whose players may be embedded in a booth (https only); video.example.com is the demo's.
VIDEO_HOSTS = frozenset(
    {
        "www.youtube.com",
        "youtube.com",
        "youtu.be",
        "www.youtube-nocookie.com",
        "vimeo.com",
        "player.vimeo.com",
        "fast.wistia.net",
        "video.example.com",
    }
)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")


class BoothNotFound(NotFound):
    code = "booth.not_found"

    @classmethod
    def default_message(cls) -> str:
        return "There is no booth at this address."


class BoothForbidden(Forbidden):
    code = "booth.forbidden"

    @classmethod
    def default_message(cls) -> str:
        return "Only this exhibitor's staff and the event's organizers can do this."


class NotRegistered(Forbidden):
    code = "booth.register_first"

    @classmethod
    def default_message(cls) -> str:
        return "Register for this event to use the booths."


class SlotTaken(Conflict):
    code = "booth.slot_taken"

    @classmethod
    def default_message(cls) -> str:
        return "That time was just booked by someone else. Please choose another one."


class MeetingNotFound(NotFound):
    code = "booth.meeting_not_found"

    @classmethod
    def default_message(cls) -> str:
        return "We could not find that meeting."


class BoothFieldsInvalid(Invalid):
    """Input that breaks a rule about named fields; `fields` maps name -> message."""

    code = "booth.invalid"

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        self.fields: dict[str, str] = fields
        super().__init__(
            message or "Some fields are not valid.",
            fields=[{"field": name, "message": text} for name, text in fields.items()],
        )


def local_day(event: Event, at: dt.datetime) -> str:
    return at.astimezone(ZoneInfo(event.timezone)).date().isoformat()


def can_manage(member: Membership | None, exhibitor: Exhibitor) -> bool:
    return member is not None and (member.is_organizer or member.staffs(exhibitor.id))


def check_manage(member: Membership | None, exhibitor: Exhibitor) -> None:
    if not can_manage(member, exhibitor):
        raise BoothForbidden()


# -- video embeds ---------------------------------------------------------------------------


def embed_url(url: str) -> str | None:
    """The player URL to put in an iframe, or None when `url` is not an allowed https video."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or host not in VIDEO_HOSTS or parts.username or parts.port:
        return None
    path = parts.path
    if host in ("www.youtube.com", "youtube.com", "youtu.be"):
        video = (
            path.strip("/")
            if host == "youtu.be"
            else (parse_qs(parts.query).get("v") or [""])[0]
            if path == "/watch"
            else path.removeprefix("/embed/")
        )
        return (
            f"https://www.youtube-nocookie.com/embed/{video}" if _YOUTUBE_ID.match(video) else None
        )
    if host == "vimeo.com":
        number = path.strip("/")
        return f"https://player.vimeo.com/video/{number}" if number.isdigit() else None
    return f"https://{host}{path}" + (f"?{parts.query}" if parts.query else "")


def safe_link(url: str) -> str | None:
    """An http(s) URL fit for a link or a redirect, else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url.strip()


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
) -> bool:
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
    return result.created


async def record_video_progress(
    db: AsyncSession,
    *,
    event: Event,
    registration: Registration,
    resource: Resource,
    percent: float,
) -> bool:
    """`video.progress` at 25, 50, 75 and 100 %: each milestone counts once per attendee."""
    milestone = int(percent // 25) * 25
    if milestone == 0:
        return False
    result = await record(
        db,
        event=event,
        registration=registration,
        type="video.progress",
        value=float(milestone),
        resource_id=resource.id,
        idempotency_key=f"video.progress:{resource.id}:{registration.id}:{milestone}",
    )
    return result.created


async def request_info(
    db: AsyncSession,
    *,
    event: Event,
    registration: Registration,
    exhibitor: Exhibitor,
    message: str,
) -> InfoRequest:
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
    await record(
        db,
        event=event,
        registration=registration,
        type="info.request",
        at=now,
        exhibitor_id=exhibitor.id,
        idempotency_key=f"info.request:{exhibitor.id}:{registration.id}:{day}",
    )
    await db.flush()
    return row


# -- meetings ---------------------------------------------------------------------------------


async def book(
    db: AsyncSession,
    *,
    event: Event,
    registration: Registration,
    exhibitor: Exhibitor,
    slot_id: int,
    message: str,
) -> MeetingRequest:
    """Book a published slot; the unique active-slot column settles races (one wins)."""
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise BoothFieldsInvalid({"message": f"Keep the message under {MAX_MESSAGE} characters."})
    slot = await repo.slot_of_exhibitor(db, exhibitor.id, slot_id)
    if slot is None or slot.starts_at <= utcnow():
        raise BoothFieldsInvalid({"slot_id": "Choose one of the times offered."})
    booking = MeetingRequest(
        slot_id=slot.id,
        active_slot_id=slot.id,
        registration_id=registration.id,
        status=MeetingStatus.confirmed,
        message=message,
    )
    if not await repo.insert_once(db, booking):
        holder = await repo.active_booking(db, slot.id)
        if holder is not None and holder.registration_id == registration.id:
            return holder  # a double click: the first booking stands
        raise SlotTaken()
    await record(
        db,
        event=event,
        registration=registration,
        type="meeting.request",
        at=booking.created_at,
        exhibitor_id=exhibitor.id,
        meta={"slot_id": slot.id},
        idempotency_key=f"meeting.request:{booking.id}",
    )
    log.info("booth.meeting_booked", exhibitor_id=exhibitor.id, slot_id=slot.id)
    return booking


async def cancel(db: AsyncSession, *, booking: MeetingRequest) -> None:
    """Free the slot; the booking stays, cancelled, for the record."""
    booking.status = MeetingStatus.cancelled
    booking.active_slot_id = None
    await db.flush()


async def publish_slot(
    db: AsyncSession,
    *,
    event: Event,
    exhibitor: Exhibitor,
    staff: Account,
    starts_at: dt.datetime,
    minutes: int,
) -> MeetingSlot:
    if minutes not in SLOT_MINUTES:
        raise BoothFieldsInvalid({"minutes": "Choose one of the lengths offered."})
    if starts_at <= utcnow():
        raise BoothFieldsInvalid({"starts_at": "Choose a time in the future."})
    ends_at = starts_at + dt.timedelta(minutes=minutes)
    if await repo.overlapping_slot(db, staff.id, starts_at, ends_at) is not None:
        raise BoothFieldsInvalid({"starts_at": "You already offer a slot at that time."})
    return await repo.add_slot(
        db,
        MeetingSlot(
            exhibitor_id=exhibitor.id,
            staff_account_id=staff.id,
            starts_at=starts_at,
            ends_at=ends_at,
        ),
    )


async def remove_slot(db: AsyncSession, *, exhibitor: Exhibitor, slot_id: int) -> None:
    slot = await repo.slot_of_exhibitor(db, exhibitor.id, slot_id)
    if slot is None:
        raise NotFound("That slot does not exist.")
    if await repo.active_booking(db, slot.id) is not None:
        raise BoothFieldsInvalid({"slot": "Someone booked this slot; it cannot be removed."})
    await repo.delete_slot(db, slot)


# -- self-service -------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]


def parse_tags(text: str) -> list[str]:
    seen: dict[str, str] = {}
    for tag in _split(text):
        if len(tag) > 40:
            raise BoothFieldsInvalid({"tags": "Keep each tag under 40 characters."})
        seen.setdefault(tag.casefold(), tag)
    if len(seen) > MAX_TAGS:
        raise BoothFieldsInvalid({"tags": f"Use at most {MAX_TAGS} tags."})
    return list(seen.values())


def parse_territory(text: str) -> list[str]:
    codes = [c.upper() for c in re.split(r"[\s,;]+", text) if c]
    unknown = [c for c in codes if c not in countries()]
    if unknown:
        raise BoothFieldsInvalid(
            {
                "territory": f"Not ISO country codes: {', '.join(unknown[:5])}. "
                "Use codes like DE, FR."
            }
        )
    return sorted(set(codes))


def parse_sizes(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in COMPANY_SIZES]
    if unknown:
        raise BoothFieldsInvalid({"ideal_sizes": "Choose company sizes from the list."})
    return [size for size in COMPANY_SIZES if size in values]


@dataclass(frozen=True, slots=True)
class BoothEdit:
    tagline: str
    description: str
    tags: str
    territory: str
    ideal_sizes: list[str]
    video_url: str
    accent_color: str


def apply_edit(booth: Booth, data: BoothEdit) -> None:
    """Check every field, then change the booth (all or nothing)."""
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    if len(data.tagline.strip()) > 300:
        errors["tagline"] = "Keep the tagline under 300 characters."
    values["tagline"] = data.tagline.strip()
    if len(data.description) > 20_000:
        errors["description"] = "Keep the description under 20,000 characters."
    values["description"] = data.description.strip()
    for name, parse, raw in (
        ("tags", parse_tags, data.tags),
        ("territory", parse_territory, data.territory),
    ):
        try:
            values[name] = parse(raw)
        except BoothFieldsInvalid as exc:
            errors.update(exc.fields)
    try:
        values["ideal_sizes"] = parse_sizes(data.ideal_sizes)
    except BoothFieldsInvalid as exc:
        errors.update(exc.fields)
    video = data.video_url.strip()
    if video and embed_url(video) is None:
        errors["video_url"] = (
            "Use an https link to YouTube, Vimeo or Wistia; other players cannot be embedded."
        )
    values["video_url"] = video
    color = data.accent_color.strip() or "#3b5bdb"
    if not _COLOR.match(color):
        errors["accent_color"] = "Use a colour like #3b5bdb."
    values["accent_color"] = color.lower()
    if errors:
        raise BoothFieldsInvalid(errors)
    for name, value in values.items():
        setattr(booth, name, value)


async def replace_image(
    db: AsyncSession, *, root: Path, booth: Booth, which: str, upload: UploadFile
) -> None:
    """Store a new logo or banner and drop the old file."""
    stored = await uploads.store(
        upload,
        root=root,
        allowed=uploads.IMAGE_TYPES,
        limit=uploads.IMAGE_LIMIT,
        folder=uploads.IMAGES_DIR,
    )
    old = booth.logo_path if which == "logo" else booth.banner_path
    if which == "logo":
        booth.logo_path = stored.path
    else:
        booth.banner_path = stored.path
    await db.flush()
    await uploads.remove(root, old)


@dataclass(frozen=True, slots=True)
class ResourceDraft:
    kind: str
    title: str
    description: str
    stage: str
    url: str


async def add_resource(
    db: AsyncSession, *, root: Path, booth: Booth, draft: ResourceDraft, upload: UploadFile | None
) -> Resource:
    errors: dict[str, str] = {}
    title = draft.title.strip()
    if not title or len(title) > 200:
        errors["title"] = "Give the resource a title (up to 200 characters)."
    if draft.kind not in tuple(ResourceKind):
        errors["kind"] = "Choose document, video or link."
    if draft.stage not in tuple(BuyingStage):
        errors["stage"] = "Choose research, evaluation or decision."
    has_file = upload is not None and bool(upload.filename)
    url = draft.url.strip()
    if draft.kind == ResourceKind.document and not has_file:
        errors["file"] = "Choose the file to upload."
    if draft.kind == ResourceKind.link and safe_link(url) is None:
        errors["url"] = "Enter a web address starting with https:// or http://."
    if draft.kind == ResourceKind.video and not has_file and embed_url(url) is None:
        errors["url"] = "Upload an MP4 file, or link a YouTube, Vimeo or Wistia video (https)."
    if errors:
        raise BoothFieldsInvalid(errors)
    resource = Resource(
        booth_id=booth.id,
        kind=draft.kind,
        title=title,
        description=draft.description.strip()[:2000],
        stage=draft.stage,
    )
    if has_file and draft.kind != ResourceKind.link:
        assert upload is not None  # noqa: S101
        allowed = (uploads.MP4,) if draft.kind == ResourceKind.video else uploads.DOCUMENT_TYPES
        stored = await uploads.store(
            upload,
            root=root,
            allowed=allowed,
            limit=uploads.DOCUMENT_LIMIT,
            folder=uploads.FILES_DIR,
        )
        resource.file_path = stored.path
        resource.content_type = stored.type.content_type
        resource.size_bytes = stored.size
    else:
        resource.url = url
    db.add(resource)
    await db.flush()
    return resource


async def delete_resource(db: AsyncSession, *, root: Path, resource: Resource) -> None:
    path = resource.file_path
    await repo.delete_resource(db, resource)
    if path and not path.startswith("demo/"):
        await uploads.remove(root, path)


# -- staff ----------------------------------------------------------------------------------


async def remove_staff(
    db: AsyncSession, *, event: Event, exhibitor: Exhibitor, account_id: int
) -> None:
    role = await repo.staff_role(db, event.id, account_id)
    if role is None or role.exhibitor_id != exhibitor.id:
        raise NotFound("That person is not on this booth's staff.")
    await repo.remove_role(db, role)
    log.info("booth.staff_removed", exhibitor_id=exhibitor.id, account_id=account_id)


async def add_staff(db: AsyncSession, *, event: Event, exhibitor: Exhibitor, email: str) -> Account:
    """Make an existing account staff of `exhibitor` (organizers)."""
    account = await repo.account_by_email(db, email)
    if account is None:
        raise BoothFieldsInvalid(
            {"email": "No account has this email. Send them an invitation link instead."}
        )
    role = await repo.staff_role(db, event.id, account.id)
    if role is not None:
        if role.exhibitor_id == exhibitor.id:
            return account
        raise BoothFieldsInvalid({"email": "This person already staffs another exhibitor."})
    await repo.add_staff_role(
        db, event_id=event.id, account_id=account.id, exhibitor_id=exhibitor.id
    )
    return account


async def invite_staff(
    db: AsyncSession, *, member: Membership, exhibitor: Exhibitor, email: str
) -> str:
    """An invitation link's token making whoever accepts it staff of `exhibitor`.

    Staff may invite colleagues to their own booth, so this writes the invitation itself
    (the events service lets only organizers invite); accepting goes through /invite/{token}.
    """
    check_manage(member, exhibitor)
    email = email.strip()
    if email and ("@" not in email or len(email) > 320):
        raise BoothFieldsInvalid({"email": "Enter an email address, or leave it empty."})
    token = new_token()
    now = utcnow()
    await repo.add_invitation(
        db,
        Invitation(
            event_id=exhibitor.event_id,
            role=RoleName.staff,
            exhibitor_id=exhibitor.id,
            email=email or None,
            token_hash=digest(token),
            created_by_id=member.account.id,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        ),
    )
    return token


# -- organizers -------------------------------------------------------------------------------

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(text: str) -> str:
    """`Zürich Vision AG` -> `zurich-vision-ag` (accents dropped, not turned into dashes)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80].strip("-")


async def create_booth(
    db: AsyncSession,
    *,
    event: Event,
    name: str,
    slug: str,
    tier: str,
    website: str = "",
    tagline: str = "",
    tags: list[str] | None = None,
    territory: list[str] | None = None,
    ideal_sizes: list[str] | None = None,
) -> Exhibitor:
    """An exhibitor and its booth; the caller has validated the fields."""
    exhibitor = Exhibitor(event_id=event.id, slug=slug, name=name, website=website)
    if not await repo.insert_once(db, exhibitor):
        raise BoothFieldsInvalid({"slug": "Another exhibitor of this event uses this address."})
    booth = Booth(
        event_id=event.id,
        exhibitor_id=exhibitor.id,
        tier=tier,
        tagline=tagline,
        tags=tags or [],
        territory=territory or [],
        ideal_sizes=ideal_sizes or [],
    )
    db.add(booth)
    await db.flush()
    log.info("booth.created", event_id=event.id, exhibitor_id=exhibitor.id)
    return exhibitor


def check_exhibitor_fields(name: str, slug: str, tier: str, website: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name.strip() or len(name.strip()) > 200:
        errors["name"] = "Give the exhibitor's name (up to 200 characters)."
    if not SLUG.match(slug) or len(slug) > 80:
        errors["slug"] = "Use lowercase letters, digits and dashes (up to 80), e.g. acme-robotics."
    if tier not in tuple(Tier):
        errors["tier"] = "Choose platinum, gold, silver or bronze."
    if website and safe_link(website) is None:
        errors["website"] = "Enter a web address starting with https://."
    return errors


async def set_tier(booth: Booth, tier: str) -> None:
    if tier not in tuple(Tier):
        raise BoothFieldsInvalid({"tier": "Choose platinum, gold, silver or bronze."})
    booth.tier = tier
