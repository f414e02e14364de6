"""Every domain's routers, mounted in one place (API first, then pages)."""

from __future__ import annotations

from fastapi import FastAPI


def include_routers(app: FastAPI) -> None:
    from app.auth import api as auth_api
    from app.auth import pages as auth_pages
    from app.booths import booth_pages, manage_pages, organizer_pages
    from app.booths import pages as booths_pages
    from app.events import api as events_api
    from app.events import lobby as events_lobby
    from app.events import pages as events_pages
    from app.integrations import email_api, email_pages, tracking
    from app.leads import api as leads_api
    from app.leads import export_api, export_pages, rules_pages
    from app.leads import pages as leads_pages
    from app.realtime.setup import include_realtime
    from app.sessions import manage_pages as sessions_manage
    from app.sessions import my_agenda_pages, qa_pages, session_pages
    from app.sessions import pages as sessions_pages

    for module in (auth_api, events_api, export_api, leads_api):
        app.include_router(module.router)
    include_realtime(app)
    for module in (
        auth_pages,
        events_lobby,
        events_pages,
        booths_pages,
        sessions_pages,
        session_pages,
        qa_pages,
        my_agenda_pages,
        sessions_manage,
        export_pages,
        leads_pages,
        rules_pages,
    ):
        app.include_router(module.router)
    for module in (booth_pages, manage_pages, organizer_pages):
        app.include_router(module.router)
    from app.integrations import webhooks_api, webhooks_pages

    app.include_router(webhooks_api.router)
    app.include_router(webhooks_pages.router)
    for module in (email_api, email_pages, tracking):  # follow-up email
        app.include_router(module.router)
