"""A visitor registers for the demo event in a real browser and lands in the lobby."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e


def test_visitor_registers_and_reaches_lobby(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    page.goto(f"{live_server.url}/e/ai-expo")
    page.get_by_role("link", name="Register").first.click()
    expect(page).to_have_url(re.compile(r"/e/ai-expo/register"))

    # A first attempt with a bad email is refused with the field's own message.
    page.fill("#f-first_name", "Zoë")
    page.fill("#f-last_name", "Ångström-Łukasiewicz")
    page.fill("#f-email", "not-an-email")
    page.fill("#f-password", "a long enough password")
    page.fill("#f-company", "Nordlicht Robotics GmbH")
    page.fill("#f-job_title", "Head of Maintenance")
    page.select_option("#f-job_level", "director")
    page.select_option("#f-company_type", "end_user")
    page.select_option("#f-company_size", "201-1000")
    page.select_option("#f-industry", "manufacturing")
    page.select_option("#f-country", "DE")
    page.select_option("#f-budget", "approved")
    page.select_option("#f-timeframe", "3_6m")
    page.check("#f-consent_share")
    # The browser's own email check would stop the submit; the server must catch it too.
    page.eval_on_selector("form[method=post]:has(#f-email)", "f => f.noValidate = true")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#e-email")).to_be_visible()
    expect(page.locator("#f-first_name")).to_have_value("Zoë")

    page.fill("#f-email", "zoe@nordlicht.example")
    page.fill("#f-password", "a long enough password")
    page.get_by_role("button", name="Register").click()

    expect(page).to_have_url(re.compile(r"/e/ai-expo/?$"))
    expect(page.get_by_role("heading", name="Industrial AI Expo 2026", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Edit my profile")).to_be_visible()
    expect(page.get_by_text("On now")).to_be_visible()
    page.screenshot(path=str(tmp_path / "lobby.png"), full_page=True)
    assert (tmp_path / "lobby.png").stat().st_size > 10_000
