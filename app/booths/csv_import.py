"""Exhibitors from a CSV file: every row checked on its own, valid rows imported, errors listed.

Columns (header names, any order, case-insensitive): name (required), slug, website, tier,
tags, tagline, territory, ideal_sizes. Lists are separated by `;` or `|` (tags may also use
commas). The file is UTF-8, with or without a byte-order mark.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from app.booths.models import Tier
from app.booths.service import slugify
from app.events.vocab import COMPANY_SIZES, countries

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
COLUMNS = ("name", "slug", "website", "tier", "tags", "tagline", "territory", "ideal_sizes")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ALIASES = {"ideal sizes": "ideal_sizes", "ideal_company_sizes": "ideal_sizes", "company": "name"}


class NotCsv(ValueError):
    """The file as a whole cannot be read as our CSV; the message says why, in plain words."""


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # the line's number in a spreadsheet: the header is row 1
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class ExhibitorRow:
    row: int
    name: str
    slug: str
    website: str
    tier: str
    tags: list[str]
    tagline: str
    territory: list[str]
    ideal_sizes: list[str]


@dataclass(slots=True)
class Parsed:
    rows: list[ExhibitorRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _list(text: str, separators: str = r"[;|]") -> list[str]:
    return [part.strip() for part in re.split(separators, text) if part.strip()]


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise NotCsv(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
    if not data.strip():
        raise NotCsv("The file is empty.")
    if b"\x00" in data[:4096]:
        raise NotCsv("This is not a CSV file (it looks like a binary file, e.g. a spreadsheet).")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotCsv("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again.") from None


def parse(data: bytes, *, taken: set[str]) -> Parsed:
    """Check every row; `taken` holds the event's existing exhibitor slugs."""
    text = decode(data)
    # The header names hold no separators, so its first line tells the delimiter
    # (Excel writes `;` in many locales); the cells may hold `;` lists.
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise NotCsv("The file has no header row.") from None
    names = [_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    if "name" not in names:
        raise NotCsv(
            "The first row must name the columns, including “name”: " + ", ".join(COLUMNS) + "."
        )
    result = Parsed()
    seen = set(taken)
    try:
        for number, cells in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                result.errors.append(
                    RowError(number, "file", f"Only the first {MAX_ROWS} rows were read.")
                )
                break
            if not any(c.strip() for c in cells):
                continue
            values = {
                name: (cells[i].strip() if i < len(cells) else "")
                for i, name in enumerate(names)
                if name in COLUMNS
            }
            row, errors = _check(number, values, seen)
            result.errors.extend(errors)
            if row is not None:
                seen.add(row.slug)
                result.rows.append(row)
    except csv.Error as exc:
        raise NotCsv(f"The file is not valid CSV: {exc}.") from None
    return result


def _check(
    number: int, values: dict[str, str], seen: set[str]
) -> tuple[ExhibitorRow | None, list[RowError]]:
    errors: list[RowError] = []

    def bad(name: str, message: str) -> None:
        errors.append(RowError(number, name, message))

    name = values.get("name", "")
    if not name:
        bad("name", "The name is missing.")
    elif len(name) > 200:
        bad("name", "The name is longer than 200 characters.")
    slug = values.get("slug", "").lower() or slugify(name)
    if not slug or not _SLUG.match(slug) or len(slug) > 80:
        bad("slug", "Use lowercase letters, digits and dashes, e.g. acme-robotics.")
    elif slug in seen:
        bad("slug", f"“{slug}” is already used by another exhibitor.")
    website = values.get("website", "")
    if website and not re.match(r"^https?://[^\s/]+\.[^\s]+$", website):
        bad("website", "Use a full address starting with https://.")
    tier = values.get("tier", "").lower() or Tier.bronze
    if tier not in tuple(Tier):
        bad("tier", f"“{tier}” is not a tier; use platinum, gold, silver or bronze.")
    tags = list(dict.fromkeys(_list(values.get("tags", ""), r"[;|,]")))
    if len(tags) > 12 or any(len(t) > 40 for t in tags):
        bad("tags", "Use at most 12 tags of up to 40 characters.")
    tagline = values.get("tagline", "")
    if len(tagline) > 300:
        bad("tagline", "The tagline is longer than 300 characters.")
    territory = [c.upper() for c in _list(values.get("territory", ""), r"[;|,\s]+")]
    unknown = [c for c in territory if c not in countries()]
    if unknown:
        bad("territory", f"Not ISO country codes: {', '.join(unknown[:5])}.")
    sizes = _list(values.get("ideal_sizes", ""), r"[;|]")
    wrong = [s for s in sizes if s not in COMPANY_SIZES]
    if wrong:
        bad(
            "ideal_sizes",
            f"Unknown company size {', '.join(wrong[:3])}; use {', '.join(COMPANY_SIZES)}.",
        )
    if errors:
        return None, errors
    return (
        ExhibitorRow(
            row=number,
            name=name,
            slug=slug,
            website=website,
            tier=tier,
            tags=tags,
            tagline=tagline,
            territory=sorted(set(territory)),
            ideal_sizes=[s for s in COMPANY_SIZES if s in sizes],
        ),
        [],
    )
