"""The lead lifecycle: an explicit state machine, automatic MQL, and logged transitions.

inquiry → mql → sal → sql → opportunity → won | lost; from mql or sal also rejected (with a
reason) or recycled (back to nurture: stage inquiry, engagement reset). Organizers may also
move a lead back to any earlier stage of the main line. Every move is a LeadTransition.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership
from app.db import utcnow
from app.leads import outbox
from app.leads.errors import IllegalTransition, LeadForbidden, ReasonRequired
from app.leads.facts import Score, to_us
from app.leads.models import Lead, LeadTransition
from app.leads.state import LeadState
from app.leads.vocab import REJECTION_REASONS

RECYCLED = "recycled"  # a move, not a stage: the lead goes back to inquiry
FORWARD: dict[str, tuple[str, ...]] = {
    "inquiry": ("mql",),
    "mql": ("sal", "rejected", RECYCLED),
    "sal": ("sql", "rejected", RECYCLED),
    "sql": ("opportunity",),
    "opportunity": ("won", "lost"),
    "won": (),
    "lost": (),
    "rejected": (),
}
MAIN_LINE = ("inquiry", "mql", "sal", "sql", "opportunity")
RANK = {**{s: i for i, s in enumerate(MAIN_LINE)}, "won": 5, "lost": 5, "rejected": 3}


def allowed_moves(stage: str, *, organizer: bool) -> list[str]:
    moves = list(FORWARD.get(stage, ()))
    if organizer:
        moves += [s for s in MAIN_LINE if RANK[s] < RANK.get(stage, 0) and s not in moves]
    return moves


def can_work(lead: Lead, actor: Membership) -> bool:
    """Organizers work every lead; staff only their exhibitor's."""
    return actor.is_organizer or (lead.exhibitor_id is not None and actor.staffs(lead.exhibitor_id))


def _log(
    lead: Lead, to: str, *, actor_id: int | None, reason: str | None, note: str, at: dt.datetime
) -> LeadTransition:
    return LeadTransition(
        lead_id=lead.id,
        from_stage=lead.stage,
        to_stage=to,
        reason=reason,
        note=note,
        actor_id=actor_id,
        at=at,
    )


async def transition(
    db: AsyncSession,
    *,
    lead: Lead,
    to: str,
    actor: Membership,
    reason: str | None = None,
    note: str | None = None,
) -> LeadTransition:
    """Move `lead` to `to` (a stage, or "recycled"), recording who, when and why."""
    if not can_work(lead, actor):
        raise LeadForbidden()
    allowed = allowed_moves(lead.stage, organizer=actor.is_organizer)
    if to not in allowed:
        listed = ", ".join(allowed) if allowed else "none"
        raise IllegalTransition(
            f"A lead in stage {lead.stage} cannot move to {to}. Allowed moves: {listed}.",
            allowed=allowed,
        )
    if to == "rejected" and reason not in REJECTION_REASONS:
        raise ReasonRequired(
            f"Rejecting a lead needs a reason: one of {', '.join(REJECTION_REASONS)}.",
            field="reason",
        )
    now = utcnow()
    target = "inquiry" if to == RECYCLED else to
    row = _log(
        lead,
        target,
        actor_id=actor.account.id,
        reason=RECYCLED if to == RECYCLED else reason,
        note=note or "",
        at=now,
    )
    db.add(row)
    before = {k: getattr(lead, k) for k in outbox.WATCHED}
    first_mql = lead.mql_at is None
    lead.stage = target
    if to == RECYCLED:
        # Back to nurture: engagement starts again from now; the activities stay in the log.
        lead.reset_at = now
        lead.state = LeadState(since_us=to_us(now)).to_json()
        lead.engagement, lead.tier = 0.0, 4
        lead.cell = "F" if lead.grade == "F" else f"{lead.grade}4"
        lead.contributions = [c for c in lead.contributions if c.get("dimension") == "fit"]
    lead.updated_at = now
    await db.flush()
    events = outbox.for_transition(
        {
            "lead_id": lead.id,
            "from_stage": row.from_stage,
            "to_stage": row.to_stage,
            "reason": row.reason,
            "actor_id": row.actor_id,
            "at": now,
            "first_mql": first_mql,
        }
    )
    after = {k: getattr(lead, k) for k in outbox.WATCHED}
    await outbox.emit(db, [*events, outbox.for_update(lead.id, before, after, now)])
    return row


def apply_score(
    lead: Lead, score: Score, *, version: int, at: dt.datetime
) -> dict[str, Any] | None:
    """Copy `score` onto `lead`; promote inquiry → mql when it qualifies. Returns the
    transition's values when the lead just became an MQL (the caller stores them)."""
    lead.fit, lead.grade = score.fit, score.grade
    lead.engagement, lead.tier, lead.cell = score.engagement, score.tier, score.cell
    lead.buying_stage = score.buying_stage
    lead.last_activity_at = score.last_activity_at
    lead.rules_version = version
    lead.contributions = [c.to_json() for c in score.contributions]
    lead.updated_at = at
    if lead.stage != "inquiry" or not score.qualifies_mql:
        return None
    lead.stage = "mql"
    if lead.mql_at is None:
        lead.mql_at = at
    return {
        "lead_id": lead.id,
        "from_stage": "inquiry",
        "to_stage": "mql",
        "reason": f"auto_{score.mql_by}",
        "note": "",
        "actor_id": None,
        "at": at,
    }
