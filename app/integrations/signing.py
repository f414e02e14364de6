"""The webhook signature: `Expohall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.

The HMAC key is the endpoint's secret (the whole `whsec_…` string, UTF-8) and the message is
`f"{t}.{body}"`, the timestamp and the exact request body joined by a dot. Signing the time
with the body lets a receiver refuse replays of an old delivery (docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "Expohall-Signature"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={digest(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, *, now: int, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """True when `header` signs `body` with `secret` within `tolerance` seconds of `now`."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts.get("t", [""])[0])
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, sent) for sent in parts.get("v1", []))
