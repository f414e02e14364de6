"""Uploads: the content decides the type, sizes are capped, user file names never become paths."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths import uploads
from app.booths.models import Booth, Resource
from app.events.models import RoleName
from tests.factories import csrf_for, grant, login_as, make_account, make_event, make_exhibitor

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64
HTML = b"<!doctype html><script>alert(document.cookie)</script>"


def _office(main: str | None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if main is not None:
            archive.writestr(
                "[Content_Types].xml",
                f'<?xml version="1.0"?><Types><Override PartName="/word/document.xml" '
                f'ContentType="{main}"/></Types>',
            )
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


async def _staff(app: FastAPI, client: httpx.AsyncClient, db: AsyncSession) -> Booth:
    event = await make_event(db, slug="expo")
    exhibitor = await make_exhibitor(db, event, slug="acme")
    account = await make_account(db)
    await grant(db, account, event, RoleName.staff, exhibitor.id)
    await login_as(db, client, account)
    return (await db.execute(select(Booth))).scalar_one()


def _stored(app: FastAPI) -> list[Path]:
    root: Path = app.state.settings.uploads_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def _upload_image(
    app: FastAPI, client: httpx.AsyncClient, content: bytes, name: str, which: str = "logo"
) -> httpx.Response:
    return await client.post(
        f"/e/expo/booths/acme/manage/images/{which}",
        data={"csrf_token": csrf_for(app, client)},
        files={"file": (name, content, "image/png")},
    )


async def _upload_resource(
    app: FastAPI,
    client: httpx.AsyncClient,
    content: bytes,
    name: str,
    kind: str = "document",
) -> httpx.Response:
    return await client.post(
        "/e/expo/booths/acme/manage/resources",
        data={
            "csrf_token": csrf_for(app, client),
            "kind": kind,
            "title": "Datasheet",
            "stage": "evaluation",
            "description": "",
            "url": "",
        },
        files={"file": (name, content, "application/pdf")},
    )


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PDF, uploads.PDF),
        (PNG, uploads.PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", uploads.JPEG),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", uploads.WEBP),
        (b"\x00\x00\x00\x18ftypmp42", uploads.MP4),
        (EXE, None),
        (HTML, None),
        (b"", None),
    ],
)
def test_sniff_reads_the_first_bytes(head: bytes, expected: uploads.FileType | None) -> None:
    assert uploads.sniff(head[:16]) is expected


async def test_logo_upload_is_stored_by_random_name_and_served_with_its_type(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _staff(app, client, db)

    response = await _upload_image(app, client, PNG, "logo.png")
    booth = (await db.execute(select(Booth))).scalar_one()
    await db.refresh(booth)

    assert response.status_code == 303
    assert booth.logo_path is not None
    assert booth.logo_path.startswith("images/")
    assert booth.logo_path.endswith(".png")
    assert "logo" not in booth.logo_path
    served = await client.get(f"/media/{booth.logo_path}")
    assert served.status_code == 200
    assert served.content == PNG
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    hall = await client.get("/e/expo/booths/acme")
    assert f'src="/media/{booth.logo_path}"' in hall.text


async def test_html_renamed_png_is_rejected_and_nothing_is_kept(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _staff(app, client, db)

    response = await _upload_image(app, client, HTML, "cute-cat.png")

    assert response.status_code == 422
    assert "its content, not its name, decides" in response.text
    assert _stored(app) == []
    booth = (await db.execute(select(Booth))).scalar_one()
    assert booth.logo_path is None


async def test_exe_renamed_pdf_is_rejected(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _staff(app, client, db)

    response = await _upload_resource(app, client, EXE, "datasheet.pdf")

    assert response.status_code == 422
    assert "is not a PDF" in response.text
    assert _stored(app) == []
    assert (await db.execute(select(Resource))).first() is None


async def test_an_image_is_not_accepted_as_a_document(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _staff(app, client, db)

    response = await _upload_resource(app, client, PNG, "datasheet.pdf")

    assert response.status_code == 422
    assert _stored(app) == []


async def test_oversize_image_is_rejected(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _staff(app, client, db)

    response = await _upload_image(
        app, client, PNG + b"\x00" * uploads.IMAGE_LIMIT, "huge.png", which="banner"
    )

    assert response.status_code == 413
    assert "larger than 5 MiB" in response.text
    assert _stored(app) == []


async def test_oversize_document_stops_while_streaming(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _staff(app, client, db)
    monkeypatch.setattr(uploads, "DOCUMENT_LIMIT", 200 * 1024)

    response = await _upload_resource(app, client, PDF + b"0" * (300 * 1024), "big.pdf")

    assert response.status_code == 413
    assert _stored(app) == []


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/cron.d/x.pdf", "a\x00b.pdf"]
)
async def test_path_traversal_names_are_harmless(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession, name: str
) -> None:
    await _staff(app, client, db)

    response = await _upload_resource(app, client, PDF, name)

    assert response.status_code == 303
    resource = (await db.execute(select(Resource))).scalar_one()
    assert resource.file_path is not None
    assert resource.file_path.startswith("files/")
    assert ".." not in resource.file_path
    [stored] = _stored(app)
    assert stored.parent == app.state.settings.uploads_dir / "files"
    assert stored.read_bytes() == PDF
    assert resource.content_type == "application/pdf"


async def test_docx_is_recognised_by_its_content_types_entry(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _staff(app, client, db)

    good = await _upload_resource(app, client, _office(DOCX_MAIN), "spec.bin")
    plain_zip = await _upload_resource(app, client, _office(None), "spec.docx")

    assert good.status_code == 303
    assert plain_zip.status_code == 422
    resource = (await db.execute(select(Resource))).scalar_one()
    assert resource.content_type == uploads.DOCX.content_type
    assert resource.file_path is not None
    assert resource.file_path.endswith(".docx")


@pytest.mark.parametrize(
    "path",
    [
        "/media/images/..%2F..%2Fetc%2Fpasswd",
        "/media/images/notours.png",
        "/media/images/0123456789abcdef0123456789abcdef.pdf",
        "/media/images/0123456789abcdef0123456789abcdef.png",
    ],
)
async def test_media_serves_only_our_stored_images(
    client: httpx.AsyncClient, db: AsyncSession, path: str
) -> None:
    response = await client.get(path)

    assert response.status_code == 404


async def test_uploaded_document_downloads_with_the_detected_type(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _staff(app, client, db)
    await _upload_resource(app, client, _office(DOCX_MAIN), "evil.html")
    resource = (await db.execute(select(Resource))).scalar_one()

    response = await client.get(f"/e/expo/resources/{resource.id}/download")

    assert response.status_code == 200
    assert response.headers["content-type"] == uploads.DOCX.content_type
    assert response.headers["content-disposition"] == 'attachment; filename="Datasheet.docx"'
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_request_far_over_the_limit_is_cut_off_while_it_arrives(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _staff(app, client, db)

    response = await _upload_image(
        app, client, PNG + b"\x00" * (uploads.IMAGE_LIMIT + uploads.FORM_OVERHEAD), "huge.png"
    )

    assert response.status_code == 413
    assert _stored(app) == []
