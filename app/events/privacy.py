"""Download-my-data and delete-my-account, generic over every table that points at a person.

A row is about an account when one of its columns has a foreign key to `accounts`
(or, without a foreign key, is named `account_id`); it is about a registration when a
column points at `registrations` (or is named `registration_id` / `attendee_id`).
Columns that record who acted on someone else's row (`deleted_by_id`, `owner_id`, ...)
do not count: a moderator's export must not contain the messages they removed. A domain
can name its owner columns explicitly in OWNER_COLUMNS. The export includes every such
row; erasure blanks the columns listed in PERSONAL_COLUMNS. Later domains register
their columns at import time, for example:

    PERSONAL_COLUMNS.setdefault("chat_messages", []).append("body")
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from typing import Any

import structlog
from sqlalchemy import Column, ColumnElement, String, Table, Text, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.db import utcnow
from app.events import repository as repo
from app.integrations.models import WebhookDelivery
from app.models import Base

log = structlog.get_logger()

PERSONAL_COLUMNS: dict[str, list[str]] = {
    "accounts": ["email", "password_hash", "display_name"],
    "registrations": [
        "email",
        "first_name",
        "last_name",
        "company",
        "job_title",
        "phone",
        "consent_share_at",
        "consent_marketing_at",
    ],
    "email_messages": ["to_address"],
    "webhook_deliveries": ["body"],
}
# Table name -> the columns naming the person a row is about (overrides the detection).
OWNER_COLUMNS: dict[str, list[str]] = {}
ACCOUNT_NAMES = frozenset({"account_id"})
ACTOR_NAMES = frozenset({"owner_id", "actor_id"})
REGISTRATION_NAMES = frozenset({"registration_id", "attendee_id"})
# Secrets stay out of the export even though they are "about" the account.
SECRET_MARKERS = ("_hash", "password", "secret")


def _is_secret(name: str) -> bool:
    return any(marker in name for marker in SECRET_MARKERS)


def _references(table: Table) -> tuple[list[Column[Any]], list[Column[Any]]]:
    """The columns of `table` that point at accounts, and those that point at registrations."""
    to_accounts: list[Column[Any]] = []
    to_registrations: list[Column[Any]] = []
    explicit = OWNER_COLUMNS.get(table.name)
    for column in table.columns:
        if explicit is not None and column.name not in explicit:
            continue
        if explicit is None and (column.name in ACTOR_NAMES or column.name.endswith("_by_id")):
            continue
        targets = {fk.column.table.name for fk in column.foreign_keys}
        if "accounts" in targets or (not targets and column.name in ACCOUNT_NAMES):
            to_accounts.append(column)
        elif "registrations" in targets or (not targets and column.name in REGISTRATION_NAMES):
            to_registrations.append(column)
    return to_accounts, to_registrations


def _about(
    table: Table, account_id: int, registration_ids: list[int]
) -> ColumnElement[bool] | None:
    """Which rows of `table` are about the account, or None when the table never is."""
    if table.name == "accounts":
        return table.c.id == account_id
    to_accounts, to_registrations = _references(table)
    conditions = [column == account_id for column in to_accounts]
    if registration_ids:
        conditions += [column.in_(registration_ids) for column in to_registrations]
    return or_(*conditions) if conditions else None


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return None
    return value


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {str(key): _jsonable(value) for key, value in row.items() if not _is_secret(key)}


async def export(db: AsyncSession, *, account: Account) -> dict[str, Any]:
    """Everything stored about `account`: its fields, registrations, roles and related rows."""
    registration_ids = [r.id for r in await repo.registrations_of_account(db, account.id)]
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in Base.metadata.sorted_tables:
        condition = _about(table, account.id, registration_ids)
        if condition is None:
            continue
        rows = await repo.rows_where(db, table, condition)
        if rows:
            tables[table.name] = [_clean(row) for row in rows]
    accounts = tables.pop("accounts", [])
    return {
        "exported_at": utcnow().isoformat(),
        "account": accounts[0] if accounts else {},
        "registrations": tables.pop("registrations", []),
        "roles": tables.pop("roles", []),
        "other": tables,
    }


def _blank(column: Column[Any]) -> object:
    if column.nullable:
        return None
    if isinstance(column.type, String | Text):
        return ""
    raise TypeError(f"cannot blank {column.table.name}.{column.name}: make it nullable")


async def erase(db: AsyncSession, *, account: Account, now: dt.datetime | None = None) -> None:
    """Blank every personal column about `account`, log it out everywhere, keep the rows."""
    now = now or utcnow()
    registrations = list(await repo.registrations_of_account(db, account.id))
    registration_ids = [r.id for r in registrations]
    await repo.delete_credentials(db, account.id)
    for table in Base.metadata.sorted_tables:
        names = PERSONAL_COLUMNS.get(table.name)
        if not names:
            continue
        condition = _about(table, account.id, registration_ids)
        if condition is None:
            continue
        values: dict[str, object] = {name: _blank(table.c[name]) for name in names}
        if "erased_at" in table.c:
            values["erased_at"] = now
        await repo.update_where(db, table, condition, values)
    if registration_ids:
        await _stop_webhook_deliveries(db, registration_ids)
    for row in (account, *registrations):
        await db.refresh(row)
    log.info("account.erased", account_id=account.id, registrations=len(registration_ids))


async def _stop_webhook_deliveries(db: AsyncSession, registration_ids: list[int]) -> None:
    """Deliveries about the erased registrations that are not sent yet never will be (their
    bodies are blanked with the other personal columns)."""
    await db.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.registration_id.in_(registration_ids),
            WebhookDelivery.status == "pending",
        )
        .values(status="failed", last_error="The attendee deleted their account.")
    )
