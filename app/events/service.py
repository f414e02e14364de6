"""Business rules of events, roles, staff invitations and attendee registrations."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership
from app.auth.models import Account
from app.auth.schemas import MAX_DISPLAY_NAME
from app.auth.security import digest, hash_password, new_token
from app.booths.models import Exhibitor
from app.db import utcnow
from app.events import repository as repo
from app.events.errors import (
    AlreadyStaff,
    CannotCreateEvents,
    EventNotFound,
    FieldsInvalid,
    IllegalStatusChange,
    InvitationExpired,
    InvitationNotFound,
    InvitationUsed,
    InvitationWrongAccount,
    NotOrganizer,
    RegistrationInvalid,
    SlugTaken,
)
from app.events.models import Event, EventStatus, Invitation, Registration, RoleName
from app.events.schemas import (
    PROFILE_FIELDS,
    EventCreate,
    EventUpdate,
    InvitationCreate,
    RegistrationForm,
    check_password,
    localize,
)

log = structlog.get_logger()

INVITATION_LIFETIME = dt.timedelta(days=14)
# Draft -> live -> ended; an ended event may reopen (it stays open on demand anyway).
STATUS_CHANGES: dict[str, frozenset[str]] = {
    EventStatus.draft: frozenset({EventStatus.draft, EventStatus.live}),
    EventStatus.live: frozenset({EventStatus.live, EventStatus.ended}),
    EventStatus.ended: frozenset({EventStatus.ended, EventStatus.live}),
}
EMAIL_HAS_ACCOUNT = (
    "An account with this email address already exists. Log in with it to register, "
    "or use another email address."
)
EMAIL_REGISTERED = "This email address is already registered for this event by someone else."


class EventService:
    async def can_create(self, db: AsyncSession, *, account: Account) -> bool:
        return account.is_admin or await repo.organizes_any(db, account.id)

    async def create(self, db: AsyncSession, *, account: Account, data: EventCreate) -> Event:
        """Create an event and make its creator an organizer of it."""
        if not await self.can_create(db, account=account):
            raise CannotCreateEvents()
        if await repo.slug_taken(db, data.slug):
            raise SlugTaken()
        event = Event(**data.model_dump())
        try:
            async with db.begin_nested():
                db.add(event)
        except IntegrityError:
            raise SlugTaken() from None
        await repo.add_role(
            db, event_id=event.id, account_id=account.id, role=RoleName.organizer, exhibitor_id=None
        )
        log.info("event.created", event_id=event.id, account_id=account.id)
        return event

    async def update(self, db: AsyncSession, *, membership: Membership, data: EventUpdate) -> Event:
        """Apply the given fields; naive times are wall-clock times in the event's time zone."""
        if not membership.is_organizer:
            raise NotOrganizer()
        event = membership.event
        changes = data.model_dump(exclude_unset=True)
        timezone = changes.get("timezone", event.timezone)
        for name in ("starts_at", "ends_at"):
            if name in changes:
                changes[name] = localize(changes[name], timezone)
        starts = changes.get("starts_at", event.starts_at)
        ends = changes.get("ends_at", event.ends_at)
        if ends <= starts:
            raise FieldsInvalid({"ends_at": "The event must end after it starts."})
        status = changes.get("status", event.status)
        if status not in STATUS_CHANGES[event.status]:
            raise IllegalStatusChange({"status": f"A {event.status} event cannot become {status}."})
        if "slug" in changes and await repo.slug_taken(db, changes["slug"], except_id=event.id):
            raise SlugTaken()
        for name, value in changes.items():
            setattr(event, name, value)
        await db.flush()
        log.info("event.updated", event_id=event.id, fields=sorted(changes))
        return event

    async def visible(self, db: AsyncSession, *, account: Account | None) -> Sequence[Event]:
        return await repo.visible_events(db, account)

    async def get_visible(self, db: AsyncSession, *, slug: str, account: Account | None) -> Event:
        """The event at `slug`; a draft exists only for its organizers (and admins)."""
        event = await repo.event_by_slug(db, slug)
        if event is None:
            raise EventNotFound()
        if event.status == EventStatus.draft and not await self.organizes(
            db, event=event, account=account
        ):
            raise EventNotFound()
        return event

    async def organizes(self, db: AsyncSession, *, event: Event, account: Account | None) -> bool:
        if account is None:
            return False
        if account.is_admin:
            return True
        role = await repo.role_of(
            db, event_id=event.id, account_id=account.id, role=RoleName.organizer
        )
        return role is not None

    async def exhibitors(self, db: AsyncSession, *, event: Event) -> Sequence[Exhibitor]:
        return await repo.exhibitors_of(db, event.id)


