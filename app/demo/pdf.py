"""A tiny valid one-page PDF, so demo documents open in any viewer without a PDF library."""

from __future__ import annotations

import unicodedata


def _pdf_text(text: str) -> str:
    """ASCII only (the standard Helvetica encoding), with PDF string escapes."""
    text = text.replace("–", "-").replace("—", "-").replace("’", "'").replace("…", "...")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").replace("*", "")


def tiny_pdf(title: str, author: str, lines: list[str]) -> bytes:
    """An A4 page with a title, the author and a few lines of text."""
    body = [f"BT /F1 22 Tf 56 770 Td ({_pdf_text(title)}) Tj ET"]
    body.append(f"BT /F1 12 Tf 56 740 Td ({_pdf_text(author)}) Tj ET")
    y = 700
    for line in filter(None, lines):
        body.append(f"BT /F1 11 Tf 56 {y} Td ({_pdf_text(line)[:95]}) Tj ET")
        y -= 18
    stream = "\n".join(body).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Title (%s) /Author (%s) /Producer (Expohall demo) >>"
        % (_pdf_text(title).encode(), _pdf_text(author).encode()),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
