"""The one path from a chat message's text to HTML: light markdown, then an allowlist."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("zero", {"html": False, "breaks": True, "linkify": False}).enable(
    ["emphasis", "link", "autolink", "newline", "escape", "backticks"]
)
_TAGS = {"p", "br", "strong", "em", "a", "code"}
_ATTRIBUTES = {"a": {"href"}}
_SCHEMES = {"http", "https", "mailto"}


def render(text: str) -> str:
    """Bold, italic, code and links; everything else is escaped text."""
    return nh3.clean(
        _md.render(text),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow ugc",
    ).strip()
