"""Every domain's models, imported in one place so Alembic sees the whole schema."""

from app.auth.models import Account, ApiToken, AuthSession, LoginFailure
from app.booths.models import (
    Booth,
    BoothConsent,
    Exhibitor,
    InfoRequest,
    MeetingRequest,
    MeetingSlot,
    Resource,
)
from app.chat.models import ChatMessage, ChatRoom, RoomMute
from app.db import Base
from app.events.models import Event, Invitation, Registration, Role
from app.integrations.models import (
    EmailCampaign,
    EmailMessage,
    EmailSuppression,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.leads.export_models import ExportMapping
from app.leads.models import (
    Activity,
    Call,
    Lead,
    LeadEvent,
    LeadNote,
    LeadTransition,
    RulesVersion,
)
from app.sessions.models import (
    AgendaEntry,
    AgendaFeed,
    Poll,
    PollOption,
    PollVote,
    ProgramSession,
    Question,
    QuestionVote,
    SessionAttendance,
    Speaker,
)

__all__ = [
    "Account",
    "Activity",
    "AgendaEntry",
    "AgendaFeed",
    "ApiToken",
    "AuthSession",
    "Base",
    "Booth",
    "BoothConsent",
    "Call",
    "ChatMessage",
    "ChatRoom",
    "EmailCampaign",
    "EmailMessage",
    "EmailSuppression",
    "Event",
    "Exhibitor",
    "ExportMapping",
    "InfoRequest",
    "Invitation",
    "Lead",
    "LeadEvent",
    "LeadNote",
    "LeadTransition",
    "LoginFailure",
    "MeetingRequest",
    "MeetingSlot",
    "Poll",
    "PollOption",
    "PollVote",
    "ProgramSession",
    "Question",
    "QuestionVote",
    "Registration",
    "Resource",
    "Role",
    "RoomMute",
    "RulesVersion",
    "SessionAttendance",
    "Speaker",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
