"""Uploaded files: type checked by content, size capped while streaming, stored by random name.

Nothing the uploader says is trusted: not the file name (never part of a path), not the
declared content type. The first bytes decide the type; Office files are zip archives whose
`[Content_Types].xml` must name the document's main part. Files live under
`settings.uploads_dir`, outside the static web root, and are served by the app with the
type we detected, `nosniff`, and (for documents) as attachments.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.responses import FileResponse

from app.errors import AppError, NotFound

CHUNK = 64 * 1024
IMAGE_LIMIT = 5 * 1024 * 1024
DOCUMENT_LIMIT = 25 * 1024 * 1024
# Room for the other fields and multipart framing: a bigger request is cut off while it
# arrives (413), before anything is spooled to disk.
FORM_OVERHEAD = 256 * 1024
_MAX_CONTENT_TYPES_XML = 1024 * 1024

IMAGES_DIR = "images"
FILES_DIR = "files"


@dataclass(frozen=True, slots=True)
class FileType:
    extension: str
    content_type: str
    label: str


PDF = FileType("pdf", "application/pdf", "PDF")
PNG = FileType("png", "image/png", "PNG image")
JPEG = FileType("jpg", "image/jpeg", "JPEG image")
WEBP = FileType("webp", "image/webp", "WebP image")
MP4 = FileType("mp4", "video/mp4", "MP4 video")
DOCX = FileType(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "Word document",
)
XLSX = FileType(
    "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel workbook"
)
PPTX = FileType(
    "pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "PowerPoint presentation",
)
IMAGE_TYPES = (PNG, JPEG, WEBP)
DOCUMENT_TYPES = (PDF, DOCX, XLSX, PPTX, MP4)
_BY_EXTENSION = {t.extension: t for t in (*IMAGE_TYPES, *DOCUMENT_TYPES)}
# The main part an Office file's [Content_Types].xml must declare.
_OFFICE_MAIN = {
    DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
}
_STORED_NAME = re.compile(r"^[a-f0-9]{32}\.(pdf|png|jpg|webp|mp4|docx|xlsx|pptx)$")


class UploadRejected(AppError):
    code = "booth.upload_rejected"
    status = 422

    @classmethod
    def default_message(cls) -> str:
        return "That file cannot be used."


class UploadTooLarge(UploadRejected):
    code = "booth.upload_too_large"
    status = 413


@dataclass(frozen=True, slots=True)
class Stored:
    """A file written under the uploads directory."""

    path: str  # relative to uploads_dir, e.g. "files/3f…e1.pdf"
    type: FileType
    size: int


async def close_form(request: Request) -> AsyncIterator[None]:
    """Router dependency: close a multipart form's spooled files once the request is done."""
    try:
        yield
    finally:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form()  # the parsed form, cached on the request
            await form.close()


def sniff(head: bytes) -> FileType | None:
    """The type the first bytes show; zip archives come back as DOCX, resolved later."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        return MP4
    if head.startswith(b"PK\x03\x04"):
        return DOCX  # a zip: which Office type (if any) is decided by office_type()
    return None


def office_type(path: Path) -> FileType | None:
    """DOCX, XLSX or PPTX when the zip declares that document's main part; else None."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > _MAX_CONTENT_TYPES_XML:
                return None
            manifest = archive.read(info).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError):
        return None
    for kind, main in _OFFICE_MAIN.items():
        if main in manifest:
            return kind
    return None


def _describe(allowed: tuple[FileType, ...]) -> str:
    labels = [t.label for t in allowed]
    return ", ".join(labels[:-1]) + f" or {labels[-1]}" if len(labels) > 1 else labels[0]


def _mib(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MiB"


async def store(
    upload: UploadFile,
    *,
    root: Path,
    allowed: tuple[FileType, ...],
    limit: int,
    folder: str,
) -> Stored:
    """Stream `upload` to a random name under root/folder, checking its content and size."""
    if upload.size is not None and upload.size > limit:
        raise UploadTooLarge(f"The file is larger than {_mib(limit)}.", field="file")
    target_dir = root / folder
    await anyio.Path(target_dir).mkdir(parents=True, exist_ok=True)
    partial = target_dir / f".{secrets.token_hex(16)}.part"
    size = 0
    kind: FileType | None = None
    try:
        async with await anyio.open_file(partial, "wb") as out:
            while chunk := await upload.read(CHUNK):
                if kind is None:
                    kind = sniff(chunk[:16])
                    if kind is None or (kind not in allowed and kind is not DOCX):
                        raise UploadRejected(
                            f"That file is not a {_describe(allowed)}; "
                            "its content, not its name, decides.",
                            field="file",
                        )
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(f"The file is larger than {_mib(limit)}.", field="file")
                await out.write(chunk)
        if kind is None:
            raise UploadRejected("The file is empty.", field="file")
        if kind is DOCX:
            kind = await asyncio.to_thread(office_type, partial)
            if kind is None or kind not in allowed:
                raise UploadRejected(
                    f"That file is not a {_describe(allowed)}; its content, not its name, decides.",
                    field="file",
                )
        name = f"{secrets.token_hex(16)}.{kind.extension}"
        await anyio.Path(partial).rename(target_dir / name)
    finally:
        await anyio.Path(partial).unlink(missing_ok=True)
    return Stored(path=f"{folder}/{name}", type=kind, size=size)


def resolve(root: Path, relative: str) -> Path:
    """The file at `relative` under `root`; NotFound when missing or outside root."""
    base = root.resolve()
    try:
        path = (base / relative).resolve()
    except (OSError, RuntimeError, ValueError):
        raise NotFound("That file is not available.") from None
    if not path.is_relative_to(base) or not path.is_file():
        raise NotFound("That file is not available.")
    return path


async def remove(root: Path, relative: str | None) -> None:
    """Delete a stored file (if it is ours and still there)."""
    if not relative:
        return
    try:
        path = resolve(root, relative)
    except NotFound:
        return
    await anyio.Path(path).unlink(missing_ok=True)


def image_response(root: Path, name: str) -> FileResponse:
    """A stored logo or banner, inline, with the type its extension (set by us) names."""
    if not _STORED_NAME.match(name):
        raise NotFound("That image is not available.")
    kind = _BY_EXTENSION[name.rsplit(".", 1)[1]]
    if kind not in IMAGE_TYPES:
        raise NotFound("That image is not available.")
    path = resolve(root, f"{IMAGES_DIR}/{name}")
    return FileResponse(
        path,
        media_type=kind.content_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=86400",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def download_response(path: Path, *, content_type: str, filename: str) -> FileResponse:
    """A document as an attachment: never rendered in the page's origin."""
    return FileResponse(
        path,
        media_type=content_type,
        filename=filename,
        content_disposition_type="attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def download_name(title: str, content_type: str | None, stored_path: str) -> str:
    """A friendly file name from the resource's title and the detected type's extension."""
    extension = stored_path.rsplit(".", 1)[1] if "." in stored_path else ""
    for kind in DOCUMENT_TYPES:
        if kind.content_type == content_type:
            extension = kind.extension
    stem = re.sub(r"[^\w\- ]+", "", title, flags=re.UNICODE).strip()[:80] or "download"
    return f"{stem}.{extension}" if extension else stem
