"""Administrative account operations used by the CLI."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.models import Account
from app.auth.security import hash_password
from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.events.models import Event, Role, RoleName

MIN_PASSWORD = 10


async def create_organizer_account(
    settings: Settings, *, email: str, password: str, event_slug: str | None
) -> str:
    """Create (or promote) an admin organizer; optionally make them organizer of one event."""
    from email_validator import EmailNotValidError, validate_email

    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"Not a valid email address: {exc}") from None
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"The password must have at least {MIN_PASSWORD} characters.")
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            account = (
                await db.execute(select(Account).where(Account.email == email))
            ).scalar_one_or_none()
            created = account is None
            if account is None:
                account = Account(email=email, display_name=email.split("@")[0])
                db.add(account)
            account.password_hash = hash_password(password)
            account.is_admin = True
            await db.flush()
            if event_slug:
                event = (
                    await db.execute(select(Event).where(Event.slug == event_slug))
                ).scalar_one_or_none()
                if event is None:
                    raise ValueError(f"There is no event with the slug {event_slug!r}.")
                db.add(Role(event_id=event.id, account_id=account.id, role=RoleName.organizer))
    finally:
        await engine.dispose()
    verb = "Created" if created else "Updated"
    return f"{verb} organizer {email} (admin: organizer of every event)."
