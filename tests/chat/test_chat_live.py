"""Chat over the websocket: ordering, idempotent sends, resume, moderation and access."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event, RoleName
from tests.factories import (
    grant,
    make_account,
    make_event,
    make_exhibitor,
    make_registration,
    session_token,
)
from tests.realtime.wsclient import ServerError, client


class Expo:
    """An event with one exhibitor, its staff, two attendees, and another exhibitor's staff."""

    event: Event
    booth_id: int
    exhibitor_id: int
    staff_id: int
    tokens: dict[str, str]


async def expo(db: AsyncSession) -> Expo:
    x = Expo()
    x.event = await make_event(db)
    exhibitor = await make_exhibitor(db, x.event)
    rival = await make_exhibitor(db, x.event)
    from sqlalchemy import select

    from app.booths.models import Booth

    x.booth_id = (
        await db.execute(select(Booth.id).where(Booth.exhibitor_id == exhibitor.id))
    ).scalar_one()
    x.exhibitor_id = exhibitor.id
    staff = await make_account(db, display_name="Sam Staff")
    await grant(db, staff, x.event, RoleName.staff, exhibitor.id)
    x.staff_id = staff.id
    rival_staff = await make_account(db)
    await grant(db, rival_staff, x.event, RoleName.staff, rival.id)
    ada = await make_registration(db, x.event, await make_account(db, display_name="Ada"))
    bob = await make_registration(db, x.event, await make_account(db, display_name="Bob"))
    organizer = await make_account(db)
    await grant(db, organizer, x.event, RoleName.organizer)
    outsider = await make_account(db)
    x.tokens = {}
    for name, account_id in [
        ("staff", staff.id),
        ("rival", rival_staff.id),
        ("ada", ada.account_id),
        ("bob", bob.account_id),
        ("organizer", organizer.id),
        ("outsider", outsider.id),
    ]:
        from app.auth.models import Account

        account = await db.get(Account, account_id)
        assert account is not None
        x.tokens[name] = await session_token(db, account)
    x.tokens["ada_id"] = str(ada.account_id)
    x.tokens["bob_id"] = str(bob.account_id)
    return x


async def test_messages_reach_everyone_in_order(ws_url: str, db: AsyncSession) -> None:
    x = await expo(db)
    async with client(ws_url, x.tokens["ada"]) as ada, client(ws_url, x.tokens["bob"]) as bob:
        room = (await ada.call("chat.open", {"booth_id": x.booth_id}))["room"]
        await ada.call("chat.join", {"room_id": room["id"]})
        await bob.call("chat.join", {"room_id": room["id"]})
        for n in range(5):
            sent = await ada.call(
                "chat.send", {"room_id": room["id"], "client_msg_id": f"m{n}", "body": f"**{n}**"}
            )
            assert sent["message"]["seq"] == n + 1
        got = [(await bob.push("chat.message"))[2] for _ in range(5)]
    assert [m["seq"] for m in got] == [1, 2, 3, 4, 5]
    assert got[0]["html"] == "<p><strong>0</strong></p>"
    assert got[0]["author_name"] == "Ada"


async def test_resending_a_client_message_id_returns_the_stored_message(
    ws_url: str, db: AsyncSession
) -> None:
    x = await expo(db)
    async with client(ws_url, x.tokens["ada"]) as ada:
        room = (await ada.call("chat.open", {"booth_id": x.booth_id}))["room"]
        await ada.call("chat.join", {"room_id": room["id"]})
        body = {"room_id": room["id"], "client_msg_id": "same", "body": "hello"}
        first = await ada.call("chat.send", body)
        again = await ada.call("chat.send", {**body, "body": "hello (retry)"})
        await ada.push("chat.message")
        await ada.no_push("chat.message")
        history = await ada.call("chat.history", {"room_id": room["id"]})
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["message"]["id"] == first["message"]["id"]
    assert [m["body"] for m in history["messages"]] == ["hello"]


async def test_join_after_seq_returns_what_was_missed(ws_url: str, db: AsyncSession) -> None:
    x = await expo(db)
    async with client(ws_url, x.tokens["ada"]) as ada:
        room = (await ada.call("chat.open", {"booth_id": x.booth_id}))["room"]
        for n in range(6):
            await ada.call(
                "chat.send", {"room_id": room["id"], "client_msg_id": f"m{n}", "body": str(n)}
            )
    async with client(ws_url, x.tokens["bob"]) as bob:
        joined = await bob.call("chat.join", {"room_id": room["id"], "after_seq": 4})
    assert joined["gap"] is False
    assert joined["last_seq"] == 6
    assert [m["body"] for m in joined["messages"]] == ["4", "5"]


