"""Who is asking: Annotated dependencies for accounts, per-event roles and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import csrf
from app.auth.models import Account, ApiToken, AuthSession
from app.auth.security import digest
from app.db import DbSession, utcnow
from app.errors import Forbidden, NotFound, Unauthenticated
from app.events.models import Event, Role, RoleName

SESSION_COOKIE = "expohall_session"


# Statements run on every request and every websocket, built once: building a SELECT and
# its cache key costs more than running it (about 270 of 480 µs on the test machine).
_ACCOUNT_BY_SESSION = (
    select(Account)
    .join(AuthSession, AuthSession.account_id == Account.id)
    .where(
        AuthSession.token_hash == bindparam("token_hash"),
        AuthSession.expires_at > bindparam("now"),
        Account.erased_at.is_(None),
    )
)
_ROLES = select(Role.role, Role.exhibitor_id).where(
    Role.event_id == bindparam("event_id"), Role.account_id == bindparam("account_id")
)


async def account_by_session(db: AsyncSession, token: str) -> Account | None:
    """The live, non-erased account a session cookie's token belongs to."""
    found = await db.execute(_ACCOUNT_BY_SESSION, {"token_hash": digest(token), "now": utcnow()})
    return found.scalar_one_or_none()


async def _account_from_cookie(request: Request, db: DbSession) -> Account | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await account_by_session(db, token)


async def _account_from_bearer(request: Request, db: DbSession) -> Account | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    api_token = (
        await db.execute(
            select(ApiToken).where(
                ApiToken.token_hash == digest(token.strip()), ApiToken.revoked_at.is_(None)
            )
        )
    ).scalar_one_or_none()
    if api_token is None:
        raise Unauthenticated("That API token is not valid or has been revoked.")
    api_token.last_used_at = utcnow()
    account = await db.get(Account, api_token.account_id)
    if account is None or account.erased_at is not None:
        raise Unauthenticated("That API token is not valid or has been revoked.")
    return account


@dataclass(frozen=True, slots=True)
class Viewer:
    """A plain copy of who is logged in, for templates: safe to read after a rollback."""

    id: int
    email: str | None
    display_name: str
    is_admin: bool

    @classmethod
    def of(cls, account: Account) -> Viewer:
        return cls(account.id, account.email, account.display_name, account.is_admin)


async def viewer_for(request: Request) -> Viewer | None:
    """Who is logged in, for an error page: looked up afresh when the request never got to it."""
    if hasattr(request.state, "viewer"):
        viewer: Viewer | None = request.state.viewer
        return viewer
    if SESSION_COOKIE not in request.cookies:
        return None
    try:
        async with request.app.state.sessionmaker() as db:
            account = await _account_from_cookie(request, db)
            return Viewer.of(account) if account is not None else None
    except Exception:  # an error page must render even when the database is down
        return None


async def optional_account(request: Request, db: DbSession) -> Account | None:
    """The logged-in account (browser cookie or API bearer token), cached on the request."""
    if hasattr(request.state, "account"):
        cached: Account | None = request.state.account
        return cached
    account = await _account_from_bearer(request, db)
    if account is None:
        account = await _account_from_cookie(request, db)
        if account is not None and request.url.path.startswith("/api"):
            # A cookie-authenticated API call is a browser: it must prove same-origin.
            await csrf.verify_csrf(request)
    request.state.account = account
    request.state.viewer = Viewer.of(account) if account is not None else None
    return account


async def require_account(
    account: Annotated[Account | None, Depends(optional_account)],
) -> Account:
    if account is None:
        raise Unauthenticated()
    return account


MaybeAccount = Annotated[Account | None, Depends(optional_account)]
CurrentAccount = Annotated[Account, Depends(require_account)]


async def get_event(slug: str, db: DbSession) -> Event:
    event = (await db.execute(select(Event).where(Event.slug == slug))).scalar_one_or_none()
    if event is None:
        raise NotFound("There is no event at this address.")
    return event


EventDep = Annotated[Event, Depends(get_event)]


@dataclass(frozen=True, slots=True)
class Membership:
    """An account's roles in one event."""

    account: Account
    event: Event
    roles: frozenset[str]
    exhibitor_ids: frozenset[int]

    @property
    def is_organizer(self) -> bool:
        return RoleName.organizer in self.roles or self.account.is_admin

    @property
    def is_staff(self) -> bool:
        return bool(self.exhibitor_ids)

    @property
    def is_attendee(self) -> bool:
        return RoleName.attendee in self.roles

    def staffs(self, exhibitor_id: int) -> bool:
        return exhibitor_id in self.exhibitor_ids


async def membership_of(db: DbSession, account: Account, event: Event) -> Membership:
    rows = (await db.execute(_ROLES, {"event_id": event.id, "account_id": account.id})).all()
    return Membership(
        account=account,
        event=event,
        roles=frozenset(r.role for r in rows),
        exhibitor_ids=frozenset(r.exhibitor_id for r in rows if r.exhibitor_id is not None),
    )


async def get_membership(account: CurrentAccount, event: EventDep, db: DbSession) -> Membership:
    return await membership_of(db, account, event)


async def require_organizer(
    membership: Annotated[Membership, Depends(get_membership)],
) -> Membership:
    if not membership.is_organizer:
        raise Forbidden("Only the event's organizers can do this.")
    return membership


async def require_staff(membership: Annotated[Membership, Depends(get_membership)]) -> Membership:
    if not (membership.is_staff or membership.is_organizer):
        raise Forbidden("Only the exhibitor's staff can do this.")
    return membership


async def require_attendee(
    membership: Annotated[Membership, Depends(get_membership)],
) -> Membership:
    if not membership.is_attendee:
        raise Forbidden("Register for this event first.")
    return membership


Member = Annotated[Membership, Depends(get_membership)]
Organizer = Annotated[Membership, Depends(require_organizer)]
BoothStaff = Annotated[Membership, Depends(require_staff)]
Attendee = Annotated[Membership, Depends(require_attendee)]