class InvitationService:
    async def create(
        self,
        db: AsyncSession,
        *,
        membership: Membership,
        data: InvitationCreate,
        now: dt.datetime | None = None,
    ) -> tuple[Invitation, str]:
        """A new invitation and its token (shown once: only its digest is stored)."""
        if not membership.is_organizer:
            raise NotOrganizer()
        event = membership.event
        exhibitor_id: int | None = None
        if data.role == RoleName.staff:
            if data.exhibitor_id is None:
                raise FieldsInvalid({"exhibitor_id": "Choose the exhibitor the staff works for."})
            exhibitor = await repo.exhibitor_in(
                db, event_id=event.id, exhibitor_id=data.exhibitor_id
            )
            if exhibitor is None:
                raise FieldsInvalid({"exhibitor_id": "Choose an exhibitor of this event."})
            exhibitor_id = exhibitor.id
        now = now or utcnow()
        token = new_token()
        invitation = await repo.add_invitation(
            db,
            Invitation(
                event_id=event.id,
                role=data.role,
                exhibitor_id=exhibitor_id,
                email=data.email,
                token_hash=digest(token),
                created_by_id=membership.account.id,
                created_at=now,
                expires_at=now + INVITATION_LIFETIME,
            ),
        )
        log.info("invitation.created", event_id=event.id, invitation_id=invitation.id)
        return invitation, token

    async def open(
        self,
        db: AsyncSession,
        *,
        token: str,
        account: Account | None = None,
        now: dt.datetime | None = None,
    ) -> Invitation:
        """The invitation behind `token`, if it can still be accepted (by `account`)."""
        invitation = await repo.invitation_by_hash(db, digest(token))
        if invitation is None:
            raise InvitationNotFound()
        if invitation.accepted_at is not None:
            if account is not None and invitation.accepted_by_id == account.id:
                return invitation
            raise InvitationUsed()
        if invitation.expires_at <= (now or utcnow()):
            raise InvitationExpired()
        return invitation

    async def accept(
        self, db: AsyncSession, *, token: str, account: Account, now: dt.datetime | None = None
    ) -> Invitation:
        """Grant the invited role to `account`; accepting twice changes nothing."""
        now = now or utcnow()
        invitation = await self.open(db, token=token, account=account, now=now)
        if invitation.accepted_at is not None:
            return invitation
        if invitation.email and (account.email or "").lower() != invitation.email.lower():
            raise InvitationWrongAccount()
        role = await repo.role_of(
            db, event_id=invitation.event_id, account_id=account.id, role=invitation.role
        )
        if role is None:
            await repo.add_role(
                db,
                event_id=invitation.event_id,
                account_id=account.id,
                role=invitation.role,
                exhibitor_id=invitation.exhibitor_id,
            )
        elif role.exhibitor_id != invitation.exhibitor_id:
            raise AlreadyStaff()
        invitation.accepted_at = now
        invitation.accepted_by_id = account.id
        await db.flush()
        log.info("invitation.accepted", invitation_id=invitation.id, account_id=account.id)
        return invitation

    async def of_event(self, db: AsyncSession, *, event: Event) -> Sequence[Invitation]:
        return await repo.invitations_of(db, event.id)

    async def target(
        self, db: AsyncSession, *, invitation: Invitation
    ) -> tuple[Event, Exhibitor | None]:
        """The event (and exhibitor, for staff) an invitation is for."""
        event = await repo.event_by_id(db, invitation.event_id)
        if event is None:
            raise InvitationNotFound()
        exhibitor = (
            await repo.exhibitor_by_id(db, invitation.exhibitor_id)
            if invitation.exhibitor_id is not None
            else None
        )
        return event, exhibitor


