"""Believable behaviour for the demo's attendees, recorded through the lead engine's service.

Each persona behaves as such people do at a trade show: buyers visit a few booths for long,
download pricing and ask for a meeting; researchers read whitepapers and watch on demand;
students and competitors look around (and are graded F); drive-by visitors stop once. Then
the staff of the two platinum exhibitors work their MQLs (accept, reject, call), so their
lead lists and sales reports tell a story from the first click. Seeded: same data every load.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership, membership_of
from app.auth.models import Account
from app.booths.models import Booth, Exhibitor, Resource
from app.demo.attendees import Persona, attendee_profiles
from app.events.models import Event, Registration, Role, RoleName
from app.leads.lifecycle import transition
from app.leads.models import Lead
from app.leads.sales import add_note, log_call
from app.leads.service import record
from app.sessions.models import ProgramSession

TIER_WEIGHT = {"platinum": 10.0, "gold": 4.0, "silver": 2.0, "bronze": 1.0}
WORKED_TIERS = ("platinum",)  # whose staff work their MQLs in the demo
REJECTIONS = ("no_budget", "no_fit", "unreachable", "existing_customer", "no_need")
MINUTE = dt.timedelta(minutes=1)


@dataclass(slots=True)
class _Booth:
    exhibitor_id: int
    booth_id: int
    tier: str
    tags: frozenset[str]
    resources: list[Resource] = field(default_factory=list)

    def pick(self, rng: random.Random, stages: Sequence[str], k: int) -> list[Resource]:
        """Up to `k` resources, those of the wanted buying stages first."""
        wanted = [r for r in self.resources if r.stage in stages]
        rest = [r for r in self.resources if r.stage not in stages]
        rng.shuffle(wanted)
        rng.shuffle(rest)
        return (wanted + rest)[:k]


class _Recorder:
    """Records one attendee's activities through the service, in time order."""

    def __init__(self, db: AsyncSession, event: Event, now: dt.datetime) -> None:
        self.db, self.event, self.now = db, event, now
        self.count = 0

    async def __call__(
        self, reg: Registration, type_: str, at: dt.datetime, **values: Any
    ) -> dt.datetime:
        at = min(at, self.now)
        await record(
            self.db,
            event=self.event,
            registration=reg,
            type=type_,
            at=at,
            idempotency_key=f"demo:{reg.id}:{self.count}",
            **values,
        )
        self.count += 1
        return at


def _personas(regs: Sequence[Registration]) -> dict[int, Persona]:
    """Each registration's persona: from the generator when it made the profile, else guessed."""
    known = {p.email: p.persona for p in attendee_profiles(len(regs))}
    known |= {p.email: p.persona for p in attendee_profiles()}
    guessed: dict[int, Persona] = {}
    for reg in regs:
        persona = known.get(reg.email or "")
        if persona is None:
            if reg.job_level == "student":
                persona = Persona.student
            elif reg.company_type == "competitor":
                persona = Persona.competitor
            elif reg.budget == "approved" and reg.timeframe in ("lt_3m", "3_6m"):
                persona = Persona.buyer
            elif reg.company_type in ("partner", "reseller"):
                persona = Persona.partner
            else:
                persona = Persona.researcher
        guessed[reg.id] = persona
    return guessed


async def _booths(db: AsyncSession, event: Event) -> list[_Booth]:
    rows = await db.execute(
        select(Booth).where(Booth.event_id == event.id).order_by(Booth.exhibitor_id)
    )
    booths = {
        b.id: _Booth(b.exhibitor_id, b.id, b.tier, frozenset(t.lower() for t in b.tags))
        for b in rows.scalars()
    }
    resources = await db.execute(
        select(Resource).where(Resource.booth_id.in_(list(booths))).order_by(Resource.id)
    )
    for resource in resources.scalars():
        booths[resource.booth_id].resources.append(resource)
    return list(booths.values())


