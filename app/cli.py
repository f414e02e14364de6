"""The `expohall` command line: serve, migrate, demo, create-organizer."""

from __future__ import annotations

import asyncio
import sys

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
) -> None:
    """Load the demo event (organizer, exhibitors, sessions, attendees)."""
    from app.demo import load_demo

    settings = _settings()
    summary = asyncio.run(load_demo(settings, reset=reset, if_empty=if_empty))
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
