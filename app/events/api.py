"""JSON API of events (to be filled)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["events"])
