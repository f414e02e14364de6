"""The demo event: a believable trade show to click through (`expohall demo`)."""

from app.demo.loader import DEMO_PASSWORD, DEMO_SLUG, load_demo

__all__ = ["DEMO_PASSWORD", "DEMO_SLUG", "load_demo"]
