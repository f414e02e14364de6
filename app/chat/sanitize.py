"""The one path from user text to HTML: markdown (raw HTML disabled), then an nh3 allowlist.

`render` is the light profile of chat messages; `render_rich` adds headings, lists, quotes and
code for long texts such as booth descriptions.
"""

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


# The richer profile for long texts (booth descriptions): headings, lists, quotes and code too.
# Raw HTML stays disabled in the parser, so every tag below comes from markdown, and nh3
# still has the last word.
_md_rich = MarkdownIt("commonmark", {"html": False, "breaks": False, "linkify": False}).disable(
    ["image", "html_block", "html_inline"]
)
_RICH_TAGS = {
    "h2",
    "h3",
    "h4",
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "blockquote",
    "pre",
    "code",
    "strong",
    "em",
    "a",
    "hr",
}
_RICH_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
# A page has one h1 (its title): markdown's h1 becomes h2, and h5/h6 become h4.
_HEADINGS = {"h1": "h2", "h5": "h4", "h6": "h4"}


def render_rich(text: str) -> str:
    """Markdown with headings (h2-h4), lists, quotes and code; links are http(s) or mailto."""
    html = _md_rich.render(text)
    for source, target in _HEADINGS.items():
        html = html.replace(f"<{source}>", f"<{target}>").replace(f"</{source}>", f"</{target}>")
    return nh3.clean(
        html,
        tags=_RICH_TAGS,
        attributes=_RICH_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener nofollow ugc",
    ).strip()
