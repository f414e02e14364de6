"""The front door: the home page (events list) and each event's lobby (to be filled)."""

from fastapi import APIRouter, Depends

from app.auth.csrf import verify_csrf

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
