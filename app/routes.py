"""Every domain's routers, mounted in one place (API first, then pages)."""

from __future__ import annotations

from fastapi import FastAPI


def include_routers(app: FastAPI) -> None:
    from app.auth import api as auth_api
    from app.auth import pages as auth_pages
    from app.events import api as events_api
    from app.events import pages as events_pages

    app.include_router(auth_api.router)
    app.include_router(events_api.router)
    app.include_router(auth_pages.router)
    app.include_router(events_pages.router)
