"""HTML pages of booths (to be filled)."""

from fastapi import APIRouter, Depends

from app.auth.csrf import verify_csrf

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
