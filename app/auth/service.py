"""Accounts: sign-up, rate-limited login, browser sessions, password changes and API tokens."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository as repo
from app.auth.errors import (
    EmailTaken,
    InvalidCredentials,
    LoginRateLimited,
    TokenNotFound,
    TokensForbidden,
    WrongPassword,
)
from app.auth.models import Account, ApiToken, AuthSession
from app.auth.schemas import AccountCreate, ApiTokenCreate, LoginForm, PasswordChange
from app.auth.security import digest, hash_password, needs_rehash, new_token, verify_password
from app.db import utcnow

log = structlog.get_logger()

RATE_WINDOW = dt.timedelta(minutes=1)
TOKEN_PREFIX = "exh_"  # noqa: S105 (a label, not a secret)
TOKEN_VISIBLE_CHARS = 12


def _failure_key(kind: str, value: str) -> str:
    # Hashed so the table holds no email addresses, and every key has the same length.
    return f"{kind}:{digest(value)}"


async def _hash(password: str) -> str:
    # argon2 takes tens of milliseconds of CPU on purpose: keep it off the event loop.
    return await asyncio.to_thread(hash_password, password)


async def _verify(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


class AccountService:
    async def sign_up(self, db: AsyncSession, *, data: AccountCreate) -> Account:
        if await repo.email_taken(db, data.email):
            raise EmailTaken()
        account = Account(
            email=data.email,
            display_name=data.display_name,
            password_hash=await _hash(data.password),
        )
        try:
            # A savepoint, so a concurrent sign-up with the same email is a form error, not a 500.
            async with db.begin_nested():
                db.add(account)
        except IntegrityError:
            raise EmailTaken() from None
        log.info("auth.signed_up", account_id=account.id)
        return account

    async def log_in(
        self, db: AsyncSession, *, data: LoginForm, address: str, attempts_per_minute: int
    ) -> Account:
        """The account whose password this is; refused while the email or address is limited.

        Failures are recorded in the caller's transaction: a page that catches
        InvalidCredentials and answers normally commits them.
        """
        now = utcnow()
        keys = [_failure_key("email", data.email), _failure_key("address", address)]
        await repo.prune_failures(db, before=now - RATE_WINDOW)
        await self._check_rate(db, keys=keys, now=now, limit=attempts_per_minute)
        account = await repo.get_account_by_email(db, data.email)
        password_hash = account.password_hash if account is not None else None
        if account is None or not await _verify(password_hash, data.password):
            await repo.add_failures(db, keys, now)
            log.info("auth.login_failed", address=address, known=account is not None)
            raise InvalidCredentials()
        if password_hash is not None and needs_rehash(password_hash):
            account.password_hash = await _hash(data.password)
        await repo.clear_failures(db, keys[0])
        log.info("auth.logged_in", account_id=account.id)
        return account

    async def _check_rate(
        self, db: AsyncSession, *, keys: Sequence[str], now: dt.datetime, limit: int
    ) -> None:
        wait = 0
        for key in keys:
            times = await repo.recent_failures(db, key, since=now - RATE_WINDOW, limit=limit)
            if len(times) >= limit:
                # One more try fits once the oldest of the latest `limit` leaves the window.
                seconds = math.ceil((times[-1] + RATE_WINDOW - now).total_seconds())
                wait = max(wait, seconds, 1)
        if wait:
            unit = "second" if wait == 1 else "seconds"
            raise LoginRateLimited(
                f"Too many login attempts. Try again in {wait} {unit}.", retry_after=wait
            )

    async def start_session(
        self,
        db: AsyncSession,
        *,
        account: Account,
        days: int,
        user_agent: str = "",
        replacing: str | None = None,
    ) -> str:
        """A new session token for a fresh login; the browser's previous session ends."""
        now = utcnow()
        if replacing:
            await repo.delete_session(db, digest(replacing))
        await repo.delete_expired_sessions(db, account.id, now)
        token = new_token()
        db.add(
            AuthSession(
                token_hash=digest(token),
                account_id=account.id,
                expires_at=now + dt.timedelta(days=days),
                user_agent=user_agent[:300],
            )
        )
        await db.flush()
        return token

    async def end_session(self, db: AsyncSession, *, token: str) -> None:
        await repo.delete_session(db, digest(token))

    async def change_password(
        self,
        db: AsyncSession,
        *,
        account: Account,
        data: PasswordChange,
        current_token: str | None,
    ) -> None:
        """Set a new password and log out every other browser of the account."""
        if not await _verify(account.password_hash, data.current_password):
            raise WrongPassword()
        account.password_hash = await _hash(data.new_password)
        keep = digest(current_token) if current_token else None
        await repo.delete_sessions_of(db, account.id, except_hash=keep)
        await db.flush()
        log.info("auth.password_changed", account_id=account.id)


@dataclass(frozen=True, slots=True)
class NewApiToken:
    """A freshly created token: `secret` is shown once and never stored."""

    token: ApiToken
    secret: str


class ApiTokenService:
    async def can_create(self, db: AsyncSession, *, account: Account) -> bool:
        return account.is_admin or await repo.is_organizer_anywhere(db, account.id)

    async def create(
        self, db: AsyncSession, *, account: Account, data: ApiTokenCreate
    ) -> NewApiToken:
        if not await self.can_create(db, account=account):
            raise TokensForbidden()
        secret = TOKEN_PREFIX + new_token(32)
        token = ApiToken(
            account_id=account.id,
            name=data.name,
            prefix=secret[:TOKEN_VISIBLE_CHARS],
            token_hash=digest(secret),
        )
        db.add(token)
        await db.flush()
        log.info("auth.token_created", account_id=account.id, token_id=token.id)
        return NewApiToken(token=token, secret=secret)

    async def list(self, db: AsyncSession, *, account: Account) -> Sequence[ApiToken]:
        return await repo.list_tokens(db, account.id)

    async def revoke(self, db: AsyncSession, *, account: Account, token_id: int) -> ApiToken:
        token = await repo.get_token(db, account.id, token_id)
        if token is None:
            raise TokenNotFound()
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            await db.flush()
            log.info("auth.token_revoked", account_id=account.id, token_id=token.id)
        return token


account = AccountService()
api_token = ApiTokenService()
