"""Vocabularies of the lead engine: activity types, lifecycle stages, reasons and outcomes."""

from __future__ import annotations

ACTIVITY_TYPES: dict[str, str] = {
    "booth.visit": "visited a booth",
    "booth.dwell": "stayed at a booth (seconds)",
    "resource.download": "downloaded a resource",
    "video.progress": "watched a video (percent)",
    "chat.message": "chatted with staff",
    "session.join": "joined a session",
    "session.watch": "watched a session (seconds)",
    "poll.answer": "answered a poll",
    "question.ask": "asked a question",
    "meeting.request": "requested a meeting",
    "info.request": "requested more information",
    "email.open": "opened an email",
    "email.click": "clicked an email link",
    "call.logged": "was called by staff",
    "unsubscribe": "unsubscribed",
}
SECONDS_TYPES = frozenset({"booth.dwell", "session.watch"})
PERCENT_TYPES = frozenset({"video.progress"})

BUYING_STAGES = ("research", "evaluation", "decision")
STAGE_RANK = {stage: rank for rank, stage in enumerate(BUYING_STAGES)}

GRADES = ("A", "B", "C", "D")
TIERS = (1, 2, 3, 4)
CELLS = frozenset(f"{g}{t}" for g in GRADES for t in TIERS)

LIFECYCLE = ("inquiry", "mql", "sal", "sql", "opportunity", "won", "lost", "rejected")
REJECTION_REASONS = (
    "unreachable",
    "bad_data",
    "no_need",
    "no_budget",
    "no_fit",
    "duplicate",
    "existing_customer",
)
CALL_OUTCOMES = ("connected", "voicemail", "no_answer", "wrong_number")
