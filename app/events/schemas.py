"""Pydantic schemas of events, invitations and the attendee registration form."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, available_timezones

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails

from app.auth.schemas import MAX_PASSWORD, MIN_PASSWORD
from app.events import vocab
from app.events.models import EventStatus

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PHONE_RE = re.compile(r"^[0-9 +().\-]*$")
MAX_INTERESTS = 10
MAX_INTEREST_LENGTH = 40
REQUIRED = "This field is required."


@cache
def timezones() -> frozenset[str]:
    return frozenset(available_timezones())


# Bidirectional overrides let a name display as something else ("evil" shown as "live").
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
CONTROL_MESSAGE = "Remove the control characters from this text."


def _clean_text(value: str) -> str:
    """NFC-normalise and refuse control characters (names may use any script)."""
    value = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in value):
        raise ValueError(CONTROL_MESSAGE)
    return value


def _clean_multiline(value: str) -> str:
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n"))
    if any(
        (unicodedata.category(ch) == "Cc" and ch not in "\n\t") or ch in BIDI_CONTROLS
        for ch in value
    ):
        raise ValueError(CONTROL_MESSAGE)
    return value


def _email(value: str) -> str:
    if not value:
        raise ValueError(REQUIRED)
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValueError("Enter a valid email address, like name@example.com.") from None


def _timezone(value: str) -> str:
    if value not in timezones():
        raise ValueError("Choose a time zone from the list, like Europe/Berlin.")
    return value


def _slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(
            "Use lowercase letters a–z, digits and single hyphens only, like spring-expo-2026."
        )
    return value


def _choice(options: dict[str, str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not value:
            raise ValueError(REQUIRED)
        if value not in options:
            raise ValueError(f"Choose {what} from the list.")
        return value

    return AfterValidator(check)


def _phone(value: str | None) -> str | None:
    if not value:
        return None
    if not PHONE_RE.match(value) or not any(ch.isdigit() for ch in value):
        raise ValueError("Use digits, spaces and + ( ) - . only, like +49 30 1234567.")
    return value


def _split_tags(value: object) -> object:
    if isinstance(value, str):
        return [part for part in value.split(",") if part.strip()]
    return value


def _tags(value: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for raw in value:
        tag = _clean_text(" ".join(raw.split()))
        if len(tag) > MAX_INTEREST_LENGTH:
            raise ValueError(f"Keep each interest to at most {MAX_INTEREST_LENGTH} characters.")
        if tag:
            seen.setdefault(tag.casefold(), tag)
    if len(seen) > MAX_INTERESTS:
        raise ValueError(f"Enter at most {MAX_INTERESTS} interests.")
    return list(seen.values())


def check_password(password: str) -> str | None:
    """The message for a password that cannot be used, or None."""
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    return None


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_clean_text)]
EventName = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_clean_text)]
Text200 = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_clean_text)]
Email = Annotated[str, Field(max_length=320), AfterValidator(_email)]
Timezone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
Slug = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(_slug)]
Tagline = Annotated[str, Field(max_length=300), AfterValidator(_clean_text)]
Description = Annotated[str, Field(max_length=20_000), AfterValidator(_clean_multiline)]
Tags = Annotated[
    list[Annotated[str, Field(max_length=200)]],
    BeforeValidator(_split_tags),
    Field(max_length=50),
    AfterValidator(_tags),
]


def localize(value: dt.datetime, tz: str | None) -> dt.datetime:
    """A naive value is wall-clock time in the event's zone; the result is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz or "UTC"))
    return value.astimezone(dt.UTC)


class EventCreate(BaseModel):
    """A new event; naive start/end times are read in `timezone` and stored in UTC."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: EventName
    slug: Slug
    timezone: Timezone = "UTC"
    starts_at: dt.datetime
    ends_at: dt.datetime
    tagline: Tagline = ""
    description: Description = ""
    status: EventStatus = EventStatus.draft

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, value: dt.datetime, info: ValidationInfo) -> dt.datetime:
        value = localize(value, info.data.get("timezone"))
        starts = info.data.get("starts_at")
        if info.field_name == "ends_at" and starts is not None and value <= starts:
            raise ValueError("The event must end after it starts.")
        return value


class EventUpdate(BaseModel):
    """Changes to an event; naive times are read in the (new or current) event time zone."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: EventName | None = None
    slug: Slug | None = None
    timezone: Timezone | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    tagline: Tagline | None = None
    description: Description | None = None
    status: EventStatus | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _no_nulls(cls, value: object) -> object:
        if value is None:
            raise ValueError("This field cannot be null; leave it out to keep its value.")
        return value


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    name: str
    tagline: str
    description: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    timezone: str
    status: EventStatus


# The profile fields a form edits one-to-one (consents are stored as times, see the service).
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "company",
    "job_title",
    "job_level",
    "company_type",
    "company_size",
    "industry",
    "country",
    "budget",
    "timeframe",
    "phone",
    "interests",
)


class RegistrationForm(BaseModel):
    """The attendee profile of one event, as entered in the registration or profile form."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    first_name: Name
    last_name: Name
    email: Email
    company: Text200
    job_title: Text200
    job_level: Annotated[str, _choice(vocab.JOB_LEVELS, "a job level")]
    company_type: Annotated[str, _choice(vocab.COMPANY_TYPES, "a company type")]
    company_size: Annotated[str, _choice(vocab.COMPANY_SIZES, "a company size")]
    industry: Annotated[str, _choice(vocab.INDUSTRIES, "an industry")]
    country: Annotated[str, Field(max_length=2)]
    budget: Annotated[str, _choice(vocab.BUDGETS, "a budget status")]
    timeframe: Annotated[str, _choice(vocab.TIMEFRAMES, "a purchase timeframe")]
    phone: Annotated[str | None, Field(max_length=40), AfterValidator(_phone)] = None
    interests: Tags = []
    consent_share: bool = False
    consent_marketing: bool = False

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not value:
            raise ValueError(REQUIRED)
        if value.upper() not in vocab.countries():
            raise ValueError("Choose a country from the list.")
        return value.upper()


class RegistrationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: int
    email: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    job_title: str | None
    job_level: str
    company_type: str
    company_size: str
    industry: str
    country: str
    budget: str
    timeframe: str
    phone: str | None
    interests: list[str]
    consent_share_at: dt.datetime | None
    consent_marketing_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class InvitationCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    role: Literal["staff", "organizer"]
    exhibitor_id: int | None = None
    email: Annotated[str | None, Field(max_length=320)] = None

    @field_validator("exhibitor_id", mode="before")
    @classmethod
    def _blank_exhibitor(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("email")
    @classmethod
    def _optional_email(cls, value: str | None) -> str | None:
        return _email(value) if value else None


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1):
        return REQUIRED
    if kind == "string_too_long":
        size = len(error["input"]) if isinstance(error["input"], str) else None
        entered = f" (you entered {size})" if size is not None else ""
        return f"Use at most {ctx.get('max_length')} characters{entered}."
    if kind == "too_long":
        return "Too many values."
    if kind.startswith(("datetime", "date_")):
        return "Enter a date and time."
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind in ("enum", "literal_error"):
        return "Choose one of the listed options."
    if kind == "extra_forbidden":
        return "This field is not known."
    return error["msg"]


def form_errors(exc: ValidationError) -> dict[str, str]:
    """One plain-language message per field (the first problem found)."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        errors.setdefault(name, _message(error))
    return errors
