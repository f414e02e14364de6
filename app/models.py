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
from app.leads.models import Activity, Call, Lead, LeadNote, LeadTransition, RulesVersion
from app.sessions.models import ProgramSession, Speaker

__all__ = [
    "Account",
    "Activity",
    "ApiToken",
    "AuthSession",
    "Base",
    "Booth",
    "BoothConsent",
    "Call",
    "ChatMessage",
    "ChatRoom",
    "Event",
    "Exhibitor",
    "InfoRequest",
    "Invitation",
    "Lead",
    "LeadNote",
    "LeadTransition",
    "LoginFailure",
    "MeetingRequest",
    "MeetingSlot",
    "ProgramSession",
    "Registration",
    "Resource",
    "Role",
    "RoomMute",
    "RulesVersion",
    "Speaker",
]
