"""Booth descriptions: the rich sanitizing profile keeps structure and drops anything active."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.sanitize import render, render_rich
from tests.factories import make_event, make_exhibitor


def test_render_rich_keeps_headings_lists_quotes_and_code() -> None:
    text = (
        "# Who we are\n\n## Products\n\n- Arms\n- **Grippers**\n\n1. Call\n2. Demo\n\n"
        "> Best booth\n\n`sdk.install()`\n\n###### Small print\n"
    )

    assert render_rich(text) == (
        "<h2>Who we are</h2>\n<h2>Products</h2>\n"
        "<ul>\n<li>Arms</li>\n<li><strong>Grippers</strong></li>\n</ul>\n"
        "<ol>\n<li>Call</li>\n<li>Demo</li>\n</ol>\n"
        "<blockquote>\n<p>Best booth</p>\n</blockquote>\n"
        "<p><code>sdk.install()</code></p>\n<h4>Small print</h4>"
    )


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[data](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](https://evil.example/x.png)",
        '<a href="https://x.example" onclick="steal()">x</a>',
        "<h1 style='color:red'>big</h1>",
        "- item <iframe src=https://evil.example></iframe>",
    ],
)
def test_render_rich_removes_active_content(text: str) -> None:
    html = render_rich(text)

    for tag, attrs in _elements(html):
        assert tag in {"p", "ul", "li", "a"}, html
        assert set(attrs) <= {"href", "rel"}, html
        assert not (attrs.get("href") or "https:").lower().startswith(("javascript", "data")), html
    assert "<script" not in html


def test_render_rich_links_are_http_or_mailto_with_rel() -> None:
    html = render_rich("[site](https://acme.example) and [mail](mailto:hi@acme.example)")

    assert html == (
        '<p><a href="https://acme.example" rel="noopener nofollow ugc">site</a> and '
        '<a href="mailto:hi@acme.example" rel="noopener nofollow ugc">mail</a></p>'
    )


def test_chat_profile_is_unchanged_and_still_flattens_lists() -> None:
    assert "<ul>" not in render("- a\n- b")
    assert render("**hi**") == "<p><strong>hi</strong></p>"


async def test_booth_page_description_keeps_its_lists_and_headings(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="expo")
    await make_exhibitor(
        db,
        event,
        slug="acme",
        booth={"description": "## Why us\n\n- Fast\n- Safe\n\n<script>alert(1)</script>"},
    )
    await db.commit()

    html = (await client.get("/e/expo/booths/acme")).text

    assert "<h2>Why us</h2>" in html
    assert "<ul>\n<li>Fast</li>\n<li>Safe</li>\n</ul>" in html
    assert "<script>alert(1)</script>" not in html
