"""JSON API of auth (to be filled)."""

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["auth"])
