"""Video progress from the booth page: players' marks and the "Watched it" button, each once."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Exhibitor, Resource
from app.events.models import Event, RoleName
from app.leads.models import Activity
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


async def _booth(db: AsyncSession) -> tuple[Event, Exhibitor]:
    event = await make_event(db, slug="expo")
    exhibitor = await make_exhibitor(db, event, name="Acme Robotics", slug="acme")
    return event, exhibitor


async def _video(db: AsyncSession, exhibitor: Exhibitor, **values: object) -> Resource:
    values.setdefault("url", "https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    return await make_resource(db, exhibitor, kind="video", stage="evaluation", **values)


async def _marks(db: AsyncSession) -> list[float | None]:
    rows = await db.execute(
        select(Activity.value).where(Activity.type == "video.progress").order_by(Activity.id)
    )
    return list(rows.scalars())


async def _attendee(db: AsyncSession, client: httpx.AsyncClient, event: Event) -> None:
    account = await make_account(db)
    await make_registration(db, event, account)
    await login_as(db, client, account)


async def test_watched_it_button_posts_100_once_however_often_it_is_pressed(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    video = await _video(db, exhibitor)
    await _attendee(db, client, event)

    page = (await client.get("/e/expo/booths/acme")).text
    form = {"csrf_token": csrf_for(app, client), "percent": "100"}
    presses = [
        (await client.post(f"/e/expo/resources/{video.id}/progress", data=form)).status_code
        for _ in range(2)
    ]

    assert f'action="/e/expo/resources/{video.id}/progress"' in page
    assert "Watched it</button>" in page
    assert '<script type="module" src="/static/js/video-progress.js"></script>' in page
    assert presses == [204, 204]
    assert await _marks(db) == [100.0]


async def test_same_mark_from_the_player_twice_counts_once(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    video = await _video(db, exhibitor)
    await _attendee(db, client, event)
    headers = {"x-csrf-token": csrf_for(app, client)}

    for percent in ("25", "25", "50", "50", "75"):
        response = await client.post(
            f"/e/expo/resources/{video.id}/progress", data={"percent": percent}, headers=headers
        )
        assert response.status_code == 204

    assert await _marks(db) == [25.0, 50.0, 75.0]


async def test_booth_page_plays_uploaded_videos_and_embeds_vimeo_for_progress(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    mp4 = await _video(
        db, exhibitor, url=None, file_path="files/demo.mp4", content_type="video/mp4"
    )
    vimeo = await _video(db, exhibitor, url="https://vimeo.com/1234")
    await _attendee(db, client, event)

    page = (await client.get("/e/expo/booths/acme")).text

    assert f'src="/e/expo/resources/{mp4.id}/download" data-video-progress' in page
    assert 'src="https://player.vimeo.com/video/1234"' in page
    assert f'data-progress-url="/e/expo/resources/{vimeo.id}/progress"' in page
    assert "data-csrf=" in page


async def test_progress_without_csrf_is_refused(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    video = await _video(db, exhibitor)
    await _attendee(db, client, event)

    response = await client.post(f"/e/expo/resources/{video.id}/progress", data={"percent": "100"})

    assert response.status_code == 403
    assert await _marks(db) == []


async def test_progress_of_a_document_is_404(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    document = await make_resource(db, exhibitor, file_path="files/a.pdf")
    await _attendee(db, client, event)

    response = await client.post(
        f"/e/expo/resources/{document.id}/progress",
        data={"percent": "100"},
        headers={"x-csrf-token": csrf_for(app, client)},
    )

    assert response.status_code == 404
    assert await _marks(db) == []


async def test_progress_of_own_staff_counts_nothing(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, exhibitor = await _booth(db)
    video = await _video(db, exhibitor)
    staff = await make_account(db)
    await grant(db, staff, event, RoleName.staff, exhibitor.id)
    await login_as(db, client, staff)

    response = await client.post(
        f"/e/expo/resources/{video.id}/progress",
        data={"percent": "100"},
        headers={"x-csrf-token": csrf_for(app, client)},
    )

    assert response.status_code == 204
    assert await _marks(db) == []


async def test_progress_of_a_video_of_another_event_is_404(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _ = await _booth(db)
    other = await make_event(db, slug="other")
    elsewhere = await make_exhibitor(db, other, slug="far")
    video = await _video(db, elsewhere)
    await _attendee(db, client, event)

    response = await client.post(
        f"/e/expo/resources/{video.id}/progress",
        data={"percent": "100"},
        headers={"x-csrf-token": csrf_for(app, client)},
    )

    assert response.status_code == 404