async def test_rejoining_after_seq_replays_edits_and_deletes_made_meanwhile(
    ws_url: str, db: AsyncSession
) -> None:
    x = await expo(db)
    async with client(ws_url, x.tokens["ada"]) as ada:
        room = (await ada.call("chat.open", {"booth_id": x.booth_id}))["room"]
        sent = [
            (
                await ada.call(
                    "chat.send", {"room_id": room["id"], "client_msg_id": f"m{n}", "body": f"m{n}"}
                )
            )["message"]
            for n in range(3)
        ]
        async with client(ws_url, x.tokens["bob"]) as bob:
            joined = await bob.call("chat.join", {"room_id": room["id"]})
        last = max(m["changed_seq"] for m in joined["messages"])
        # Bob is away: Ada fixes her first message, takes back the second and adds a fourth.
        await ada.call("chat.edit", {"message_id": sent[0]["id"], "body": "m0, fixed"})
        await ada.call("chat.delete", {"message_id": sent[1]["id"]})
        fourth = await ada.call(
            "chat.send", {"room_id": room["id"], "client_msg_id": "m3", "body": "m3"}
        )
    async with client(ws_url, x.tokens["bob"]) as bob:
        rejoined = await bob.call("chat.join", {"room_id": room["id"], "after_seq": last})
        again = await bob.call(
            "chat.join", {"room_id": room["id"], "after_seq": rejoined["last_seq"]}
        )
    assert (last, rejoined["last_seq"], rejoined["gap"]) == (3, 6, False)
    assert [
        (m["id"], m["seq"], m["changed_seq"], m["body"], m["deleted"]) for m in rejoined["messages"]
    ] == [
        (sent[0]["id"], 1, 4, "m0, fixed", False),
        (sent[1]["id"], 2, 5, "", True),
        (fourth["message"]["id"], 6, 6, "m3", False),
    ]
    assert again["messages"] == []


async def test_join_beyond_the_resume_window_answers_gap(
    app: FastAPI, ws_url: str, db: AsyncSession
) -> None:
    app.state.realtime.limits.resume_window = 3
    x = await expo(db)
    async with client(ws_url, x.tokens["ada"]) as ada:
        room = (await ada.call("chat.open", {"booth_id": x.booth_id}))["room"]
        for n in range(5):
            await ada.call(
                "chat.send", {"room_id": room["id"], "client_msg_id": f"m{n}", "body": str(n)}
            )
        joined = await ada.call("chat.join", {"room_id": room["id"], "after_seq": 1})
        page = await ada.call("chat.history", {"room_id": room["id"], "limit": 2})
        older = await ada.call("chat.history", {"room_id": room["id"], "limit": 2, "before_seq": 4})
    assert (joined["gap"], joined["messages"], joined["last_seq"]) == (True, [], 5)
    assert ([m["seq"] for m in page["messages"]], page["more"]) == ([4, 5], True)
    assert [m["seq"] for m in older["messages"]] == [2, 3]


async def test_authors_edit_and_delete_their_messages(ws_url: str, db: AsyncSession) -> None:
    x = await expo(db)
    async with client(ws_url, x.tokens["ada"]) as ada, client(ws_url, x.tokens["bob"]) as bob:
        room = (await ada.call("chat.open", {"booth_id": x.booth_id}))["room"]
        await bob.call("chat.join", {"room_id": room["id"]})
        sent = await ada.call(
            "chat.send", {"room_id": room["id"], "client_msg_id": "a", "body": "helo"}
        )
        message_id = sent["message"]["id"]
        with pytest.raises(ServerError) as caught:
            await bob.call("chat.edit", {"message_id": message_id, "body": "hijacked"})
        assert caught.value.code == "chat.not_moderator"
        with pytest.raises(ServerError) as caught:
            await bob.call("chat.delete", {"message_id": message_id})
        assert caught.value.code == "chat.not_moderator"
        edited = await ada.call("chat.edit", {"message_id": message_id, "body": "hello"})
        assert edited["message"]["body"] == "hello"
        assert edited["message"]["edited_at"] is not None
        pushed = (await bob.push("chat.edited"))[2]
        assert (pushed["body"], pushed["seq"], pushed["changed_seq"]) == ("hello", 1, 2)
        await ada.call("chat.delete", {"message_id": message_id})
        pushed = (await bob.push("chat.deleted"))[2]
        assert (pushed["id"], pushed["seq"], pushed["changed_seq"]) == (message_id, 1, 3)
        history = await bob.call("chat.history", {"room_id": room["id"]})
    assert history["messages"][0]["deleted"] is True
    assert history["messages"][0]["body"] == ""


async def test_staff_delete_and_mute_in_their_booth(ws_url: str, db: AsyncSession) -> None:
    x = await expo(db)
    async with (
        client(ws_url, x.tokens["ada"]) as ada,
        client(ws_url, x.tokens["staff"]) as staff,
        client(ws_url, x.tokens["rival"]) as rival,
    ):
        room = (await ada.call("chat.open", {"booth_id": x.booth_id}))["room"]
        sent = await ada.call(
            "chat.send", {"room_id": room["id"], "client_msg_id": "a", "body": "spam"}
        )
        with pytest.raises(ServerError) as caught:
            await rival.call("chat.delete", {"message_id": sent["message"]["id"]})
        assert caught.value.code == "chat.not_moderator"
        await staff.call("chat.delete", {"message_id": sent["message"]["id"]})
        ada_id = int(x.tokens["ada_id"])
        await staff.call("chat.mute", {"room_id": room["id"], "account_id": ada_id})
        assert (await ada.push("chat.muted"))[2]["muted"] is True
        with pytest.raises(ServerError) as caught:
            await ada.call(
                "chat.send", {"room_id": room["id"], "client_msg_id": "b", "body": "more spam"}
            )
        assert caught.value.code == "chat.muted"
        await staff.call("chat.mute", {"room_id": room["id"], "account_id": ada_id, "muted": False})
        await ada.call("chat.send", {"room_id": room["id"], "client_msg_id": "c", "body": "ok"})


