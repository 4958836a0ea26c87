"""What every page needs: the site as last loaded, the store, the key, the clock; and refusals."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.requests import Request

from digest.delivery import answers
from digest.delivery.site import load_site as load_for_sending
from digest.delivery.store import Store
from digest.email.links import Link, LinkError, Purpose, verify
from digest.errors import ConfigError
from digest.model import Clock, Recipient, Site
from digest.site.load import LoadedSite, load_site
from digest.site.watch import Fingerprint, fingerprint
from digest.site.web import WebSettings

RELOAD_EVERY_SECONDS = 2.0


class Refusal(Exception):
    """A request that cannot be done: a plain page with this status says why."""

    def __init__(self, status: int, title: str, reason: str) -> None:
        self.status = status
        self.title = title
        self.reason = reason
        super().__init__(reason)


def asked_date(text: str, what: str) -> date:
    """A date typed in a form, or a 400 page saying how to write it."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refusal(400, "Not a date", f'{what} "{text}" is not a date: write it YYYY-MM-DD, '
                      "such as 2026-11-30, and try again.") from None  # fmt: skip


@dataclass
class SiteSource:
    """The site's files, read again when they change; a broken edit keeps the last good site."""

    root: Path
    clock: Clock
    site: Site | None = None
    seen: Fingerprint = ()
    looked_at: float = field(default=-1e9)

    def current(self) -> Site:
        now = time.monotonic()
        if self.site is None or now - self.looked_at >= RELOAD_EVERY_SECONDS:
            self.looked_at = now
            found = fingerprint(self.root)
            if self.site is None or found != self.seen:
                self._load(found)
        assert self.site is not None
        return self.site

    def _load(self, found: Fingerprint) -> None:
        try:
            self.site = load_site(self.root, self._today(), with_observations=False).site
            self.seen = found
        except ConfigError:
            if self.site is None:
                raise

    def _today(self) -> date:
        return self.clock().date()  # only observations depend on it, and none are read


@dataclass
class WebContext:
    """The application's state, shared by every page."""

    source: SiteSource
    web: WebSettings
    secret: str
    store: Store
    clock: Clock

    @property
    def site(self) -> Site:
        return self.source.current()

    def today(self) -> date:
        return self.local(self.clock()).date()

    def loaded(self, *, with_observations: bool = True) -> LoadedSite:
        """The site read afresh for sending or showing figures (its data and signed links)."""
        try:
            return load_for_sending(self.source.root, self.today(), secret=self.secret,
                                    with_observations=with_observations)  # fmt: skip
        except ConfigError:
            raise Refusal(503, "The site's files have problems",
                          "Run 'digest check', mend what it lists, then open this page again.") from None  # fmt: skip

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(ZoneInfo(self.site.settings.timezone))

    def link(self, purpose: Purpose, token: str) -> tuple[Link, Recipient]:
        """The link a token stands for, sent to a member who still receives digests."""
        try:
            link = verify(self.secret, purpose, token, self.clock())
        except LinkError as exc:
            if exc.expired:
                raise Refusal(410, "This link has expired", exc.reason) from None
            raise Refusal(400, "This link does not work", exc.reason) from None
        recipient = self.site.recipient(link.recipient_id)
        if recipient is None or not recipient.active:
            raise Refusal(
                403,
                "This link no longer works",
                "You no longer receive these emails. If that is a mistake, please contact "
                "the performance team.",
            )
        if not answers.was_delivered(
            self.store, link.schedule_id, link.occurrence_key, link.recipient_id
        ):
            raise Refusal(404, "Not found", "No email with this link was sent.")
        return link, recipient


def context(request: Request) -> WebContext:
    """The application's context, from a request."""
    found: WebContext = request.app.state.context
    return found
