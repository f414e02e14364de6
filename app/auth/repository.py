"""Every query of accounts: accounts, browser sessions, failed logins, API tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, ApiToken, AuthSession, LoginFailure
from app.events.models import Role, RoleName


async def get_account_by_email(db: AsyncSession, email: str) -> Account | None:
    return (await db.execute(select(Account).where(Account.email == email))).scalar_one_or_none()


async def email_taken(db: AsyncSession, email: str) -> bool:
    return bool(await db.scalar(select(exists().where(Account.email == email))))


async def is_organizer_anywhere(db: AsyncSession, account_id: int) -> bool:
    query = exists().where(Role.account_id == account_id, Role.role == RoleName.organizer)
    return bool(await db.scalar(select(query)))


async def delete_session(db: AsyncSession, token_hash: str) -> None:
    await db.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash))


async def delete_sessions_of(
    db: AsyncSession, account_id: int, *, except_hash: str | None = None
) -> None:
    query = delete(AuthSession).where(AuthSession.account_id == account_id)
    if except_hash is not None:
        query = query.where(AuthSession.token_hash != except_hash)
    await db.execute(query)


async def delete_expired_sessions(db: AsyncSession, account_id: int, now: dt.datetime) -> None:
    await db.execute(
        delete(AuthSession).where(
            AuthSession.account_id == account_id, AuthSession.expires_at <= now
        )
    )


async def recent_failures(
    db: AsyncSession, key: str, *, since: dt.datetime, limit: int
) -> Sequence[dt.datetime]:
    """The times of the latest `limit` failures under `key` since `since`, newest first."""
    rows = await db.scalars(
        select(LoginFailure.at)
        .where(LoginFailure.key == key, LoginFailure.at > since)
        .order_by(LoginFailure.at.desc())
        .limit(limit)
    )
    return rows.all()


async def add_failures(db: AsyncSession, keys: Sequence[str], at: dt.datetime) -> None:
    db.add_all([LoginFailure(key=key, at=at) for key in keys])
    await db.flush()


async def prune_failures(db: AsyncSession, *, before: dt.datetime) -> None:
    await db.execute(delete(LoginFailure).where(LoginFailure.at <= before))


async def clear_failures(db: AsyncSession, key: str) -> None:
    await db.execute(delete(LoginFailure).where(LoginFailure.key == key))


async def list_tokens(db: AsyncSession, account_id: int) -> Sequence[ApiToken]:
    rows = await db.scalars(
        select(ApiToken)
        .where(ApiToken.account_id == account_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return rows.all()


async def get_token(db: AsyncSession, account_id: int, token_id: int) -> ApiToken | None:
    return (
        await db.execute(
            select(ApiToken).where(ApiToken.id == token_id, ApiToken.account_id == account_id)
        )
    ).scalar_one_or_none()
