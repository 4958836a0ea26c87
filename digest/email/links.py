"""Signed links for members' answers: one purpose, one recipient, one occurrence, an expiry.

The email layer signs them when it renders a message; `digest.web` verifies them.
Tokens are opaque (itsdangerous, salted per purpose), so a token made for one
purpose is refused for any other, and any change to one breaks its signature.
The expiry is inside the signed payload and is checked against the `now` passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from itsdangerous import BadSignature, URLSafeSerializer

from digest import calendar
from digest.errors import DigestError
from digest.model import Occurrence, Publication, SiteSettings
from digest.site.web import WebSettings

Purpose = Literal["deep-dive", "feedback", "themes", "view"]
PURPOSES: tuple[str, ...] = get_args(Purpose)
ROUTES: dict[str, str] = {
    "deep-dive": "deep-dive",
    "feedback": "useful",
    "themes": "themes",
    "view": "view",
}
MIN_SECRET_LENGTH = 32


class LinkError(DigestError):
    """A link that cannot be used; `reason` is what the member is told."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        self.reason = reason
        self.expired = expired
        super().__init__(reason)


@dataclass(frozen=True)
class Link:
    """What a signed link is for: who, which occurrence, until when (and which measure)."""

    purpose: Purpose
    recipient_id: str
    schedule_id: str
    occurrence_key: str
    expires: datetime
    measure: str | None = None


def secret_problem(secret: str | None) -> str | None:
    """Why a DIGEST_SECRET_KEY value cannot sign links, or None."""
    if not secret:
        return "DIGEST_SECRET_KEY is not set: set it to a long random value (python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"DIGEST_SECRET_KEY is too short ({len(secret)} characters): use at least {MIN_SECRET_LENGTH} random characters"
    return None


def _serializer(secret: str, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=f"digest.link.{purpose}")


def sign(secret: str, link: Link) -> str:
    """The opaque token of a link."""
    payload: dict[str, Any] = {
        "r": link.recipient_id,
        "s": link.schedule_id,
        "o": link.occurrence_key,
        "e": int(link.expires.timestamp()),
    }
    if link.measure is not None:
        payload["m"] = link.measure
    return str(_serializer(secret, link.purpose).dumps(payload))


def verify(secret: str, purpose: Purpose, token: str, now: datetime) -> Link:
    """The link a token stands for, or LinkError: tampered, for another purpose, or expired."""
    try:
        payload = _serializer(secret, purpose).loads(token)
    except BadSignature:
        raise LinkError("This link is not valid: it may be incomplete or changed.") from None
    link = _link(purpose, payload)
    if now >= link.expires:
        raise LinkError("This link has expired.", expired=True)
    return link


def _link(purpose: Purpose, payload: Any) -> Link:
    try:
        return Link(
            purpose=purpose,
            recipient_id=str(payload["r"]),
            schedule_id=str(payload["s"]),
            occurrence_key=str(payload["o"]),
            expires=datetime.fromtimestamp(int(payload["e"]), UTC),
            measure=str(payload["m"]) if "m" in payload else None,
        )
    except (KeyError, TypeError, ValueError):
        raise LinkError("This link is not valid: it may be incomplete or changed.") from None


@dataclass(frozen=True)
class MemberLinks:
    """Every signed address one message carries."""

    view: str
    useful_yes: str
    useful_no: str
    themes: str
    deep_dives: dict[str, str] = field(default_factory=dict)  # measure id -> address


def link_url(settings: WebSettings, secret: str, link: Link) -> str:
    """The absolute address of one signed link."""
    return settings.url(f"{ROUTES[link.purpose]}/{sign(secret, link)}")


def member_links(
    settings: WebSettings,
    secret: str,
    recipient_id: str,
    schedule_id: str,
    occurrence_key: str,
    measures: Iterable[str],
    expires: datetime,
    deep_dive_expires: datetime | None = None,
) -> MemberLinks:
    """The links of one recipient's message; deep-dive links close at `deep_dive_expires`."""

    def url(purpose: Purpose, until: datetime, measure: str | None = None) -> str:
        link = Link(purpose, recipient_id, schedule_id, occurrence_key, until, measure)
        return link_url(settings, secret, link)

    useful = url("feedback", expires)
    closes = deep_dive_expires or expires
    return MemberLinks(
        view=url("view", expires),
        useful_yes=f"{useful}?answer=yes",
        useful_no=f"{useful}?answer=no",
        themes=url("themes", expires),
        deep_dives={m: url("deep-dive", closes, m) for m in measures},
    )


def deep_dive_closes_at(publication: Publication, settings: SiteSettings) -> datetime:
    """When deep-dive requests for a publication close (the calendar's one rule), in UTC."""
    return calendar.deep_dive_closes_at(publication, settings).astimezone(UTC)


# How long a message's own links (view, feedback, themes) work: as long as its bytes are kept.
MESSAGE_LINKS_LAST = timedelta(days=730)


@dataclass(frozen=True)
class EmailLinkSigner:
    """Signs each recipient's answer links as a message is personalised (a LinkSigner)."""

    web: WebSettings
    secret: str
    settings: SiteSettings

    def links_for(
        self, recipient_id: str, occurrence: Occurrence, deep_dive_measures: Sequence[str]
    ) -> Mapping[str, str]:
        publication = occurrence.publication
        closes = deep_dive_closes_at(publication, self.settings) if publication else None
        links = member_links(
            self.web, self.secret, recipient_id, occurrence.schedule.id, occurrence.key,
            deep_dive_measures, occurrence.due.astimezone(UTC) + MESSAGE_LINKS_LAST, closes,
        )  # fmt: skip
        named = {"view": links.view, "useful_yes": links.useful_yes,
                 "useful_no": links.useful_no, "themes": links.themes}  # fmt: skip
        named.update({f"deep-dive:{m}": url for m, url in links.deep_dives.items()})
        return named
