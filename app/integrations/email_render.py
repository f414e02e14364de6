"""Follow-up email content: the sandboxed template, signed tracking links, the MIME message."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from functools import lru_cache
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from app.errors import Invalid

VARIABLES = (
    "first_name",
    "last_name",
    "full_name",
    "company",
    "event_name",
    "exhibitor_name",
    "engaged",
    "sessions",
    "resources",
)
SAFE_FILTERS = frozenset(
    {
        "capitalize", "default", "d", "escape", "e", "first", "join", "last", "length",
        "count", "list", "lower", "upper", "title", "trim", "truncate", "sort", "unique",
        "striptags", "string",
    }
)  # fmt: skip
MAX_LOOP_NESTING = 2
MAX_OUTPUT = 100_000  # characters: a follow-up is a short letter


class _MailSandbox(SandboxedEnvironment):
    """The sandbox, narrowed for templates that organizers and exhibitors write: no calls
    (`first_name.ljust(10**9)`), no globals (`range`, `lipsum`…), no `*`/`**` (which make
    huge strings), and only filters that cannot blow the output up."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError(f"the operator {operator} is not allowed in email templates")

    def is_safe_callable(self, obj: Any) -> bool:
        return False


_ENV = _MailSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENV.globals.clear()
_ENV.filters = {name: f for name, f in _ENV.filters.items() if name in SAFE_FILTERS}
# A URL ends before whitespace, quotes or angle brackets; trailing punctuation is prose.
_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"
_CLICK_PURPOSE = b"expohall.email.click\x00"


class InvalidTemplate(Invalid):
    code = "email.invalid_template"


@dataclass(frozen=True, slots=True)
class Engaged:
    """A session attended or a resource downloaded; prints as its title."""

    kind: str  # "session" | "resource"
    title: str

    def __str__(self) -> str:
        return self.title


@dataclass(frozen=True, slots=True)
class Recipient:
    """What a template may use about one lead."""

    first_name: str
    last_name: str
    company: str
    event_name: str
    exhibitor_name: str
    engaged: tuple[Engaged, ...] = ()

    def variables(self) -> dict[str, Any]:
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "full_name": " ".join(p for p in (self.first_name, self.last_name) if p),
            "company": self.company,
            "event_name": self.event_name,
            "exhibitor_name": self.exhibitor_name,
            "engaged": list(self.engaged),
            "sessions": [e for e in self.engaged if e.kind == "session"],
            "resources": [e for e in self.engaged if e.kind == "resource"],
        }


SAMPLE = Recipient(
    "Ada",
    "Lovelace",
    "Analytical Engines Ltd",
    "Expo",
    "Acme",
    (Engaged("session", "Opening keynote"), Engaged("resource", "Datasheet")),
)
"""Every template is rendered for this recipient when a campaign is created, so that a
mistake is a 422 at once rather than a failed message later."""


@lru_cache(maxsize=64)
def compile_template(source: str, field: str) -> Template:
    """Parse `source`; a syntax error or an unknown variable is a 422 naming it."""
    try:
        tree = _ENV.parse(source)
        if _nesting(tree) > MAX_LOOP_NESTING:
            raise InvalidTemplate(
                f"The {field} nests loops more than {MAX_LOOP_NESTING} deep.", field=field
            )
        unknown = sorted(meta.find_undeclared_variables(tree) - set(VARIABLES))
        if unknown:
            raise InvalidTemplate(
                f"The {field} uses an unknown variable {unknown[0]!r}; "
                f"use one of {', '.join(VARIABLES)}.",
                field=field,
            )
        return _ENV.from_string(tree)
    except TemplateSyntaxError as exc:  # also an unknown filter (TemplateAssertionError)
        raise InvalidTemplate(
            f"The {field} has a template error on line {exc.lineno}: {exc.message}", field=field
        ) from None


def _nesting(node: nodes.Node, depth: int = 0) -> int:
    """How deep `for` loops nest in a parsed template."""
    if isinstance(node, nodes.For):
        depth += 1
    return max([depth, *(_nesting(child, depth) for child in node.iter_child_nodes())])


