"""Save a full-page PNG of an Expohall page, optionally logged in, using Debian's chromium.

    .venv/bin/python scripts/screenshot.py http://127.0.0.1:8000/e/ai-expo \
        docs/screenshots/lobby.png --email attendee@expohall.test --password expohall-demo
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="The page to capture, e.g. http://127.0.0.1:8000/e/ai-expo")
    parser.add_argument("output", type=Path, help="Where to write the PNG.")
    parser.add_argument("--email", help="Log in through /login as this account first.")
    parser.add_argument("--password", help="The password for --email.")
    parser.add_argument("--width", type=int, default=1440, help="Viewport width (default 1440).")
    parser.add_argument("--height", type=int, default=900, help="Viewport height (default 900).")
    parser.add_argument("--scale", type=float, default=1, help="Device scale factor (2 = retina).")
    parser.add_argument(
        "--chromium", default=CHROMIUM, help=f"Browser binary (default {CHROMIUM})."
    )
    args = parser.parse_args(argv)
    if bool(args.email) != bool(args.password):
        parser.error("--email and --password go together")
    return args


def _log_in(page: Page, url: str, email: str, password: str) -> None:
    """Log in with the real form, then land on `url` (the form's `next`)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    page.goto(f"{parts.scheme}://{parts.netloc}/login?next={quote(target or '/')}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    if urlsplit(page.url).path == "/login":
        raise SystemExit(f"Could not log in as {email}: check the email and password.")


def screenshot(args: argparse.Namespace) -> Path:
    output: Path = args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": args.width, "height": args.height},
                device_scale_factor=args.scale,
                reduced_motion="reduce",
            )
            page = context.new_page()
            if args.email:
                _log_in(page, args.url, args.email, args.password)
            response = page.goto(args.url, wait_until="networkidle")
            if response is not None and response.status >= 400:
                raise SystemExit(f"{args.url} answered {response.status}; no screenshot taken.")
            page.screenshot(path=str(output), full_page=True)
        finally:
            browser.close()
    return output


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if not Path(args.chromium).exists():
        raise SystemExit(
            f"{args.chromium} not found: install Debian's chromium (apt install chromium)."
        )
    try:
        path = screenshot(args)
    except PlaywrightError as exc:
        raise SystemExit(f"Screenshot failed: {exc}") from None
    sys.stdout.write(f"Saved {path}\n")


if __name__ == "__main__":
    main()
