"""The demo's login accounts (organizer, exhibitor staff, attendee) and the summary printed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Exhibitor
from app.config import Settings
from app.demo.exhibitors import EXHIBITORS
from app.events.models import Event, Registration, Role, RoleName

DEMO_PASSWORD = "expohall-demo"  # noqa: S105 - printed on purpose: it is the demo's password


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    display_name: str
    role: RoleName
    exhibitor_slug: str | None = None

    def label(self, exhibitor_names: dict[str, str]) -> str:
        if self.role is RoleName.organizer:
            return "organizer (admin)"
        if self.role is RoleName.staff and self.exhibitor_slug:
            return f"exhibitor staff, {exhibitor_names[self.exhibitor_slug]}"
        return "attendee (registered)"


LOGINS = [
    DemoLogin("organizer@expohall.test", "Olivia Grant", RoleName.organizer),
    DemoLogin("staff@expohall.test", "Nora Vogel", RoleName.staff, "forgeline"),
    DemoLogin("staff.lumora@expohall.test", "Kenji Mori", RoleName.staff, "lumora"),
    DemoLogin("staff.kestrel@expohall.test", "Hannah Kraus", RoleName.staff, "kestrel-mlops"),
    DemoLogin("staff.datastrand@expohall.test", "Luis Ortega", RoleName.staff, "datastrand"),
    DemoLogin("attendee@expohall.test", "Lena Hoffmann", RoleName.attendee),
]


async def _account(db: AsyncSession, email: str, display_name: str, password_hash: str) -> Account:
    """The account with this email, created or given the demo password."""
    account = (await db.execute(select(Account).where(Account.email == email))).scalar_one_or_none()
    if account is None:
        account = Account(email=email, display_name=display_name)
        db.add(account)
    account.password_hash = password_hash
    await db.flush()
    return account


async def add_logins(
    db: AsyncSession,
    event: Event,
    exhibitors: dict[str, Exhibitor],
    *,
    password_hash: str,
    now: dt.datetime,
) -> None:
    for login in LOGINS:
        account = await _account(db, login.email, login.display_name, password_hash)
        exhibitor_id = exhibitors[login.exhibitor_slug].id if login.exhibitor_slug else None
        db.add(
            Role(
                event_id=event.id, account_id=account.id, role=login.role, exhibitor_id=exhibitor_id
            )
        )
        if login.role is RoleName.organizer:
            account.is_admin = True
        if login.role is RoleName.attendee:
            first, last = login.display_name.split(" ", 1)
            db.add(
                Registration(
                    event_id=event.id,
                    account_id=account.id,
                    email=login.email,
                    first_name=first,
                    last_name=last,
                    company="Brandt Automotive Group",
                    job_title="Head of Maintenance Engineering",
                    phone="+49 711 555 0142",
                    job_level="director",
                    company_type="end_user",
                    company_size="5001+",
                    industry="manufacturing",
                    country="DE",
                    budget="approved",
                    timeframe="3_6m",
                    interests=["predictive maintenance", "computer vision", "edge"],
                    consent_share_at=now - dt.timedelta(days=9),
                    consent_marketing_at=now - dt.timedelta(days=9),
                    created_at=now - dt.timedelta(days=9),
                    updated_at=now - dt.timedelta(days=9),
                )
            )
    await db.flush()


def summary(settings: Settings, event: Event | None, headline: str) -> str:
    """Where to go and how to log in; the CLI prints it after every `expohall demo`."""
    base = settings.base_url.rstrip("/")
    names = {spec.slug: spec.name for spec in EXHIBITORS}
    if event is None:
        return f"{headline}\nRun `expohall demo --reset` to add it next to them, then open {base}"
    lines = [headline, f"{event.name}: {base}/e/{event.slug}", "", f"Open {base}", ""]
    lines.append("Demo logins (the password is the same for all):")
    width = max(len(login.email) for login in LOGINS)
    lines.append(f"  {'EMAIL':<{width}}  {'PASSWORD':<{len(DEMO_PASSWORD)}}  ROLE")
    lines += [
        f"  {login.email:<{width}}  {DEMO_PASSWORD}  {login.label(names)}" for login in LOGINS
    ]
    return "\n".join(lines)
