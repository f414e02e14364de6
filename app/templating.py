"""The one Jinja2 environment: templates from app/templates and each domain's templates/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

APP_DIR = Path(__file__).parent
_dirs = [APP_DIR / "templates", *sorted(p for p in APP_DIR.glob("*/templates") if p.is_dir())]

templates = Jinja2Templates(directory=str(APP_DIR / "templates"))
templates.env.loader = ChoiceLoader([FileSystemLoader(str(d)) for d in _dirs])


def _local(value: dt.datetime | None, tz: str = "UTC", fmt: str = "%a %d %b, %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


templates.env.filters["local"] = _local


def _install_globals() -> None:
    from app.auth.csrf import csrf_token

    templates.env.globals["csrf_token"] = csrf_token


_install_globals()
