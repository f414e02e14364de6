"""JSON API of leads (to be filled)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["leads"])
