"""/api/events/{slug}/webhooks: validation, who sees which endpoint, secrets and the log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import RoleName
from app.integrations import signing, webhooks
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import make_event, make_exhibitor
from tests.integrations.test_webhooks_delivery import bearer

URL = "/api/events/summit/webhooks"


@pytest.fixture
async def strict_client(
    app: FastAPI, database_url: str, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a second app on the same database, with private addresses refused
    (`app` empties the tables afterwards)."""
    strict = create_app(make_settings(database_url, tmp_path, allow_private_webhooks=False))
    async with strict.router.lifespan_context(strict):
        transport = httpx.ASGITransport(app=strict)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


PRIVATE = "resolves to a private, loopback, link-local or reserved address"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/x", "The URL must start with https://."),
        ("ftp://hooks.example.com/x", "The URL must start with https://."),
        ("https://user:pw@hooks.example.com/x", "The URL must not hold a user name or password."),
        ("https:///x", "The URL must name a host."),
        ("https://127.0.0.1/x", PRIVATE),
        ("https://10.1.2.3/x", PRIVATE),
        ("https://192.168.0.10:8443/x", PRIVATE),
        ("https://169.254.169.254/latest", PRIVATE),
        ("https://[::1]/x", PRIVATE),
        ("https://[::ffff:127.0.0.1]/x", PRIVATE),
        ("https://0.0.0.0/x", PRIVATE),
        ("https://[64:ff9b::a9fe:a9fe]/x", PRIVATE),  # NAT64 of 169.254.169.254
        ("https://[2002:7f00:1::1]/x", PRIVATE),  # 6to4 of 127.0.0.1
        ("https://[::127.0.0.1]/x", PRIVATE),  # IPv4-compatible
        ("https://[fec0::1]/x", PRIVATE),  # site-local
        ("https://" + "a" * 64 + ".example.com/x", "could not be resolved"),
        ("https://localhost/x", PRIVATE),
        ("https://host.invalid/x", "The host host.invalid could not be resolved."),
        ("https://exa mple.com:99999/x", "That URL is not valid."),
    ],
)
async def test_private_and_malformed_urls_are_refused(
    db: AsyncSession, strict_client: httpx.AsyncClient, url: str, message: str
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await bearer(db, event, RoleName.organizer)
    body = {"url": url, "event_types": ["lead.mql_reached"]}
    response = await strict_client.post(URL, json=body, headers=organizer)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("webhook.invalid", "url")
    assert message in error["message"]


async def test_public_address_passes_the_check() -> None:
    assert await webhooks.check_url("https://93.184.215.14/hook", allow_private=False) == (
        "https://93.184.215.14/hook"
    )
    assert await webhooks.check_url("http://127.0.0.1:9/x", allow_private=True)


async def test_bad_bodies_are_422_with_clear_messages(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await bearer(db, event, RoleName.organizer)
    cases = [
        ({"url": "https://127.0.0.1/x", "event_types": ["lead.sold"]}, "Unknown event type"),
        ({"url": "https://127.0.0.1/x", "event_types": []}, "Choose at least one event type."),
        ({"url": "https://127.0.0.1/x", "event_types": "lead.updated"}, "valid list"),
        ({"url": 5, "event_types": ["lead.updated"]}, "valid string"),
        ({"event_types": ["lead.updated"]}, "Field required"),
        ({"url": "https://127.0.0.1/x", "secret": "mine"}, "Extra inputs"),
        ({"url": "https://127.0.0.1/x", "exhibitor": "nobody"}, "no such exhibitor"),
    ]
    for body, message in cases:
        response = await client.post(URL, json=body, headers=organizer)
        assert response.status_code in (404, 422), (body, response.text)
        assert message in response.text, (body, response.text)
    created = await client.post(URL, json={"url": "https://127.0.0.1/x"}, headers=organizer)
    endpoint = created.json()
    bad = await client.patch(f"{URL}/{endpoint['id']}", json={"url": "gopher://x"},
                             headers=organizer)  # fmt: skip
    assert bad.status_code == 422
    assert (await client.get(f"{URL}/nope", headers=organizer)).status_code == 422


async def test_create_returns_secret_once_and_rotation_replaces_it(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await bearer(db, event, RoleName.organizer)
    created = await client.post(
        URL,
        json={"url": "https://127.0.0.1/hook", "description": " CRM ", "event_types":
              ["lead.updated", "lead.mql_reached", "lead.updated"]},
        headers=organizer,
    )  # fmt: skip
    assert created.status_code == 201
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert (body["event_types"], body["description"], body["exhibitor"], body["active"]) == (
        ["lead.updated", "lead.mql_reached"], "CRM", None, True
    )  # fmt: skip
    read = (await client.get(f"{URL}/{body['id']}", headers=organizer)).json()
    assert "secret" not in read
    rotated = (await client.post(f"{URL}/{body['id']}/rotate-secret", headers=organizer)).json()
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != body["secret"]
    deleted = await client.delete(f"{URL}/{body['id']}", headers=organizer)
    assert deleted.status_code == 204
    assert (await client.get(f"{URL}/{body['id']}", headers=organizer)).status_code == 404


async def test_exhibitor_staff_manage_only_their_exhibitors_endpoints(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db, slug="summit")
    await make_exhibitor(db, event, name="Acme", slug="acme")
    globex = await make_exhibitor(db, event, name="Globex", slug="globex")
    acme = await make_exhibitor(db, event, name="Acme Two", slug="acme-two")
    organizer = await bearer(db, event, RoleName.organizer)
    acme_staff = await bearer(db, event, RoleName.staff, acme)
    globex_staff = await bearer(db, event, RoleName.staff, globex)
    attendee = await bearer(db, event, RoleName.attendee)
    hook = {"url": "https://127.0.0.1/hook"}
    own = (await client.post(URL, json=hook, headers=acme_staff)).json()
    assert own["exhibitor"] == {"id": acme.id, "slug": "acme-two", "name": "Acme Two"}
    theirs = (
        await client.post(URL, json={**hook, "exhibitor": "globex"}, headers=globex_staff)
    ).json()
    event_level = (await client.post(URL, json=hook, headers=organizer)).json()
    refused = await client.post(URL, json={**hook, "exhibitor": "globex"}, headers=acme_staff)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "webhook.forbidden"
    listed = (await client.get(URL, headers=acme_staff)).json()
    assert [e["id"] for e in listed] == [own["id"]]
    assert (await client.get(f"{URL}?exhibitor=globex", headers=acme_staff)).status_code == 403
    for other in (theirs["id"], event_level["id"]):
        for method in ("GET", "PATCH", "DELETE"):
            patch = {"active": False} if method == "PATCH" else None
            response = await client.request(
                method, f"{URL}/{other}", headers=acme_staff, json=patch
            )
            assert response.status_code == 404, (method, other)
        for action in ("ping", "rotate-secret", "deliveries"):
            method = "GET" if action == "deliveries" else "POST"
            response = await client.request(method, f"{URL}/{other}/{action}", headers=acme_staff)
            assert response.status_code == 404
    everything = (await client.get(URL, headers=organizer)).json()
    assert [e["id"] for e in everything] == [own["id"], theirs["id"], event_level["id"]]
    assert (await client.get(URL, headers=attendee)).status_code == 403
    assert (await client.post(URL, json=hook, headers=attendee)).status_code == 403
    assert (await client.get(URL)).status_code == 401


async def test_disabling_by_hand_fails_pending_deliveries(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db, slug="summit")
    organizer = await bearer(db, event, RoleName.organizer)
    endpoint = (
        await client.post(URL, json={"url": "https://127.0.0.1/x"}, headers=organizer)
    ).json()
    ping = (await client.post(f"{URL}/{endpoint['id']}/ping", headers=organizer)).json()
    off = await client.patch(f"{URL}/{endpoint['id']}", json={"active": False}, headers=organizer)
    assert (off.json()["active"], off.json()["disabled_reason"]) == (False, "Disabled by a user.")
    log = (await client.get(f"{URL}/{endpoint['id']}/deliveries", headers=organizer)).json()
    assert [(d["id"], d["status"], d["last_error"]) for d in log] == [
        (ping["id"], "failed", "The endpoint was disabled.")
    ]
    refused = await client.post(f"{URL}/{endpoint['id']}/deliveries/{ping['id']}/resend",
                                headers=organizer)  # fmt: skip
    assert refused.status_code == 409
    missing = await client.post(f"{URL}/{endpoint['id']}/deliveries/nope/resend", headers=organizer)
    assert missing.status_code == 409  # disabled first; enabled, an unknown id is a 404
    await client.patch(f"{URL}/{endpoint['id']}", json={"active": True}, headers=organizer)
    missing = await client.post(f"{URL}/{endpoint['id']}/deliveries/nope/resend", headers=organizer)
    assert missing.status_code == 404


def test_signature_scheme_matches_the_independent_receiver() -> None:
    from tests.integrations.webhook_receiver import verify_signature

    body = b'{"id":"x","type":"lead.updated"}'
    header = signing.signature_header("whsec_abc", 1_800_000_000, body)
    assert header.startswith("t=1800000000,v1=")
    assert verify_signature("whsec_abc", header, body, now=1_800_000_100)
    assert signing.verify("whsec_abc", header, body, now=1_800_000_100)
    assert not verify_signature("whsec_abc", header, body + b" ", now=1_800_000_100)
    assert not verify_signature("whsec_abd", header, body, now=1_800_000_100)
    assert not verify_signature("whsec_abc", header, body, now=1_800_000_301)
    assert not signing.verify("whsec_abc", header, body, now=1_800_000_301)
    assert not verify_signature("whsec_abc", "t=nope,v1=00", body, now=1_800_000_000)
    assert not verify_signature("whsec_abc", "", body, now=1_800_000_000)


async def test_receiver_refuses_tampered_and_replayed_deliveries() -> None:
    import time

    from tests.integrations.webhook_receiver import Receiver, running

    body = b'{"id":"d1","type":"lead.mql_reached"}'
    with running(Receiver(secret="whsec_s")) as receiver:
        async with httpx.AsyncClient() as http:

            async def send(content: bytes, signed_at: int) -> int:
                header = signing.signature_header("whsec_s", signed_at, body)
                response = await http.post(receiver.url, content=content,
                                           headers={"Expohall-Signature": header})  # fmt: skip
                return response.status_code

            now = int(time.time())
            assert await send(body, now) == 200
            assert await send(body.replace(b"d1", b"d2"), now) == 400
            assert await send(body, now - 3600) == 400
    assert [r.verified for r in receiver.received] == [True, False, False]
