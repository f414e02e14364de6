"""Display labels of the lead engine's vocabularies, shared by the lead, export and email pages."""

from __future__ import annotations

from collections.abc import Mapping

from app.events import vocab as profile_vocab
from app.leads.vocab import (
    ACTIVITY_TYPES,
)

SORT_LABELS = {
    "engagement": "Engagement score",
    "fit": "Fit score",
    "last_activity": "Last activity",
    "cell": "Matrix cell",
    "created": "Newest lead",
}
STAGE_LABELS = {
    "inquiry": "Inquiry",
    "mql": "MQL",
    "sal": "SAL (accepted)",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "won": "Won",
    "lost": "Lost",
    "rejected": "Rejected",
    "recycled": "Recycled (back to nurture)",
}
REASON_LABELS = {
    "unreachable": "Unreachable",
    "bad_data": "Bad data",
    "no_need": "No need",
    "no_budget": "No budget",
    "no_fit": "No fit",
    "duplicate": "Duplicate",
    "existing_customer": "Existing customer",
    "auto_cell": "Reached an MQL cell",
    "auto_hand_raise": "Raised a hand (meeting or info request)",
    "recycled": "Recycled",
}
OUTCOME_LABELS = {
    "connected": "Connected",
    "voicemail": "Left a voicemail",
    "no_answer": "No answer",
    "wrong_number": "Wrong number",
}
BUYING_LABELS = {"research": "Research", "evaluation": "Evaluation", "decision": "Decision"}
VOCAB: dict[str, Mapping[str, str]] = {
    "stages": STAGE_LABELS,
    "reasons": REASON_LABELS,
    "outcomes": OUTCOME_LABELS,
    "buying": BUYING_LABELS,
    "activities": ACTIVITY_TYPES,
    "job_levels": profile_vocab.JOB_LEVELS,
    "company_types": profile_vocab.COMPANY_TYPES,
    "company_sizes": profile_vocab.COMPANY_SIZES,
    "industries": profile_vocab.INDUSTRIES,
    "budgets": profile_vocab.BUDGETS,
    "timeframes": profile_vocab.TIMEFRAMES,
}
