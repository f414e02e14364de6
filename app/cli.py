"""The `expohall` command line: serve, migrate, demo, create-organizer, export, worker."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer

from app.config import ConfigError, Settings, load_settings

cli = typer.Typer(help="Expohall, the open virtual trade show platform.", no_args_is_help=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        typer.secho(f"Configuration error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Worker processes."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Serve Expohall over HTTP (and websockets)."""
    import uvicorn

    settings = _settings()
    from app.db import make_engine
    from app.migrate import DatabaseBehind, ensure_at_head

    async def _check() -> None:
        engine = make_engine(settings.database_url)
        try:
            await ensure_at_head(engine)
        finally:
            await engine.dispose()

    if settings.check_migrations:
        try:
            asyncio.run(_check())
        except DatabaseBehind as exc:
            typer.secho(exc.message, fg=typer.colors.RED, err=True)
            raise typer.Exit(3) from None
    uvicorn.run(
        "app.asgi:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        proxy_headers=True,
        log_level="warning",
        # uvicorn's websockets-sansio protocol, plus one write per frame to each socket
        # (measured: about half the CPU per delivery of the stock protocols; docs/realtime.md).
        ws="app.realtime.wire:FanoutProtocol",
        # A bigger frame is refused by the protocol before it is read into memory.
        ws_max_size=settings.ws_max_frame_bytes,
    )


@cli.command()
def migrate(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Bring the database schema up to date."""
    from app.migrate import upgrade

    settings = _settings()
    _ensure_sqlite_dir(settings)
    upgrade(settings.database_url, revision)
    typer.echo(f"Database migrated to {revision}.")


@cli.command()
def demo(
    reset: bool = typer.Option(False, help="Delete the demo event first and load it again."),
    if_empty: bool = typer.Option(False, "--if-empty", help="Load only into an empty database."),
    activity: bool = typer.Option(
        True, help="Also record the attendees' behaviour through the lead engine (slower)."
    ),
) -> None:
    """Load the demo event (organizer, exhibitors, sessions, attendees and their behaviour)."""
    from app.demo import load_demo
    from app.logging import configure_logging

    settings = _settings()
    # Hundreds of simulated attendees reach MQL while it loads: their info lines would bury
    # the logins printed at the end. Warnings still show (EXPOHALL_LOG_LEVEL=DEBUG: all).
    level = "DEBUG" if settings.log_level == "DEBUG" else "WARNING"
    configure_logging(level=level, json=settings.log_json)
    summary = asyncio.run(load_demo(settings, reset=reset, if_empty=if_empty, activity=activity))
    typer.echo(summary)


@cli.command("create-organizer")
def create_organizer(
    email: str,
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    event: str | None = typer.Option(None, help="Slug of an event to make them organizer of."),
) -> None:
    """Create an organizer account (an admin: organizer of every event)."""
    from app.auth.admin import create_organizer_account

    settings = _settings()
    try:
        message = asyncio.run(
            create_organizer_account(settings, email=email, password=password, event_slug=event)
        )
    except ValueError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(message)


@cli.command("export")
def export(
    event: str = typer.Option(..., "--event", help="Slug of the event."),
    format: str = typer.Option("csv", "--format", help="csv, xlsx or jsonl."),
    output: str = typer.Option(..., "--output", help="File to write."),
    exhibitor: str | None = typer.Option(
        None, help="Slug of an exhibitor: only its leads that share their details with it."
    ),
    preset: str = typer.Option("full", help="full, salesforce, hubspot or mapping:NAME."),
    bom: bool = typer.Option(False, help="Start a CSV with a byte order mark (for Excel)."),
) -> None:
    """Export an event's leads to a file, written whole or not at all."""
    from app.errors import AppError

    settings = _settings()
    try:
        size = asyncio.run(
            _export(
                settings, event, format, Path(output), exhibitor=exhibitor, preset=preset, bom=bom
            )
        )
    except AppError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"Wrote {size} bytes to {output}.")


async def _export(
    settings: Settings,
    event_slug: str,
    fmt: str,
    output: Path,
    *,
    exhibitor: str | None,
    preset: str,
    bom: bool,
) -> int:
    from sqlalchemy import select

    from app.db import make_engine, make_sessionmaker
    from app.errors import Invalid, NotFound
    from app.events.models import Event
    from app.leads.export_presets import export_stream, preset_named
    from app.leads.export_rows import ExportFilter, exhibitor_by_slug
    from app.leads.exporters import EXPORTERS, exporter_for, write_atomically

    exporter = exporter_for(fmt, bom=bom)
    if exporter is None:
        raise Invalid(f"Use --format {', '.join(EXPORTERS)}.")
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            found = (await db.execute(select(Event).where(Event.slug == event_slug))).scalar()
            if found is None:
                raise NotFound(f"There is no event {event_slug!r}.")
            f = ExportFilter(event_id=found.id)
            if exhibitor is not None:
                exhibitor_id = await exhibitor_by_slug(db, found.id, exhibitor)
                if exhibitor_id is None:
                    raise NotFound(f"There is no exhibitor {exhibitor!r} at this event.")
                f = ExportFilter(found.id, frozenset({exhibitor_id}), consenting_only=True)
            chosen = await preset_named(db, found.id, preset)
        return await write_atomically(output, export_stream(engine, f, chosen, exporter))
    finally:
        await engine.dispose()


@cli.command()
def worker() -> None:
    """Run the background worker (webhooks, follow-up email) until Ctrl-C; for deployments
    that set EXPOHALL_WORKER_IN_APP=0. Any number may run: they never send a row twice."""
    from app.integrations.worker import run_standalone
    from app.logging import configure_logging

    settings = _settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    asyncio.run(run_standalone(settings))


def _ensure_sqlite_dir(settings: Settings) -> None:
    if settings.is_sqlite and ":///" in settings.database_url:
        from pathlib import Path

        path = settings.database_url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def main() -> None:
    try:
        cli()
    except ConfigError as exc:  # pragma: no cover - defensive; _settings() handles it
        typer.secho(f"Configuration error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
