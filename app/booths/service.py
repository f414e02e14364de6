"""Booth rules: who may manage a booth, which videos and links it may show, what its staff
edit, and how organizers create booths and assign staff. Services flush; the request commits.

Attendees' tracked actions live in `visits`, meetings in `meetings`, files in `resources`."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership
from app.auth.models import Account
from app.auth.security import digest, new_token
from app.booths import booth_repository as repo
from app.booths.errors import BoothFieldsInvalid, BoothForbidden
from app.booths.models import (
    Booth,
    Exhibitor,
    Tier,
)
from app.db import utcnow
from app.errors import NotFound
from app.events import privacy
from app.events.models import Event, Invitation, RoleName
from app.events.vocab import COMPANY_SIZES, countries

log = structlog.get_logger()

# Erasing an account blanks what attendees wrote to exhibitors.
for _table in ("meeting_requests", "info_requests"):
    if "message" not in privacy.PERSONAL_COLUMNS.setdefault(_table, []):
        privacy.PERSONAL_COLUMNS[_table].append("message")

MAX_MESSAGE = 2000
MAX_TAGS = 12
INVITATION_LIFETIME = dt.timedelta(days=14)
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
