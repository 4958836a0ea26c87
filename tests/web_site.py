"""A test site with [web], its store, and the app on a fixed clock, for the web tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from starlette.testclient import TestClient

from digest.delivery import outbox
from digest.delivery.store import Store
from digest.email.links import Link, Purpose, member_links, sign
from digest.model import OutgoingMessage, Recipient, delivery_key
from digest.site.web import WebSettings
from digest.web.app import create_app
from digest.web.context import SiteSource, WebContext
from tests.sites import write_site

SECRET = "test-secret-key-that-is-long-enough-0123456789"
NOW = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)  # inside the October window
CLOSES = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # end of Thursday 19 November (GMT)
WEB = WebSettings("https://digest.example.gov.uk", ("role:performance",))
INVITE = ("invite", "social-care:2026-10-31")
WEB_TABLE = '\n[web]\nbase_url = "https://digest.example.gov.uk"\nstaff = ["role:performance"]\n'
PNG = b"\x89PNG\r\n\x1a\nfake"


def web_site(root: Path) -> Path:
    """The test site with a [web] table, its daily data up to the day before NOW."""
    site = write_site(root, last_day=date(2026, 11, 15))
    schedules = site / "schedules.toml"
    text = schedules.read_text()
    schedules.write_text(text.replace("\n[[schedule]]", WEB_TABLE + "\n[[schedule]]", 1))
    return site


def sent_message(recipient_id: str, schedule_id: str, occurrence_key: str) -> OutgoingMessage:
    """A stored multipart message with an HTML part and one inline chart."""
    recipient = Recipient(recipient_id, f"Cllr {recipient_id}", f"{recipient_id}@example.gov.uk", ())
    key = delivery_key(schedule_id, occurrence_key, recipient_id)
    mail = EmailMessage(policy=SMTP)
    mail["Subject"] = "Deep dives: October 2026"
    mail["To"] = recipient.email
    mail.set_content("Ask for a deep dive.\n")
    mail.add_alternative(
        '<p class="x">Ask for a <b>deep dive</b>.</p><img src="cid:chart@example" alt="chart">',
        subtype="html",
    )
    html_part = list(mail.iter_parts())[1]
    html_part.add_related(PNG, maintype="image", subtype="png", cid="<chart@example>")
    return OutgoingMessage(key, schedule_id, occurrence_key, recipient, "Deep dives: October 2026",
                           f"<{recipient_id}@example>", mail.as_bytes(), "{}")  # fmt: skip


@dataclass
class WebApp:
    """The app, its store and its clock (moved by setting `now`)."""

    site: Path
    store: Store
    now: datetime = NOW
    client: TestClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.start()

    def start(self) -> TestClient:
        """A fresh app: it reads the site's files as they are now."""
        context = WebContext(SiteSource(self.site, self.clock), WEB, SECRET, self.store, self.clock)
        self.client = TestClient(create_app(context), base_url="https://digest.example.gov.uk")
        return self.client

    def clock(self) -> datetime:
        return self.now

    def send(self, recipient_id: str, schedule_id: str = INVITE[0], key: str = INVITE[1]) -> None:
        outbox.enqueue(self.store, [sent_message(recipient_id, schedule_id, key)], self.now)

    def token(self, purpose: Purpose, recipient_id: str = "member-a", *,
              measure: str | None = "visits", schedule: tuple[str, str] = INVITE,
              expires: datetime = CLOSES) -> str:  # fmt: skip
        link = Link(purpose, recipient_id, schedule[0], schedule[1], expires, measure)
        return sign(SECRET, link)

    def path(self, purpose: Purpose, **options: object) -> str:
        route = {"deep-dive": "deep-dive", "feedback": "useful", "themes": "themes", "view": "view"}
        return f"/{route[purpose]}/{self.token(purpose, **options)}"  # type: ignore[arg-type]

    def links(self, recipient_id: str = "member-a") -> object:
        later = self.now + timedelta(days=60)
        return member_links(WEB, SECRET, recipient_id, *INVITE, ["visits"], later, CLOSES)


def form_token_of(page: str) -> str:
    """The form token in a page's form."""
    marker = 'name="form_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]