async def test_private_thread_is_for_the_visitor_and_that_booths_staff(
    ws_url: str, db: AsyncSession
) -> None:
    x = await expo(db)
    async with (
        client(ws_url, x.tokens["ada"]) as ada,
        client(ws_url, x.tokens["staff"]) as staff,
        client(ws_url, x.tokens["rival"]) as rival,
        client(ws_url, x.tokens["bob"]) as bob,
        client(ws_url, x.tokens["organizer"]) as organizer,
    ):
        room = (await ada.call("chat.open", {"booth_id": x.booth_id, "private": True}))["room"]
        assert room["kind"] == "booth_private"
        await staff.call("realtime.subscribe", {"channel": f"staff:{x.exhibitor_id}"})
        await ada.call("chat.join", {"room_id": room["id"]})
        await ada.call(
            "chat.send", {"room_id": room["id"], "client_msg_id": "q", "body": "pricing?"}
        )
        feed = (await staff.push("staff.chat"))[2]
        assert feed["message"]["body"] == "pricing?"
        assert feed["visitor"]["name"] == "Ada Lovelace"
        joined = await staff.call("chat.join", {"room_id": room["id"]})
        assert [m["body"] for m in joined["messages"]] == ["pricing?"]
        assert (await organizer.call("chat.join", {"room_id": room["id"]}))["last_seq"] == 1
        for other in (rival, bob):
            with pytest.raises(ServerError) as caught:
                await other.call("chat.join", {"room_id": room["id"]})
            assert caught.value.code == "chat.denied"
            with pytest.raises(ServerError) as caught:
                await other.call(
                    "chat.send", {"room_id": room["id"], "client_msg_id": "x", "body": "hi"}
                )
            assert caught.value.code == "chat.denied"
        # Staff open the same thread by naming the visitor; a rival cannot.
        same = await staff.call(
            "chat.open",
            {"booth_id": x.booth_id, "private": True, "visitor_id": int(x.tokens["ada_id"])},
        )
        assert same["room"]["id"] == room["id"]
        with pytest.raises(ServerError) as caught:
            await rival.call(
                "chat.open",
                {"booth_id": x.booth_id, "private": True, "visitor_id": int(x.tokens["ada_id"])},
            )
        assert caught.value.code == "chat.denied"


async def test_people_outside_the_event_cannot_chat(ws_url: str, db: AsyncSession) -> None:
    x = await expo(db)
    async with client(ws_url, x.tokens["outsider"]) as outsider:
        with pytest.raises(ServerError) as caught:
            await outsider.call("chat.open", {"booth_id": x.booth_id})
        assert caught.value.code == "chat.denied"
        with pytest.raises(ServerError) as caught:
            await outsider.call("realtime.subscribe", {"channel": f"booth:{x.booth_id}"})
        assert caught.value.code == "realtime.denied"


async def test_direct_messages_are_for_the_two_people(ws_url: str, db: AsyncSession) -> None:
    x = await expo(db)
    bob_id = int(x.tokens["bob_id"])
    async with (
        client(ws_url, x.tokens["ada"]) as ada,
        client(ws_url, x.tokens["bob"]) as bob,
        client(ws_url, x.tokens["staff"]) as staff,
    ):
        room = (await ada.call("chat.open", {"event_id": x.event.id, "account_id": bob_id}))["room"]
        await bob.call("chat.join", {"room_id": room["id"]})
        await ada.call("chat.send", {"room_id": room["id"], "client_msg_id": "1", "body": "hi"})
        assert (await bob.push("chat.message"))[2]["body"] == "hi"
        with pytest.raises(ServerError) as caught:
            await staff.call("chat.join", {"room_id": room["id"]})
        assert caught.value.code == "chat.denied"


async def test_message_text_is_sanitised(ws_url: str, db: AsyncSession) -> None:
    x = await expo(db)
    async with client(ws_url, x.tokens["ada"]) as ada:
        room = (await ada.call("chat.open", {"event_id": x.event.id}))["room"]
        sent = await ada.call(
            "chat.send",
            {
                "room_id": room["id"],
                "client_msg_id": "x",
                "body": "<img src=x onerror=alert(1)> [a](javascript:alert(1)) *hi*",
            },
        )
        with pytest.raises(ServerError) as caught:
            await ada.call("chat.send", {"room_id": room["id"], "client_msg_id": "y", "body": " "})
    html = sent["message"]["html"]
    assert "<img" not in html
    assert "javascript:" not in html.replace("[a](javascript:alert(1))", "")
    assert "<em>hi</em>" in html
    assert caught.value.code == "chat.invalid"
