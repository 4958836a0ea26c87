"""A member asks for a deep dive in a real browser, from the link in an email a real SMTP server
received, and the summary that follows lists the request (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from digest.cli import main as cli_main
from digest.delivery.store import Store, open_store
from digest.site.web import WebSettings
from digest.web.app import create_app
from digest.web.context import SiteSource, WebContext
from tests.sites import send_by_smtp
from tests.smtp_server import SmtpServer, free_port
from tests.web_site import NOW, SECRET, web_site

CHROMIUM = "/usr/bin/chromium"
SUMMARY_DAY = datetime(2026, 11, 19, 16, 5, tzinfo=UTC)


class Served:
    """The web application on a loopback port, in a thread, on the test's clock."""

    def __init__(self, app: object, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",  # type: ignore[arg-type]
                                access_log=False)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("the web application did not start")

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def site(tmp_path: Path, port: int, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIGEST_DATABASE_URL", database_url)
    monkeypatch.setenv("DIGEST_SECRET_KEY", SECRET)
    root = web_site(tmp_path / "site")
    schedules = root / "schedules.toml"
    text = schedules.read_text().replace("https://digest.example.gov.uk", f"http://127.0.0.1:{port}")
    schedules.write_text(text)
    return root


@pytest.fixture
def state(site: Path, database_url: str) -> Iterator[Store]:
    opened = open_store(site, database_url)
    yield opened
    opened.close()


def send(site: Path, schedule: str, on: str, now: datetime) -> None:
    assert cli_main(["--site", str(site), "send", schedule, "--on", on], clock=lambda: now) == 0


def subject_of(raw: bytes) -> str:
    return str(message_from_bytes(raw, policy=policy.default)["Subject"])


def body_of(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    return "\n".join(p.get_content() for p in message.walk() if p.get_content_type() == "text/plain")


def test_a_member_confirms_a_deep_dive_in_a_browser_and_the_summary_lists_it(
    site: Path, state: Store, port: int
) -> None:
    base = f"http://127.0.0.1:{port}"
    with SmtpServer() as smtp:
        send_by_smtp(site, smtp.port)
        send(site, "invite", "2026-11-12", NOW)
        invitation = next(r for r in smtp.received if "a@example.gov.uk" in r.rcpt_tos)
        link = re.search(rf"{re.escape(base)}/deep-dive/\S+", body_of(invitation.data))
        assert link is not None
        context = WebContext(SiteSource(site, lambda: NOW), WebSettings(base), SECRET, state,
                             lambda: NOW)  # fmt: skip
        with Served(create_app(context), port), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(link.group(0))
            assert "deep dive" in page.content().lower()
            page.fill("textarea[name=note]", "Why did it fall in October?")
            page.click("button[type=submit]")
            page.wait_for_load_state()
            assert "is recorded" in page.content()
            browser.close()
        send(site, "summary", "2026-11-19", SUMMARY_DAY)
        summaries = [r for r in smtp.received if subject_of(r.data).startswith("Deep-dive requests")]
    assert len(summaries) == 2  # the performance team and the lead officer
    for summary in summaries:
        text = " ".join(body_of(summary.data).split())
        assert "Visits in time" in text and "Cllr A" in text
