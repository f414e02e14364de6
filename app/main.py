"""The application factory: settings, database, routers, error pages, static files."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

from app import __version__
from app.auth.csrf import CsrfCookieMiddleware
from app.config import Settings, load_settings
from app.db import checkpointer, make_engine, make_sessionmaker
from app.errors import install_error_handlers
from app.gc_tuning import tune_gc
from app.integrations.worker import start_in_app as start_worker
from app.integrations.worker import stop_in_app as stop_worker
from app.logging import configure_logging
from app.middleware import RequestContextMiddleware
from app.migrate import DatabaseBehind, ensure_at_head
from app.realtime.endpoint import websocket_endpoint
from app.realtime.setup import start_realtime, stop_realtime

log = structlog.get_logger()
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


class ExpohallApp(FastAPI):
    """FastAPI, with `/ws` served straight from the ASGI entry point.

    A websocket stays open for hours, and every ASGI layer it passes keeps a suspended
    coroutine (with its cells, exit stacks and wrappers) alive all that time: through the
    middleware and the router that is about 30 coroutines and 240 objects per socket, which
    the garbage collector walks on each full collection (half a second with 2,000 sockets
    on a small machine) and which each new socket pays to build. `/ws` needs none of them:
    its endpoint checks the origin and the cookie itself and answers every error within the
    protocol. (The route stays registered, so `url_for("websocket_endpoint")` still works.)
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and _route_path(scope) == "/ws":
            scope["app"] = self
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(request_id=secrets.token_hex(8))
            await websocket_endpoint(WebSocket(scope, receive, send))
            return
        await super().__call__(scope, receive, send)


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, checkpoints=True)
        checkpoints = checkpointer(engine)
        checkpointing = asyncio.create_task(checkpoints.run()) if checkpoints else None
        app.state.checkpointer = checkpoints
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
            tune_gc()
            yield
        finally:
            await stop_worker(app)
            await stop_realtime(app)
            if checkpointing is not None:
                checkpointing.cancel()
                await asyncio.gather(checkpointing, return_exceptions=True)
            await engine.dispose()  # the last connection to close checkpoints what is left

    app = ExpohallApp(
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
