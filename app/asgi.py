"""The ASGI entry point for uvicorn (`app.asgi:app`)."""

from app.config import ConfigError
from app.main import create_app

try:
    app = create_app()
except ConfigError as exc:
    raise SystemExit(f"Expohall cannot start. Configuration error: {exc}") from None
