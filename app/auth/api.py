"""JSON API of accounts: who am I."""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.deps import CurrentAccount
from app.auth.schemas import AccountRead

router = APIRouter(prefix="/api", tags=["auth"])


@router.get("/me", response_model=AccountRead)
async def me(account: CurrentAccount) -> AccountRead:
    """The account the request is authenticated as (API token or browser session)."""
    return AccountRead.model_validate(account)