def _choose(
    rng: random.Random, booths: Sequence[_Booth], reg: Registration, k: int
) -> list[_Booth]:
    """`k` distinct booths, bigger booths and those matching the attendee's interests first."""
    interests = {i.lower() for i in reg.interests or []}
    weights = [TIER_WEIGHT.get(b.tier, 1.0) + 3.0 * len(interests & b.tags) for b in booths]
    chosen: list[_Booth] = []
    pool, pool_weights = list(booths), weights
    for _ in range(min(k, len(pool))):
        pick = rng.choices(range(len(pool)), weights=pool_weights)[0]
        chosen.append(pool.pop(pick))
        pool_weights = pool_weights[:pick] + pool_weights[pick + 1 :]
    return chosen


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one persona behaves. The favourite booth gets the attention (downloads of the
    wanted buying stages, a hand-raise, sometimes a second visit the day before); the other
    booths a visit and some minutes; then sessions, live or recorded."""

    other_booths: tuple[int, int]
    dwell: tuple[int, int]  # seconds at the favourite booth
    downloads: tuple[int, int]
    stages: tuple[str, ...]
    info: float  # chance of an info request at the favourite booth
    meeting: float
    chat: float
    came_back: float  # chance of an earlier visit the day before
    live: float  # chance of attending a session live (join and watch)
    recording: float  # chance of watching a recording
    question: float
    email_click: float


PLANS: dict[Persona, _Plan] = {
    Persona.buyer: _Plan(
        (1, 2), (360, 900), (2, 4), ("decision", "evaluation"), 1, 0.6, 0.5, 0.7, 0.5, 0, 0.2, 0.2
    ),
    Persona.evaluator: _Plan(
        (0, 2), (240, 600), (1, 3), ("evaluation", "research"), 0.3, 0, 0.2, 0.3, 0.3, 0, 0.2, 0
    ),
    Persona.researcher: _Plan((0, 1), (60, 240), (1, 1), ("research",), 0, 0, 0, 0, 0, 1, 0, 0.1),
    Persona.partner: _Plan(
        (0, 1), (120, 400), (0, 1), ("research", "evaluation"), 0.2, 0, 0.4, 0, 0, 0, 0, 0
    ),
    Persona.analyst: _Plan((0, 1), (120, 300), (0, 1), ("research",), 0, 0, 0.2, 0, 1, 0, 0.3, 0),
    Persona.competitor: _Plan(
        (0, 1), (300, 600), (1, 2), ("decision", "evaluation"), 0, 0, 0, 0, 0, 0, 0, 0
    ),
    Persona.student: _Plan((0, 1), (60, 300), (0, 1), ("research",), 0, 0, 0, 0, 0, 0.5, 0, 0),
    Persona.drive_by: _Plan((0, 0), (0, 0), (0, 0), (), 0, 0, 0, 0, 0, 0, 0, 0),
}


async def _behave(
    rec: _Recorder,
    rng: random.Random,
    reg: Registration,
    plan: _Plan,
    booths: Sequence[_Booth],
    sessions: Sequence[ProgramSession],
    start: dt.datetime,
) -> None:
    if rng.random() < plan.email_click:
        await rec(reg, "email.click", start - dt.timedelta(days=rng.randint(1, 9), hours=3))
    chosen = _choose(rng, booths, reg, 1 + rng.randint(*plan.other_booths))
    favourite, others = chosen[0], chosen[1:]
    at = start
    if rng.random() < plan.came_back:
        before = start - dt.timedelta(days=1, minutes=rng.randint(0, 120))
        await rec(reg, "booth.visit", before, booth_id=favourite.booth_id)
        await rec(reg, "booth.dwell", before + MINUTE, booth_id=favourite.booth_id, value=400)
    at = await rec(reg, "booth.visit", at, booth_id=favourite.booth_id)
    if plan.dwell[1]:
        seconds = rng.randint(*plan.dwell)
        await rec(reg, "booth.dwell", at + MINUTE, booth_id=favourite.booth_id, value=seconds)
    for resource in favourite.pick(rng, plan.stages, rng.randint(*plan.downloads)):
        at += rng.randint(1, 4) * MINUTE
        if resource.kind == "video":
            percent = float(rng.choice([35, 60, 80, 100, 100]))
            await rec(reg, "video.progress", at, resource_id=resource.id, value=percent)
        else:
            await rec(reg, "resource.download", at, resource_id=resource.id)
    for kind, chance in (("chat.message", plan.chat), ("info.request", plan.info)):
        if rng.random() < chance:
            at += 2 * MINUTE
            await rec(reg, kind, at, booth_id=favourite.booth_id)
    if rng.random() < plan.meeting:
        await rec(reg, "meeting.request", at + MINUTE, booth_id=favourite.booth_id)
    for booth in others:
        at += rng.randint(4, 15) * MINUTE
        at = await rec(reg, "booth.visit", at, booth_id=booth.booth_id)
        if plan.dwell[1] and rng.random() < 0.5:
            seconds = rng.randint(60, 300)
            await rec(reg, "booth.dwell", at + MINUTE, booth_id=booth.booth_id, value=seconds)
    await _sessions(rec, rng, reg, plan, sessions, favourite.exhibitor_id)


async def _sessions(
    rec: _Recorder,
    rng: random.Random,
    reg: Registration,
    plan: _Plan,
    sessions: Sequence[ProgramSession],
    favourite: int,
) -> None:
    """A live session (the favourite exhibitor's own talk when it has one), or a recording.
    A sponsored session counts for its sponsor's lead as well."""
    now = rec.now
    started = [s for s in sessions if s.starts_at <= now - 5 * MINUTE]
    own = [s for s in started if s.sponsor_exhibitor_id == favourite]
    if started and rng.random() < plan.live:
        session = rng.choice(own or started)
        joined = session.starts_at + rng.randint(0, 4) * MINUTE
        sponsor = {"exhibitor_id": session.sponsor_exhibitor_id}
        if joined < now:
            live = {"live": True}
            await rec(reg, "session.join", joined, session_id=session.id, meta=live, **sponsor)
            until = min(session.ends_at, now)
            watched = (until - joined).total_seconds() * rng.uniform(0.4, 1.0)
            await rec(
                reg,
                "session.watch",
                until,
                session_id=session.id,
                value=round(watched),
                meta=live,
                **sponsor,
            )
            if rng.random() < plan.question:
                at = joined + 10 * MINUTE
                await rec(reg, "question.ask", at, session_id=session.id, **sponsor)
    # Recordings of the sessions that have ended, watched since.
    ended = [s for s in sessions if s.ends_at <= now - 5 * MINUTE]
    if ended and rng.random() < plan.recording:
        session = rng.choice(ended)
        gap = max(1, int((now - session.ends_at) / MINUTE))
        at = session.ends_at + rng.randint(1, gap) * MINUTE
        await rec(
            reg,
            "session.join",
            at,
            session_id=session.id,
            exhibitor_id=session.sponsor_exhibitor_id,
            meta={"live": False},
        )


async def _work_mqls(db: AsyncSession, event: Event, rng: random.Random) -> int:
    """Staff of the platinum booths accept, reject and call some MQLs; returns calls logged."""
    calls = 0
    exhibitors = (
        await db.execute(
            select(Exhibitor.id)
            .join(Booth, Booth.exhibitor_id == Exhibitor.id)
            .where(Exhibitor.event_id == event.id, Booth.tier.in_(WORKED_TIERS))
            .order_by(Exhibitor.id)
        )
    ).scalars()
    for exhibitor_id in list(exhibitors):
        staff = await _staff(db, event, exhibitor_id)
        if staff is None:
            continue
        leads = (
            await db.execute(
                select(Lead)
                .where(
                    Lead.event_id == event.id,
                    Lead.exhibitor_id == exhibitor_id,
                    Lead.stage == "mql",
                )
                .order_by(Lead.mql_at, Lead.id)
            )
        ).scalars()
        for n, lead in enumerate(list(leads)):
            step = n % 6
            if step in (0, 1, 4):
                await log_call(db, lead=lead, actor=staff, outcome="connected", note="Qualified")
                calls += 1
                await transition(db, lead=lead, to="sal", actor=staff, note="Fits our ICP")
                if step == 4:
                    await transition(db, lead=lead, to="sql", actor=staff, note="Pilot scoped")
            elif step == 2:
                outcome = rng.choice(["no_answer", "voicemail", "connected"])
                await log_call(db, lead=lead, actor=staff, outcome=outcome)
                calls += 1
                await transition(
                    db,
                    lead=lead,
                    to="rejected",
                    actor=staff,
                    reason=REJECTIONS[(n // 6) % len(REJECTIONS)],
                )
            elif step == 3:
                await add_note(db, lead=lead, actor=staff, body="Follow up after the event.")
    return calls


async def _staff(db: AsyncSession, event: Event, exhibitor_id: int) -> Membership | None:
    account = (
        await db.execute(
            select(Account)
            .join(Role, Role.account_id == Account.id)
            .where(
                Role.event_id == event.id,
                Role.role == RoleName.staff,
                Role.exhibitor_id == exhibitor_id,
            )
            .order_by(Account.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    return await membership_of(db, account, event) if account is not None else None


async def add_behaviour(db: AsyncSession, *, event: Event, now: dt.datetime) -> int:
    """Record the demo attendees' behaviour; returns the number of activities recorded."""
    rng = random.Random(f"{event.slug}:behaviour")  # noqa: S311 - demo data, not security
    regs = list(
        (
            await db.execute(
                select(Registration)
                .where(Registration.event_id == event.id)
                .order_by(Registration.id)
            )
        ).scalars()
    )
    booths = await _booths(db, event)
    if not regs or not booths:
        return 0
    sessions = list(
        (
            await db.execute(
                select(ProgramSession)
                .where(ProgramSession.event_id == event.id)
                .order_by(ProgramSession.starts_at, ProgramSession.id)
            )
        ).scalars()
    )
    personas = _personas(regs)
    # Booth traffic falls in the last hours (or, before the event opens, the days before it).
    opened = event.starts_at if event.starts_at < now else now - dt.timedelta(days=3)
    window = max(60, int((now - max(opened, now - dt.timedelta(hours=8))) / MINUTE) - 45)
    rec = _Recorder(db, event, now)
    for reg in regs:
        start = now - dt.timedelta(minutes=rng.randint(45, 45 + window))
        await _behave(rec, rng, reg, PLANS[personas[reg.id]], booths, sessions, start)
    return rec.count + await _work_mqls(db, event, rng)
