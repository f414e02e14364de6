"""The application factory: settings, database, routers, error pages, static files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from app import __version__
from app.auth.csrf import CsrfCookieMiddleware
from app.config import Settings, load_settings
from app.db import make_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.integrations.worker import start_in_app as start_worker
from app.integrations.worker import stop_in_app as stop_worker
from app.logging import configure_logging
from app.middleware import RequestContextMiddleware
from app.migrate import DatabaseBehind, ensure_at_head
from app.realtime.setup import start_realtime, stop_realtime

log = structlog.get_logger()
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        try:
            if settings.check_migrations:
                try:
                    await ensure_at_head(engine)
                except DatabaseBehind as exc:
                    log.error("startup.refused", reason=exc.message)
                    raise
            app.state.engine = engine
            app.state.sessionmaker = make_sessionmaker(engine)
            await start_realtime(app, settings)
            await start_worker(app, settings)
            yield
        finally:
            await stop_worker(app)
            await stop_realtime(app)
            await engine.dispose()

    app = FastAPI(
        title="Expohall API",
        version=__version__,
        description="The JSON API of Expohall, the open virtual trade show platform.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(CsrfCookieMiddleware)
    app.add_middleware(RequestContextMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        async with app.state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok", "version": __version__})

    from app.routes import include_routers

    include_routers(app)
    return app
