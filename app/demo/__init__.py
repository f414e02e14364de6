"""The demo event: a believable trade show to click through (`expohall demo`)."""

from app.demo.loader import DEMO_SLUG, load_demo
from app.demo.logins import DEMO_PASSWORD

__all__ = ["DEMO_PASSWORD", "DEMO_SLUG", "load_demo"]
