"""Request and response bodies of the leads API."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    WithJsonSchema,
)
from pydantic.networks import validate_email

from app.leads.rules import ExhibitorOverride, Ruleset

CallOutcome = Literal["connected", "voicemail", "no_answer", "wrong_number"]  # vocab.CALL_OUTCOMES


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


@functools.lru_cache(maxsize=65_536)
def _checked_short_email(value: str) -> str:
    return validate_email(value)[1]


def checked_email(value: str) -> str:
    """`value` normalized as `EmailStr` normalizes it; PydanticCustomError when it is no email
    address. Each distinct address is checked once per process (email-validator's syntax
    and IDNA check costs about 25 µs); only values an address can be (254 characters) are
    remembered: at most about 25 MiB."""
    if len(value) > 254:
        return validate_email(value)[1]
    return _checked_short_email(value)


BatchEmail = Annotated[
    str, Field(min_length=1, max_length=320), WithJsonSchema({"type": "string", "format": "email"})
]
"""A batch item's email: looked up as given, and checked as an address (`checked_email`)
only when no attendee has it, so the items of known attendees cost no address check."""


class ActivityCreate(_In):
    """One item of a batch from an outside source; the attendee is named by email."""

    email: BatchEmail
    type: str = Field(max_length=32)
    idempotency_key: str = Field(min_length=1, max_length=200)
    at: AwareDatetime | None = None
    value: float | None = None
    exhibitor_id: int | None = None
    booth_id: int | None = None
    session_id: int | None = None
    resource_id: int | None = None
    meta: dict[str, JsonValue] | None = None


class ActivityBatch(_In):
    # Items are validated one by one, so one bad item does not fail the batch.
    items: list[dict[str, JsonValue]] = Field(min_length=1, max_length=1000)


class ItemError(BaseModel):
    code: str
    message: str
    field: str | None = None


class ItemResult(BaseModel):
    index: int
    status: Literal["created", "duplicate", "error"]
    id: int | None = None
    error: ItemError | None = None


class BatchResult(BaseModel):
    created: int
    duplicates: int
    errors: int
    items: list[ItemResult]


class ScoringUpdate(_In):
    rules: Ruleset
    overrides: dict[int, ExhibitorOverride] = Field(default_factory=dict)


class RescoreRead(BaseModel):
    total: int | None
    done: int
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None


class ScoringRead(BaseModel):
    version: int
    rules: Ruleset
    overrides: dict[int, ExhibitorOverride]
    created_at: dt.datetime | None
    rescore: RescoreRead | None


class ContributionRead(BaseModel):
    rule: str
    points: float
    label: str
    activity_ids: list[int] = []  # rows written before reasons named their activities
    dimension: str


class LeadRead(BaseModel):
    id: int
    registration_id: int
    exhibitor_id: int | None
    first_name: str | None
    last_name: str | None
    email: str | None
    company: str | None
    job_title: str | None
    fit: float
    grade: str
    engagement: float
    tier: int
    cell: str
    buying_stage: str | None
    stage: str
    owner_id: int | None
    mql_at: dt.datetime | None
    last_activity_at: dt.datetime | None
    rules_version: int
    reasons: list[ContributionRead]
    updated_at: dt.datetime


class LeadPage(BaseModel):
    items: list[LeadRead]
    total: int
    limit: int
    offset: int


class ActivityRead(BaseModel):
    id: int
    type: str
    at: dt.datetime
    value: float | None
    exhibitor_id: int | None
    session_id: int | None
    resource_id: int | None
    label: str


class TransitionRead(BaseModel):
    id: int
    from_stage: str
    to_stage: str
    reason: str | None
    note: str
    actor_id: int | None
    at: dt.datetime


class NoteRead(BaseModel):
    id: int
    author_id: int | None
    body: str
    at: dt.datetime


class CallRead(BaseModel):
    id: int
    author_id: int | None
    outcome: str
    note: str
    activity_id: int | None
    at: dt.datetime


class LeadDetail(LeadRead):
    engagement_now: float  # decayed to this moment; `engagement` is as of the last update
    tier_now: int
    cell_now: str
    allowed_moves: list[str]
    timeline: list[ActivityRead]
    transitions: list[TransitionRead]
    notes: list[NoteRead]
    calls: list[CallRead]


class TransitionCreate(_In):
    to: str = Field(max_length=16)
    reason: str | None = Field(default=None, max_length=40)
    note: str | None = Field(default=None, max_length=2000)


class CallCreate(_In):
    outcome: CallOutcome
    note: str = Field(default="", max_length=5000)


class NoteCreate(_In):
    body: str = Field(min_length=1, max_length=5000)
