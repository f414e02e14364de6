"""The booth page for each role, downloads, links, info requests: each tracked once."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Exhibitor, Resource
from app.events.models import Event, EventStatus, RoleName
from app.leads.models import Activity, Lead
from tests.factories import (
    csrf_for,
    grant,
    login_as,
    make_account,
    make_event,
    make_exhibitor,
    make_registration,
    make_resource,
)

DESCRIPTION = "We build **robots**.\n\n<script>alert(1)</script> [site](https://acme.example)"


async def _booth(db: AsyncSession, **booth: object) -> tuple[Event, Exhibitor]:
    event = await make_event(db, slug="expo")
    values: dict[str, object] = {
        "tier": "gold",
        "tagline": "Robots for every line",
        "description": DESCRIPTION,
        "tags": ["Robotics"],
        "video_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    }
    values.update(booth)
    exhibitor = await make_exhibitor(db, event, name="Acme Robotics", slug="acme", booth=values)
    return event, exhibitor


async def _count(db: AsyncSession, type: str) -> int:
    return (
        await db.execute(select(func.count()).select_from(Activity).where(Activity.type == type))
    ).scalar_one()


async def _pdf_resource(app: FastAPI, db: AsyncSession, exhibitor: Exhibitor) -> Resource:
    root = app.state.settings.uploads_dir
    (root / "files").mkdir(parents=True, exist_ok=True)
    (root / "files" / "abc.pdf").write_bytes(b"%PDF-1.4\n%test\n")
    return await make_resource(
        db,
        exhibitor,
        title="Pricing sheet",
        stage="decision",
        file_path="files/abc.pdf",
        content_type="application/pdf",
        size_bytes=15,
    )


async def test_booth_page_for_a_visitor_shows_sanitized_content(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _event, exhibitor = await _booth(db)
    await make_resource(db, exhibitor, title="Intro deck", stage="research")
    await db.commit()

    response = await client.get("/e/expo/booths/acme")

    assert response.status_code == 200
    html = response.text
    assert '<h1 class="page-title">Acme Robotics</h1>' in html
    assert "<strong>robots</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html  # shown as text, never run
    assert 'src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in html
    assert "Intro deck" in html
    assert ">Research<" in html
    assert "Log in to chat" in html
    assert "Manage this booth" not in html


async def test_booth_page_never_embeds_a_video_from_other_hosts(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _booth(db, video_url="http://evil.example/player")
    await db.commit()

    html = (await client.get("/e/expo/booths/acme")).text

    assert "<iframe" not in html


async def test_booth_page_unknown_booth_is_404(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await _booth(db)
    await db.commit()

    assert (await client.get("/e/expo/booths/nobody")).status_code == 404


async def test_booth_page_of_draft_event_is_hidden(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="draft", status=EventStatus.draft)
    await make_exhibitor(db, event, slug="acme")
    await db.commit()

    assert (await client.get("/e/draft/booths/acme")).status_code == 404


async def test_booth_visit_counts_once_however_often_the_attendee_refreshes(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _ = await _booth(db)
    registration = await make_registration(db, event)
    account_id = registration.account_id
    await db.commit()
    from app.auth.models import Account

    account = await db.get(Account, account_id)
    assert account is not None
    await login_as(db, client, account)

    for _ in range(3):
        response = await client.get("/e/expo/booths/acme")
        assert response.status_code == 200

    assert await _count(db, "booth.visit") == 1
    assert "Request information" in response.text
    leads = (await db.execute(select(Lead))).scalars().all()
    assert sorted(lead.scope != 0 for lead in leads) == [False, True]  # event + exhibitor lead


@pytest.mark.parametrize("role", ["own_staff", "organizer"])
async def test_booth_page_for_staff_and_organizers_links_to_manage_and_counts_nothing(
    client: httpx.AsyncClient, db: AsyncSession, role: str
) -> None:
    event, exhibitor = await _booth(db)
    account = await make_account(db)
    if role == "own_staff":
        await grant(db, account, event, RoleName.staff, exhibitor.id)
    else:
        await grant(db, account, event, RoleName.organizer)
    await login_as(db, client, account)

    html = (await client.get("/e/expo/booths/acme")).text

    assert 'href="/e/expo/booths/acme/manage"' in html
    assert await _count(db, "booth.visit") == 0


async def test_booth_page_for_another_exhibitors_staff_has_no_manage_link(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _ = await _booth(db)
    rival = await make_exhibitor(db, event, slug="rival")
    account = await make_account(db)
    await grant(db, account, event, RoleName.staff, rival.id)
    await login_as(db, client, account)

    html = (await client.get("/e/expo/booths/acme")).text

    assert "Manage this booth" not in html
    assert "/e/expo/booths/acme/manage" not in html


async def _attendee(db: AsyncSession, client: httpx.AsyncClient, event: Event) -> int:
    account = await make_account(db)
    registration = await make_registration(db, event, account)
    await login_as(db, client, account)
    return registration.id


async def test_download_serves_the_file_as_an_attachment_and_counts_once(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    resource = await _pdf_resource(app, db, exhibitor)
    await _attendee(db, client, event)

    first = await client.get(f"/e/expo/resources/{resource.id}/download")
    again = await client.get(f"/e/expo/resources/{resource.id}/download")

    assert first.status_code == again.status_code == 200
    assert first.content == b"%PDF-1.4\n%test\n"
    assert first.headers["content-type"] == "application/pdf"
    assert first.headers["content-disposition"].startswith("attachment;")
    assert "Pricing%20sheet.pdf" in first.headers["content-disposition"]
    assert first.headers["x-content-type-options"] == "nosniff"
    assert await _count(db, "resource.download") == 1
    stage = (await db.execute(select(Activity.stage))).scalar_one()
    assert stage == "decision"


async def test_download_of_a_missing_file_is_404_and_not_counted(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    resource = await make_resource(db, exhibitor, file_path="files/gone.pdf")
    await _attendee(db, client, event)

    response = await client.get(f"/e/expo/resources/{resource.id}/download")

    assert response.status_code == 404
    assert await _count(db, "resource.download") == 0


async def test_download_path_outside_uploads_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    resource = await make_resource(db, exhibitor, file_path="../../../../etc/passwd")
    await _attendee(db, client, event)

    response = await client.get(f"/e/expo/resources/{resource.id}/download")

    assert response.status_code == 404


async def test_download_needs_a_login(client: httpx.AsyncClient, db: AsyncSession) -> None:
    _event, exhibitor = await _booth(db)
    resource = await make_resource(db, exhibitor, file_path="files/abc.pdf")
    await db.commit()

    response = await client.get(f"/e/expo/resources/{resource.id}/download")

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_link_resource_redirects_and_counts_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    resource = await make_resource(
        db, exhibitor, kind="link", url="https://acme.example/pricing", stage="evaluation"
    )
    await _attendee(db, client, event)

    for _ in range(2):
        response = await client.get(f"/e/expo/resources/{resource.id}/open")
        assert response.status_code == 303
        assert response.headers["location"] == "https://acme.example/pricing"

    assert await _count(db, "resource.download") == 1


async def test_info_request_double_submit_counts_once(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    event, _ = await _booth(db)
    await _attendee(db, client, event)
    form = {"csrf_token": csrf_for(app, client), "message": "Send me pricing"}

    first = await client.post("/e/expo/booths/acme/info", data=form)
    second = await client.post("/e/expo/booths/acme/info", data=form)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == "/e/expo/booths/acme?done=info#contact"
    assert await _count(db, "info.request") == 1
    page = await client.get(first.headers["location"])
    assert "has your request for more information" in page.text


async def test_info_request_without_csrf_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _ = await _booth(db)
    await _attendee(db, client, event)

    response = await client.post("/e/expo/booths/acme/info", data={"message": "hi"})

    assert response.status_code == 403
    assert await _count(db, "info.request") == 0


async def test_info_request_by_someone_not_registered_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI
) -> None:
    await _booth(db)
    account = await make_account(db)
    await login_as(db, client, account)

    response = await client.post(
        "/e/expo/booths/acme/info", data={"csrf_token": csrf_for(app, client)}
    )

    assert response.status_code == 403


async def test_video_progress_counts_each_milestone_once(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    video = await make_resource(
        db, exhibitor, kind="video", url="https://vimeo.com/1234", stage="evaluation"
    )
    await _attendee(db, client, event)
    headers = {"x-csrf-token": csrf_for(app, client)}

    statuses = [
        (
            await client.post(
                f"/e/expo/resources/{video.id}/progress",
                data={"percent": str(percent)},
                headers=headers,
            )
        ).status_code
        for percent in (10, 26, 49, 51, 51, 100)
    ]
    refused = await client.post(
        f"/e/expo/resources/{video.id}/progress", data={"percent": "150"}, headers=headers
    )

    assert statuses == [204] * 6
    assert refused.status_code == 422
    values = (
        await db.execute(
            select(Activity.value).where(Activity.type == "video.progress").order_by(Activity.id)
        )
    ).scalars()
    assert list(values) == [25.0, 50.0, 100.0]


async def test_booth_page_shows_live_visitors_and_staff_on_duty(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    import time

    from sqlalchemy import select as sql_select

    from app.booths.models import Booth
    from app.realtime import channels
    from app.realtime.feed import realtime_of

    event, exhibitor = await _booth(db)
    on_duty = await make_account(db, display_name="Olga Onduty")
    away = await make_account(db, display_name="Alex Away")
    for person in (on_duty, away):
        await grant(db, person, event, RoleName.staff, exhibitor.id)
    booth = (await db.execute(sql_select(Booth))).scalar_one()
    await db.commit()
    presence = realtime_of(app).presence
    place = channels.booth(booth.id)
    await presence.enter(place, "tab-1", on_duty.id, time.time())
    await presence.enter(place, "tab-2", 999_999, time.time())

    html = (await client.get("/e/expo/booths/acme")).text

    assert "2 here now" in html
    assert re.search(r"Olga Onduty\s*<span class=\"badge badge--live\">", html)
    assert not re.search(r"Alex Away\s*<span class=\"badge badge--live\">", html)
