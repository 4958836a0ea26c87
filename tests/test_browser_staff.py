"""The team signs in through the emailed link a real SMTP server received, approves the held
tracker in a real browser (Playwright, Debian's Chromium), and the members' messages arrive;
a preview shows in its frame."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from digest.cli import main as cli_main
from digest.delivery.store import Store, open_store
from digest.site.web import WebSettings
from digest.web.app import create_app
from digest.web.context import SiteSource, WebContext
from tests.sites import send_by_smtp
from tests.smtp_server import SmtpServer, free_port
from tests.test_browser_deep_dive import CHROMIUM, Served, body_of
from tests.web_site import NOW, SECRET, web_site

MEMBERS = {"chair@example.gov.uk", "lead@example.gov.uk", "a@example.gov.uk"}
SHOTS = (
    Path(os.environ.get("DIGEST_SCREENSHOTS", "")) if os.environ.get("DIGEST_SCREENSHOTS") else None
)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def site(tmp_path: Path, port: int, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIGEST_DATABASE_URL", database_url)
    monkeypatch.setenv("DIGEST_SECRET_KEY", SECRET)
    root = web_site(tmp_path / "site")
    schedules = root / "schedules.toml"
    text = schedules.read_text().replace(
        "https://digest.example.gov.uk", f"http://127.0.0.1:{port}"
    )
    schedules.write_text(text.replace(
        'offset = "0 days"\nat = "09:00"',
        'offset = "0 days"\nat = "09:00"\nsign_off = ["role:performance"]',
    ))  # fmt: skip
    return root


@pytest.fixture
def state(site: Path, database_url: str) -> Iterator[Store]:
    opened = open_store(site, database_url)
    yield opened
    opened.close()


def cli(site: Path, *args: str) -> int:
    return cli_main(["--site", str(site), *args], clock=lambda: NOW)


def in_thread(call: Callable[[], int]) -> int:
    """Playwright's sync API holds this thread's event loop; the CLI runs its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def shoot(page: Page, name: str) -> None:
    if SHOTS is None:
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1200):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)


def test_staff_sign_in_by_email_and_approve_the_held_tracker(
    site: Path, state: Store, port: int
) -> None:
    base = f"http://127.0.0.1:{port}"
    with SmtpServer() as smtp:
        send_by_smtp(site, smtp.port)
        assert cli(site, "send", "tracker", "--on", "2026-11-12") == 0  # held
        assert not MEMBERS & {r for m in smtp.received for r in m.rcpt_tos}
        web = WebSettings(base, ("role:performance",))
        context = WebContext(SiteSource(site, lambda: NOW), web, SECRET, state, lambda: NOW)
        with Served(create_app(context), port), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"{base}/staff/sign-in")
            shoot(page, "staff-sign-in")
            page.fill("input[name=email]", "perf@example.gov.uk")
            page.click("button[type=submit]")
            page.wait_for_load_state()
            assert "Check your email" in page.content()
            shoot(page, "staff-sign-in-sent")
            assert in_thread(lambda: cli(site, "retry")) == 0  # as digest run would: it goes
            email = next(m for m in smtp.received if b"Sign in to" in m.data)
            link = re.search(rf"{re.escape(base)}/staff/link/\S+", body_of(email.data))
            assert link is not None
            page.goto(link.group(0))
            shoot(page, "staff-link")
            page.click("button[type=submit]")
            page.wait_for_load_state()
            assert "Held, awaiting sign-off" in page.content() and "tracker" in page.content()
            shoot(page, "staff-home")
            page.click("button[value=approve]")
            page.wait_for_load_state()
            assert "Nothing is held." in page.content()
            page.goto(f"{base}/staff/history?recipient=member-a")
            assert "social-care:2026-10-31" in page.content()
            shoot(page, "staff-history")
            page.goto(f"{base}/staff/preview?schedule=tracker&on=2026-11-12&recipient=member-a")
            email = page.frame_locator("iframe.preview").locator("body")
            assert "Dear Cllr A" in email.inner_text()  # framed, styled, nothing run
            shoot(page, "staff-preview")
            browser.close()
        arrived = {r for m in smtp.received for r in m.rcpt_tos}
    assert arrived >= MEMBERS
