"""Every query of the events domain: events, roles, invitations, registrations, privacy rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, ApiToken, AuthSession
from app.booths.models import Exhibitor
from app.events.models import Event, EventStatus, Invitation, Registration, Role, RoleName


async def event_by_slug(db: AsyncSession, slug: str) -> Event | None:
    return (await db.execute(select(Event).where(Event.slug == slug))).scalar_one_or_none()


async def slug_taken(db: AsyncSession, slug: str, *, except_id: int | None = None) -> bool:
    query = select(exists().where(Event.slug == slug, Event.id != (except_id or 0)))
    return bool((await db.execute(query)).scalar())


async def visible_events(db: AsyncSession, account: Account | None) -> Sequence[Event]:
    """Live and ended events, plus the drafts `account` organizes (every draft for admins)."""
    public = Event.status.in_([EventStatus.live, EventStatus.ended])
    condition: ColumnElement[bool] = public
    if account is not None and account.is_admin:
        condition = Event.id.is_not(None)
    elif account is not None:
        organizes = exists().where(
            Role.event_id == Event.id,
            Role.account_id == account.id,
            Role.role == RoleName.organizer,
        )
        condition = or_(public, organizes)
    query = select(Event).where(condition).order_by(Event.starts_at, Event.id)
    return (await db.execute(query)).scalars().all()


async def organizes_any(db: AsyncSession, account_id: int) -> bool:
    query = select(exists().where(Role.account_id == account_id, Role.role == RoleName.organizer))
    return bool((await db.execute(query)).scalar())


async def role_of(db: AsyncSession, *, event_id: int, account_id: int, role: str) -> Role | None:
    query = select(Role).where(
        Role.event_id == event_id, Role.account_id == account_id, Role.role == role
    )
    return (await db.execute(query)).scalar_one_or_none()


async def add_role(
    db: AsyncSession, *, event_id: int, account_id: int, role: str, exhibitor_id: int | None
) -> Role:
    row = Role(event_id=event_id, account_id=account_id, role=role, exhibitor_id=exhibitor_id)
    db.add(row)
    await db.flush()
    return row


async def exhibitors_of(db: AsyncSession, event_id: int) -> Sequence[Exhibitor]:
    query = select(Exhibitor).where(Exhibitor.event_id == event_id).order_by(Exhibitor.name)
    return (await db.execute(query)).scalars().all()


async def exhibitor_in(db: AsyncSession, *, event_id: int, exhibitor_id: int) -> Exhibitor | None:
    query = select(Exhibitor).where(Exhibitor.id == exhibitor_id, Exhibitor.event_id == event_id)
    return (await db.execute(query)).scalar_one_or_none()


async def add_invitation(db: AsyncSession, invitation: Invitation) -> Invitation:
    db.add(invitation)
    await db.flush()
    return invitation


async def invitation_by_hash(db: AsyncSession, token_hash: str) -> Invitation | None:
    query = select(Invitation).where(Invitation.token_hash == token_hash)
    return (await db.execute(query)).scalar_one_or_none()


async def invitations_of(db: AsyncSession, event_id: int) -> Sequence[Invitation]:
    query = (
        select(Invitation)
        .where(Invitation.event_id == event_id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    return (await db.execute(query)).scalars().all()


async def account_by_email(db: AsyncSession, email: str) -> Account | None:
    query = select(Account).where(Account.email == email)
    return (await db.execute(query)).scalar_one_or_none()


async def add_account(db: AsyncSession, account: Account) -> Account:
    db.add(account)
    await db.flush()
    return account


async def add_auth_session(db: AsyncSession, auth_session: AuthSession) -> None:
    db.add(auth_session)
    await db.flush()


async def registration_of(
    db: AsyncSession, *, event_id: int, account_id: int
) -> Registration | None:
    query = select(Registration).where(
        Registration.event_id == event_id, Registration.account_id == account_id
    )
    return (await db.execute(query)).scalar_one_or_none()


async def registration_by_email(
    db: AsyncSession, *, event_id: int, email: str
) -> Registration | None:
    query = select(Registration).where(
        Registration.event_id == event_id, Registration.email == email
    )
    return (await db.execute(query)).scalar_one_or_none()


async def add_registration(db: AsyncSession, registration: Registration) -> Registration:
    db.add(registration)
    await db.flush()
    return registration


async def registrations_of_account(db: AsyncSession, account_id: int) -> Sequence[Registration]:
    query = (
        select(Registration).where(Registration.account_id == account_id).order_by(Registration.id)
    )
    return (await db.execute(query)).scalars().all()


async def roles_of_account(db: AsyncSession, account_id: int) -> Sequence[Role]:
    query = select(Role).where(Role.account_id == account_id).order_by(Role.id)
    return (await db.execute(query)).scalars().all()


async def events_by_ids(db: AsyncSession, ids: set[int]) -> dict[int, Event]:
    if not ids:
        return {}
    rows = (await db.execute(select(Event).where(Event.id.in_(ids)))).scalars().all()
    return {row.id: row for row in rows}


async def delete_credentials(db: AsyncSession, account_id: int) -> None:
    """Log the account out everywhere: browser sessions and API tokens."""
    await db.execute(delete(AuthSession).where(AuthSession.account_id == account_id))
    await db.execute(delete(ApiToken).where(ApiToken.account_id == account_id))


async def delete_session_by_hash(db: AsyncSession, token_hash: str) -> None:
    await db.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash))


async def rows_where(
    db: AsyncSession, table: Table, condition: ColumnElement[bool]
) -> list[dict[str, Any]]:
    """Rows of any table, as plain dicts (for the data export)."""
    query = select(table).where(condition)
    pk = list(table.primary_key.columns)
    if pk:
        query = query.order_by(*pk)
    return [dict(row) for row in (await db.execute(query)).mappings().all()]


async def update_where(
    db: AsyncSession, table: Table, condition: ColumnElement[bool], values: Mapping[str, Any]
) -> None:
    await db.execute(
        update(table)
        .where(condition)
        .values(dict(values))
        .execution_options(synchronize_session=False)
    )


async def event_by_id(db: AsyncSession, event_id: int) -> Event | None:
    return await db.get(Event, event_id)


async def exhibitor_by_id(db: AsyncSession, exhibitor_id: int) -> Exhibitor | None:
    return await db.get(Exhibitor, exhibitor_id)
