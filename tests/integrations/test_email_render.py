"""Rendering follow-up email: escaping, tracked links, the unsubscribe footer and headers."""

from __future__ import annotations

import pytest

from app.integrations.email_render import (
    SAMPLE,
    InvalidTemplate,
    Links,
    build_message,
    click_is_valid,
    render,
    render_subject,
    tracked_html,
    tracked_text,
)

LINKS = Links("https://expo.example/", b"s" * 32, "tok")


def test_html_part_escapes_text_and_links_each_url_through_the_redirect() -> None:
    html = tracked_html('<b>Hi</b> & see https://a.example/x?y=1&z="2".\n\nBye', LINKS.click)
    assert html.startswith("<p>&lt;b&gt;Hi&lt;/b&gt; &amp; see <a href=")
    assert ">https://a.example/x?y=1&amp;z=</a>&quot;2&quot;.</p>\n<p>Bye</p>" in html
    assert 'href="https://expo.example/t/c/tok?u=https%3A%2F%2Fa.example%2Fx%3Fy%3D1%26z%3D' in html


def test_trailing_punctuation_stays_out_of_tracked_urls() -> None:
    text = tracked_text("Go (https://a.example/p), now.", lambda u: f"<{u}>")
    assert text == "Go (<https://a.example/p>), now."


def test_signature_covers_the_token_and_the_target() -> None:
    url = "https://a.example/"
    sig = LINKS.click(url).rsplit("s=", 1)[1]
    assert click_is_valid(LINKS.secret, "tok", url, sig)
    assert click_is_valid(LINKS.secret, "tok", url, sig + ".")  # a full stop taken along
    assert not click_is_valid(LINKS.secret, "tok2", url, sig)
    assert not click_is_valid(LINKS.secret, "tok", url + "x", sig)
    assert not click_is_valid(b"t" * 32, "tok", url, sig)


def test_subject_is_one_line() -> None:
    assert render_subject("Hi\n{{ first_name }}\r\nBcc: x@y", SAMPLE) == "Hi Ada Bcc: x@y"


def test_unknown_variable_names_it() -> None:
    with pytest.raises(InvalidTemplate, match="unknown variable 'password'"):
        render_subject("{{ password }}", SAMPLE)


def test_message_has_both_parts_the_pixel_and_the_one_click_headers() -> None:
    message = build_message(
        mail_from="Expo <fu@expo.example>", to="ada@example.com", subject="Hi",
        text="Hello https://a.example/", links=LINKS,
    )  # fmt: skip
    assert message["List-Unsubscribe"] == "<https://expo.example/t/u/tok>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"].endswith("@expo.example>")
    plain, html = (p.get_content() for p in message.iter_parts())
    assert "https://expo.example/t/u/tok" in plain
    assert "https://expo.example/t/c/tok?u=" in plain
    assert '<img src="https://expo.example/t/o/tok.gif" width="1" height="1"' in html


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{{ "x" * 300000000 }}', "could not be rendered"),
        ("{{ first_name ** 9 }}", "could not be rendered"),
        ("{{ first_name.ljust(999999999) }}", "could not be rendered"),
        ("{% for i in range(99999) %}x{% endfor %}", "unknown variable 'range'"),
        ('{{ "%999999999s"|format(1) }}', "template error"),
        ("{{ first_name|center(999999999) }}", "template error"),
        (
            "{% for a in engaged %}{% for b in engaged %}{% for c in engaged %}"
            "{% endfor %}{% endfor %}{% endfor %}",
            "nests loops more than 2 deep",
        ),
    ],
)
def test_templates_cannot_eat_the_server(body: str, message: str) -> None:
    with pytest.raises(InvalidTemplate) as info:
        render(body, SAMPLE, "body")
    assert message in info.value.message


def test_plain_filters_and_two_loops_still_work() -> None:
    body = (
        "{{ first_name|upper }} {{ company|default('you') }}: "
        "{% for e in engaged %}{{ e|string|lower }}{% if not loop.last %}, {% endif %}{% endfor %}"
    )
    assert render(body, SAMPLE, "body") == "ADA Analytical Engines Ltd: opening keynote, datasheet"
