"""Emails carry signed links when the site has [web]: each one verifies, and opening them changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from digest.cli import main as cli_main
from digest.delivery import answers
from digest.delivery.store import Store, open_store
from digest.email.links import LinkError, verify
from tests.web_site import NOW, SECRET, WebApp, web_site

SENT_AT = NOW  # the web site's clock: inside the October deep-dive window
LINK = re.compile(r"https://digest\.example\.gov\.uk/(deep-dive|useful|themes|view)/([A-Za-z0-9_.-]+)")
PURPOSES = {"deep-dive": "deep-dive", "useful": "feedback", "themes": "themes", "view": "view"}


@pytest.fixture
def site(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIGEST_DATABASE_URL", database_url)
    monkeypatch.setenv("DIGEST_SECRET_KEY", SECRET)
    return web_site(tmp_path / "site")


@pytest.fixture
def state(site: Path, database_url: str) -> Iterator[Store]:
    opened = open_store(site, database_url)
    yield opened
    opened.close()


def send(site: Path, schedule: str) -> dict[str, str]:
    """Send one occurrence on 12 November; each recipient's email bodies, text and HTML."""
    assert cli_main(["--site", str(site), "send", schedule, "--on", "2026-11-12"],
                    clock=lambda: SENT_AT) == 0  # fmt: skip
    bodies = {}
    for eml in (site / "outbox").glob("*.eml"):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        parts = [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
        bodies[str(message["To"])] = "\n".join(parts)
    return bodies


def test_an_invitation_carries_a_signed_request_link_per_measure_for_its_recipient(
    site: Path,
) -> None:
    bodies = send(site, "invite")
    assert bodies
    for to, body in bodies.items():
        assert "mailto:" not in body.split("Or write to")[0]
        found = LINK.findall(body)
        purposes = {route for route, _ in found}
        assert {"deep-dive", "useful", "view"} <= purposes
        for route, token in found:
            link = verify(SECRET, PURPOSES[route], token, SENT_AT)  # type: ignore[arg-type]
            assert to.startswith("Cllr ") or link.recipient_id in to or "@" in to
            assert link.schedule_id == "invite" and link.occurrence_key == "social-care:2026-10-31"


def test_a_link_from_one_email_is_refused_for_another_purpose(site: Path) -> None:
    body = next(iter(send(site, "invite").values()))
    _, token = next(m for m in LINK.findall(body) if m[0] == "deep-dive")
    with pytest.raises(LinkError):
        verify(SECRET, "feedback", token, SENT_AT)


def test_without_the_key_send_refuses_and_says_why(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DIGEST_SECRET_KEY")
    assert cli_main(["--site", str(site), "send", "invite", "--on", "2026-11-12"],
                    clock=lambda: SENT_AT) == 1  # fmt: skip
    assert "DIGEST_SECRET_KEY is not set" in capsys.readouterr().err
    assert not list((site / "outbox").glob("*.eml"))


def test_opening_every_link_of_every_email_as_a_mail_scanner_would_records_nothing(
    site: Path, state: Store
) -> None:
    bodies = {**send(site, "invite"), **send(site, "tracker")}
    app = WebApp(site, state, now=SENT_AT)
    opened = 0
    for body in bodies.values():
        for route, token in LINK.findall(body):
            response = app.client.get(f"/{route}/{token}")
            assert response.status_code == 200, (route, response.text[:200])
            opened += 1
    assert opened > 10
    assert answers.requests(state) == [] and answers.feedback(state) == []
    assert answers.theme_choices(state) == []
