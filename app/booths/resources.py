"""A booth's files: logo and banner images, and resources (documents, videos, links)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from app.booths import booth_repository as repo
from app.booths import uploads
from app.booths.errors import BoothFieldsInvalid
from app.booths.models import Booth, BuyingStage, Resource, ResourceKind
from app.booths.service import embed_url, safe_link


async def replace_image(
    db: AsyncSession, *, root: Path, booth: Booth, which: str, upload: UploadFile
) -> None:
    """Store a new logo or banner and drop the old file."""
    stored = await uploads.store(
        upload,
        root=root,
        allowed=uploads.IMAGE_TYPES,
        limit=uploads.IMAGE_LIMIT,
        folder=uploads.IMAGES_DIR,
    )
    old = booth.logo_path if which == "logo" else booth.banner_path
    if which == "logo":
        booth.logo_path = stored.path
    else:
        booth.banner_path = stored.path
    await db.flush()
    await uploads.remove(root, old)


@dataclass(frozen=True, slots=True)
class ResourceDraft:
    kind: str
    title: str
    description: str
    stage: str
    url: str


async def add_resource(
    db: AsyncSession, *, root: Path, booth: Booth, draft: ResourceDraft, upload: UploadFile | None
) -> Resource:
    errors: dict[str, str] = {}
    title = draft.title.strip()
    if not title or len(title) > 200:
        errors["title"] = "Give the resource a title (up to 200 characters)."
    if draft.kind not in tuple(ResourceKind):
        errors["kind"] = "Choose document, video or link."
    if draft.stage not in tuple(BuyingStage):
        errors["stage"] = "Choose research, evaluation or decision."
    has_file = upload is not None and bool(upload.filename)
    url = draft.url.strip()
    if draft.kind == ResourceKind.document and not has_file:
        errors["file"] = "Choose the file to upload."
    if draft.kind == ResourceKind.link and safe_link(url) is None:
        errors["url"] = "Enter a web address starting with https:// or http://."
    if draft.kind == ResourceKind.video and not has_file and embed_url(url) is None:
        errors["url"] = "Upload an MP4 file, or link a YouTube, Vimeo or Wistia video (https)."
    if errors:
        raise BoothFieldsInvalid(errors)
    resource = Resource(
        booth_id=booth.id,
        kind=draft.kind,
        title=title,
        description=draft.description.strip()[:2000],
        stage=draft.stage,
    )
    if has_file and draft.kind != ResourceKind.link:
        assert upload is not None  # noqa: S101
        allowed = (uploads.MP4,) if draft.kind == ResourceKind.video else uploads.DOCUMENT_TYPES
        stored = await uploads.store(
            upload,
            root=root,
            allowed=allowed,
            limit=uploads.DOCUMENT_LIMIT,
            folder=uploads.FILES_DIR,
        )
        resource.file_path = stored.path
        resource.content_type = stored.type.content_type
        resource.size_bytes = stored.size
    else:
        resource.url = url
    db.add(resource)
    await db.flush()
    return resource


async def delete_resource(db: AsyncSession, *, root: Path, resource: Resource) -> None:
    path = resource.file_path
    await repo.delete_resource(db, resource)
    if path and not path.startswith("demo/"):
        await uploads.remove(root, path)
