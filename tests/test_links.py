"""Signed member links: bound to purpose, recipient, occurrence and measure, and expiring."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from digest.email.links import (
    Link,
    LinkError,
    deep_dive_closes_at,
    member_links,
    secret_problem,
    sign,
    verify,
)
from digest.model import Publication, SiteSettings
from digest.site.web import WebSettings, base_url_problem

SECRET = "k" * 40
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
WEB = WebSettings("https://digest.example.gov.uk/members/")
SETTINGS = SiteSettings("Test", "Europe/London", "england", "P <p@example.gov.uk>", ("x",))


def token_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[1]


def test_member_links_carry_each_purpose_under_the_base_url() -> None:
    later = NOW + timedelta(days=30)
    links = member_links(WEB, SECRET, "cllr-a", "invite", "social-care:2026-10-31",
                         ["visits", "re-referrals"], later, NOW + timedelta(days=3))  # fmt: skip
    assert links.view.startswith("https://digest.example.gov.uk/members/view/")
    assert links.useful_yes.endswith("?answer=yes") and links.useful_no.endswith("?answer=no")
    assert links.themes.startswith("https://digest.example.gov.uk/members/themes/")
    assert set(links.deep_dives) == {"visits", "re-referrals"}
    link = verify(SECRET, "deep-dive", token_of(links.deep_dives["visits"]), NOW)
    assert (link.recipient_id, link.schedule_id, link.occurrence_key, link.measure) == (
        "cllr-a", "invite", "social-care:2026-10-31", "visits",
    )  # fmt: skip
    assert link.expires == NOW + timedelta(days=3)
    view = verify(SECRET, "view", token_of(links.view), NOW)
    assert view.measure is None and view.expires == later


def test_a_token_is_refused_for_another_purpose_or_with_another_key() -> None:
    token = sign(SECRET, Link("feedback", "cllr-a", "tracker", "k", NOW + timedelta(days=1)))
    with pytest.raises(LinkError):
        verify(SECRET, "themes", token, NOW)
    with pytest.raises(LinkError):
        verify("o" * 40, "feedback", token, NOW)


def test_a_token_expires() -> None:
    token = sign(SECRET, Link("themes", "cllr-a", "tracker", "k", NOW))
    with pytest.raises(LinkError) as caught:
        verify(SECRET, "themes", token, NOW)
    assert caught.value.expired
    assert verify(SECRET, "themes", token, NOW - timedelta(seconds=1)).recipient_id == "cllr-a"


def test_deep_dive_links_close_at_the_deadline_time_local() -> None:
    # DESIGN.md: the deadline's time of day is deep_dive_closes (default 16:00), local time.
    publication = Publication("social-care", date(2026, 10, 31), date(2026, 11, 12), "https://x")
    assert deep_dive_closes_at(publication, SETTINGS) == datetime(2026, 11, 19, 16, tzinfo=UTC)
    summer = Publication("social-care", date(2026, 5, 31), date(2026, 6, 11), "https://x")
    assert deep_dive_closes_at(summer, SETTINGS) == datetime(2026, 6, 18, 15, tzinfo=UTC)  # BST


@pytest.mark.parametrize(
    ("secret", "bad"), [(None, True), ("", True), ("short", True), ("s" * 32, False)]
)
def test_the_key_must_be_set_and_long(secret: str | None, bad: bool) -> None:
    assert (secret_problem(secret) is not None) is bad


@pytest.mark.parametrize(
    ("url", "ok"),
    [("https://digest.example.gov.uk", True), ("http://127.0.0.1:8000", True),
     ("http://localhost:8000", True), ("http://digest.example.gov.uk", False),
     ("ftp://digest.example.gov.uk", False), ("digest.example.gov.uk", False)],
)  # fmt: skip
def test_base_url_is_https_or_a_loopback_http(url: str, ok: bool) -> None:
    assert (base_url_problem(url) is None) is ok