def render(source: str, recipient: Recipient, field: str) -> str:
    """The template rendered for one recipient; any failure is a 422 naming the field."""
    template = compile_template(source, field)
    try:
        out: list[str] = []
        size = 0
        for chunk in template.generate(recipient.variables()):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise InvalidTemplate(
                    f"The {field} renders to more than {MAX_OUTPUT:,} characters.", field=field
                )
            out.append(chunk)
        return "".join(out)
    except InvalidTemplate:
        raise
    except TemplateError as exc:
        raise InvalidTemplate(f"The {field} could not be rendered: {exc}", field=field) from None
    except Exception as exc:  # the template is user code: a ZeroDivisionError is bad input too
        raise InvalidTemplate(
            f"The {field} could not be rendered: {type(exc).__name__}: {exc}", field=field
        ) from None


def render_subject(source: str, recipient: Recipient) -> str:
    """One line: a subject never carries a line break into the headers."""
    return " ".join(render(source, recipient, "subject").split())[:250]


def sign_click(secret: bytes, token: str, url: str) -> str:
    """HMAC of the message token and the target, for this purpose only."""
    value = _CLICK_PURPOSE + token.encode() + b"\x00" + url.encode()
    return hmac.new(secret, value, hashlib.sha256).hexdigest()


def click_is_valid(secret: bytes, token: str, url: str, signature: str) -> bool:
    # A mail client may take a sentence's full stop into the link: never part of a signature.
    signature = signature.rstrip(_TRAILING)
    if not hmac.compare_digest(sign_click(secret, token, url).encode(), signature.encode()):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass(frozen=True, slots=True)
class Links:
    """The tracking URLs of one message."""

    base_url: str
    secret: bytes
    token: str

    def click(self, url: str) -> str:
        query = urlencode({"u": url, "s": sign_click(self.secret, self.token, url)})
        return f"{self.base_url.rstrip('/')}/t/c/{self.token}?{query}"

    @property
    def pixel(self) -> str:
        return f"{self.base_url.rstrip('/')}/t/o/{self.token}.gif"

    @property
    def unsubscribe(self) -> str:
        return f"{self.base_url.rstrip('/')}/t/u/{self.token}"


def _pieces(text: str) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_url)."""
    out: list[tuple[str, bool]] = []
    last = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        if not urlsplit(url).netloc:
            continue
        out.append((text[last : match.start()], False))
        out.append((url, True))
        last = match.start() + len(url)
    out.append((text[last:], False))
    return out


def tracked_text(text: str, link: Callable[[str], str]) -> str:
    return "".join(link(p) if is_url else p for p, is_url in _pieces(text))


def tracked_html(text: str, link: Callable[[str], str]) -> str:
    """Escaped paragraphs; each URL a link through `link`, showing where it goes."""
    body = "".join(
        f'<a href="{escape(link(p))}">{escape(p)}</a>' if is_url else escape(p)
        for p, is_url in _pieces(text.strip())
    )
    paragraphs = re.split(r"\n\s*\n", body)
    return "\n".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in paragraphs if p)


def build_message(
    *, mail_from: str, to: str, subject: str, text: str, links: Links
) -> EmailMessage:
    """multipart/alternative: the text and the HTML, every link tracked, an unsubscribe link
    and the RFC 8058 one-click headers."""
    footer = f"\n\n--\nTo stop these emails, unsubscribe: {links.unsubscribe}\n"
    plain = tracked_text(text.rstrip(), links.click) + footer
    html = (
        '<!doctype html><html><body style="font-family: sans-serif; line-height: 1.5">'
        + tracked_html(text, links.click)
        + '<hr><p style="font-size: small; color: #555">To stop these emails, '
        + f'<a href="{escape(links.unsubscribe)}">unsubscribe</a>.</p>'
        + f'<img src="{escape(links.pixel)}" width="1" height="1" alt="" style="display: block">'
        + "</body></html>\n"
    )
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = str(Address(addr_spec=to))
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=_domain(mail_from))
    message["List-Unsubscribe"] = f"<{links.unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(plain)
    message.add_alternative(html, subtype="html")
    return message


def _domain(mail_from: str) -> str:
    addresses = getaddresses([mail_from])
    address = addresses[0][1] if addresses else ""
    return address.rpartition("@")[2] or "expohall.invalid"
