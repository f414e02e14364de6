"""Every domain's models, imported in one place so Alembic sees the whole schema."""

from app.auth.models import Account, ApiToken, AuthSession, LoginFailure
from app.booths.models import Booth, Exhibitor, Resource
from app.db import Base
from app.events.models import Event, Invitation, Registration, Role
from app.sessions.models import ProgramSession, Speaker

__all__ = [
    "Account",
    "ApiToken",
    "AuthSession",
    "Base",
    "Booth",
    "Event",
    "Exhibitor",
    "Invitation",
    "LoginFailure",
    "ProgramSession",
    "Registration",
    "Resource",
    "Role",
    "Speaker",
]