class RegistrationService:
    async def of(self, db: AsyncSession, *, event: Event, account: Account) -> Registration | None:
        return await repo.registration_of(db, event_id=event.id, account_id=account.id)

    async def register(
        self,
        db: AsyncSession,
        *,
        event: Event,
        form: RegistrationForm,
        account: Account | None,
        password: str | None = None,
        now: dt.datetime | None = None,
    ) -> tuple[Registration, Account]:
        """Create or update the profile; a visitor without an account gets one."""
        now = now or utcnow()
        owner = await repo.account_by_email(db, form.email)
        if owner is not None and (account is None or owner.id != account.id):
            raise RegistrationInvalid({"email": EMAIL_HAS_ACCOUNT})
        current = (
            await repo.registration_of(db, event_id=event.id, account_id=account.id)
            if account is not None
            else None
        )
        by_email = await repo.registration_by_email(db, event_id=event.id, email=form.email)
        account_id = account.id if account is not None else None
        someone_else = by_email is not None and (
            (current is not None and by_email.id != current.id)
            or (by_email.account_id is not None and by_email.account_id != account_id)
        )
        if someone_else:
            raise RegistrationInvalid({"email": EMAIL_REGISTERED})
        if account is None:
            problem = check_password(password or "")
            if problem is not None:
                raise RegistrationInvalid({"password": problem})
            assert password is not None  # checked above  # noqa: S101
            # argon2 is slow on purpose: keep it off the event loop.
            password_hash = await asyncio.to_thread(hash_password, password)
            new = Account(
                email=form.email,
                password_hash=password_hash,
                display_name=f"{form.first_name} {form.last_name}"[:MAX_DISPLAY_NAME],
            )
            try:
                async with db.begin_nested():
                    account = await repo.add_account(db, new)
            except IntegrityError:
                raise RegistrationInvalid({"email": EMAIL_HAS_ACCOUNT}) from None
            log.info("account.created", account_id=account.id, via="registration")
        registration = current or by_email
        created = registration is None
        if registration is None:
            registration = Registration(event_id=event.id, created_at=now)
        try:
            # A savepoint, so a concurrent registration is a form error rather than a 500.
            async with db.begin_nested():
                registration.account_id = account.id
                self._apply(registration, form, now)
                if created:
                    await repo.add_registration(db, registration)
        except IntegrityError:
            raise RegistrationInvalid({"email": EMAIL_REGISTERED}) from None
        if (
            await repo.role_of(db, event_id=event.id, account_id=account.id, role=RoleName.attendee)
            is None
        ):
            await repo.add_role(
                db,
                event_id=event.id,
                account_id=account.id,
                role=RoleName.attendee,
                exhibitor_id=None,
            )
        log.info(
            "registration.saved",
            event_id=event.id,
            registration_id=registration.id,
            created=created,
        )
        return registration, account

    @staticmethod
    def _apply(registration: Registration, form: RegistrationForm, now: dt.datetime) -> None:
        for name in PROFILE_FIELDS:
            setattr(registration, name, getattr(form, name))
        # A consent keeps the time it was first given; withdrawing it clears the time.
        registration.consent_share_at = (
            (registration.consent_share_at or now) if form.consent_share else None
        )
        registration.consent_marketing_at = (
            (registration.consent_marketing_at or now) if form.consent_marketing else None
        )
        registration.updated_at = now


event = EventService()
invitation = InvitationService()
registration = RegistrationService()
