"""Live news for a booth's staff console (hand-raises, MQLs, what a visitor just did there),
sent only after the request has committed."""

from __future__ import annotations

from fastapi import BackgroundTasks, Request

from app.booths.models import Exhibitor
from app.events.models import Registration
from app.leads.service import RecordResult
from app.realtime.feed import StaffEvent, notify_staff
from app.realtime.leads_bridge import activity_line, lead_summary
from app.realtime.runtime import Realtime

WHAT = {"info": "requested information", "meeting": "booked a meeting"}


def alerts(
    *,
    kind: str,
    exhibitor: Exhibitor,
    registration: Registration,
    shares: bool,
    result: RecordResult,
    booth_id: int,
) -> list[tuple[StaffEvent, dict[str, object]]]:
    """`staff.hand_raise` (and `staff.mql` for this exhibitor's lead when it just became one).

    Nothing for a repeat (the activity was already recorded). An attendee who declined to
    share with this exhibitor raises an anonymous hand: no name, company or registration id.
    """
    if not result.created:
        return []
    who: dict[str, object] = (
        {
            "registration_id": registration.id,
            "name": registration.full_name,
            "company": registration.company,
            "job_title": registration.job_title,
        }
        if shares
        else {"anonymous": True}
    )
    out: list[tuple[StaffEvent, dict[str, object]]] = [
        (
            "staff.hand_raise",
            {"kind": kind, "what": WHAT[kind], "booth_id": booth_id, **who},
        )
    ]
    for lead in result.mql_reached:
        if lead.exhibitor_id != exhibitor.id:
            continue
        out.append(
            (
                "staff.mql",
                {
                    "lead_id": lead.id if shares else None,
                    "grade": lead.grade,
                    "tier": lead.tier,
                    "cell": lead.cell,
                    "stage": lead.stage,
                    **who,
                },
            )
        )
    return out


def activity(
    *, exhibitor_id: int, registration: Registration, result: RecordResult | None
) -> list[tuple[StaffEvent, dict[str, object]]]:
    """`staff.activity`: what the visitor just did at this exhibitor, with their lead as it
    left it, so an open console updates the visitor's card.

    Only for a new activity that reached this exhibitor's lead, which the lead engine keeps
    only for an attendee who shares their details with the exhibitor.
    """
    if result is None or not result.created:
        return []
    lead = result.lead_at(exhibitor_id)
    if lead is None:
        return []
    body: dict[str, object] = {
        "registration_id": registration.id,
        "account_id": registration.account_id,
        "name": registration.full_name,
        "lead": lead_summary(lead),
        "activity": activity_line(result.activity),
    }
    return [("staff.activity", body)]


def after_commit(
    request: Request,
    background: BackgroundTasks,
    exhibitor: Exhibitor,
    pushes: list[tuple[StaffEvent, dict[str, object]]],
) -> None:
    """Send `pushes` once the response is out, which is after the request's commit."""
    realtime: Realtime | None = getattr(request.app.state, "realtime", None)
    if realtime is None:
        return
    for event, body in pushes:
        background.add_task(
            notify_staff, realtime, exhibitor_id=exhibitor.id, event=event, body=body
        )
