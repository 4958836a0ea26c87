"""What members send back: deep-dive requests, "was this useful?", the themes they follow.

Asking twice is one request; a second "useful" answer replaces the first; a theme
choice replaces the last one. A form is used once: its nonce is kept in `form_use`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from digest.delivery.store import DELIVERY, Store, UtcDateTime
from digest.model import DeepDiveRequest
from digest.site.load import LoadedSite

NOTE_MAX = 500


def _timestamp() -> Any:
    return Field(default=None, sa_type=UtcDateTime, nullable=False)


class DeepDiveAsk(SQLModel, table=True):
    """A member's deep-dive request, through an email link or `digest request`."""

    __tablename__ = "deep_dive_request"
    __table_args__ = (sa.UniqueConstraint("scorecard", "period_end", "measure", "recipient_id"),)

    id: int | None = Field(default=None, primary_key=True)
    scorecard: str = Field(max_length=100)
    period_end: date
    measure: str = Field(max_length=100)
    recipient_id: str = Field(max_length=100)
    note: str = Field(default="", max_length=NOTE_MAX)
    channel: str = Field(max_length=20)  # "web" or "cli"
    requested_at: datetime = _timestamp()


class Feedback(SQLModel, table=True):
    """A member's "was this useful?" answer to one message."""

    __tablename__ = "feedback"
    __table_args__ = (sa.UniqueConstraint("schedule_id", "occurrence_key", "recipient_id"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: str = Field(max_length=100)
    occurrence_key: str = Field(max_length=100)
    recipient_id: str = Field(max_length=100)
    useful: bool
    comment: str = Field(default="", max_length=NOTE_MAX)
    answered_at: datetime = _timestamp()


class ThemeChoice(SQLModel, table=True):
    """The themes a member chose to follow; it overrides recipients.toml for the tracker."""

    __tablename__ = "theme_choice"

    recipient_id: str = Field(max_length=100, primary_key=True)
    themes: str = Field(sa_type=sa.Text)  # ";"-separated, as in measures.csv
    chosen_at: datetime = _timestamp()


class FormUse(SQLModel, table=True):
    """A form that was sent: a second POST of the same form is a replay."""

    __tablename__ = "form_use"

    nonce: str = Field(max_length=64, primary_key=True)
    used_at: datetime = _timestamp()


REQUEST: sa.Table = DeepDiveAsk.__table__  # type: ignore[attr-defined]
FEEDBACK: sa.Table = Feedback.__table__  # type: ignore[attr-defined]
THEME_CHOICE: sa.Table = ThemeChoice.__table__  # type: ignore[attr-defined]
FORM_USE: sa.Table = FormUse.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StoredRequest:
    scorecard: str
    period_end: date
    measure: str
    recipient_id: str
    note: str
    channel: str
    requested_at: datetime


@dataclass(frozen=True)
class StoredFeedback:
    schedule_id: str
    occurrence_key: str
    recipient_id: str
    useful: bool
    comment: str
    answered_at: datetime


@dataclass(frozen=True)
class StoredThemes:
    recipient_id: str
    themes: tuple[str, ...]
    chosen_at: datetime


def use_form(store: Store, nonce: str, now: datetime) -> bool:
    """Mark a form as sent; False when it was sent before (a replay)."""
    statement = (
        _insert(store)(FORM_USE)
        .values(nonce=nonce, used_at=now)
        .on_conflict_do_nothing()
        .returning(FORM_USE.c.nonce)
    )
    with store.transaction() as connection:  # RETURNING: rowcount is not reliable here
        return connection.execute(statement).first() is not None


def _insert(store: Store) -> Any:
    # INSERT ... ON CONFLICT DO NOTHING: two processes racing on one key both succeed.
    return postgresql.insert if store.dialect == "postgresql" else sqlite.insert


def was_delivered(store: Store, schedule_id: str, occurrence_key: str, recipient_id: str) -> bool:
    """Whether a message of this occurrence went (or is going) to this recipient."""
    query = sa.select(DELIVERY.c.id).where(
        DELIVERY.c.schedule_id == schedule_id,
        DELIVERY.c.occurrence_key == occurrence_key,
        DELIVERY.c.recipient_id == recipient_id,
    )
    with store.transaction() as connection:
        return connection.execute(query.limit(1)).first() is not None


def record_request(store: Store, request: StoredRequest) -> tuple[StoredRequest, bool]:
    """Keep a request unless the same one is there; (the kept one, whether it was new)."""
    key = _request_key(request)
    values = {name: getattr(request, name) for name in StoredRequest.__dataclass_fields__}
    statement = (
        _insert(store)(REQUEST).values(values).on_conflict_do_nothing().returning(REQUEST.c.id)
    )
    with store.transaction() as connection:
        if connection.execute(statement).first() is not None:
            return request, True
        row = connection.execute(sa.select(REQUEST).where(*key)).mappings().one()
    return _stored_request(row), False


def _request_key(request: StoredRequest) -> list[sa.ColumnElement[bool]]:
    return [
        REQUEST.c.scorecard == request.scorecard,
        REQUEST.c.period_end == request.period_end,
        REQUEST.c.measure == request.measure,
        REQUEST.c.recipient_id == request.recipient_id,
    ]


def _stored_request(row: Any) -> StoredRequest:
    return StoredRequest(**{name: row[name] for name in StoredRequest.__dataclass_fields__})


def find_request(
    store: Store, scorecard: str, period_end: date, measure: str, recipient_id: str
) -> StoredRequest | None:
    """The stored request of one member for one measure of one publication, if any."""
    query = sa.select(REQUEST).where(
        REQUEST.c.scorecard == scorecard,
        REQUEST.c.period_end == period_end,
        REQUEST.c.measure == measure,
        REQUEST.c.recipient_id == recipient_id,
    )
    with store.transaction() as connection:
        row = connection.execute(query).mappings().first()
    return _stored_request(row) if row is not None else None


def requests(store: Store, since: datetime | None = None) -> list[StoredRequest]:
    """Every stored request (made since `since`), oldest first."""
    query = sa.select(REQUEST).order_by(REQUEST.c.requested_at, REQUEST.c.id)
    if since is not None:
        query = query.where(REQUEST.c.requested_at >= since)
    with store.transaction() as connection:
        return [_stored_request(row) for row in connection.execute(query).mappings()]


def as_site_requests(stored: list[StoredRequest], tz: Any) -> list[DeepDiveRequest]:
    """Stored requests as the CSV's rows, dated in the site's timezone."""
    return [
        DeepDiveRequest(
            r.scorecard,
            r.period_end,
            r.measure,
            r.recipient_id,
            r.requested_at.astimezone(tz).date(),
        )
        for r in stored
    ]


def record_feedback(store: Store, answer: StoredFeedback) -> bool:
    """Keep an answer, replacing an earlier one to the same message; True when it is new."""
    key = (
        FEEDBACK.c.schedule_id == answer.schedule_id,
        FEEDBACK.c.occurrence_key == answer.occurrence_key,
        FEEDBACK.c.recipient_id == answer.recipient_id,
    )
    values = {name: getattr(answer, name) for name in StoredFeedback.__dataclass_fields__}
    with store.transaction() as connection:
        changed = connection.execute(FEEDBACK.update().where(*key).values(values)).rowcount
        if not changed:
            connection.execute(FEEDBACK.insert().values(values))
    return not changed


def feedback(store: Store, since: datetime | None = None) -> list[StoredFeedback]:
    """Every answer (given since `since`), oldest first."""
    query = sa.select(FEEDBACK).order_by(FEEDBACK.c.answered_at, FEEDBACK.c.id)
    if since is not None:
        query = query.where(FEEDBACK.c.answered_at >= since)
    with store.transaction() as connection:
        rows = connection.execute(query).mappings().all()
    return [StoredFeedback(**{n: r[n] for n in StoredFeedback.__dataclass_fields__}) for r in rows]


def choose_themes(store: Store, recipient_id: str, themes: tuple[str, ...], now: datetime) -> None:
    """Keep a member's choice of themes, replacing the last one."""
    values = {"themes": ";".join(themes), "chosen_at": now}
    with store.transaction() as connection:
        key = THEME_CHOICE.c.recipient_id == recipient_id
        if not connection.execute(THEME_CHOICE.update().where(key).values(values)).rowcount:
            connection.execute(THEME_CHOICE.insert().values(recipient_id=recipient_id, **values))


def theme_choice(store: Store, recipient_id: str) -> StoredThemes | None:
    """A member's latest choice of themes, if they made one."""
    return next((c for c in theme_choices(store) if c.recipient_id == recipient_id), None)


def theme_choices(store: Store, since: datetime | None = None) -> list[StoredThemes]:
    """Every member's latest choice (made since `since`), oldest first."""
    query = sa.select(THEME_CHOICE).order_by(THEME_CHOICE.c.chosen_at)
    if since is not None:
        query = query.where(THEME_CHOICE.c.chosen_at >= since)
    with store.transaction() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        StoredThemes(
            r["recipient_id"], tuple(t for t in r["themes"].split(";") if t), r["chosen_at"]
        )
        for r in rows
    ]


def with_answers(loaded: LoadedSite, store: Store) -> LoadedSite:
    """The site with the store's deep-dive requests beside the CSV's (once each), and the
    themes members chose in place of those in recipients.toml."""
    site = loaded.site
    tz = ZoneInfo(site.settings.timezone)
    seen = {_csv_key(r) for r in site.requests}
    extra = [r for r in as_site_requests(requests(store), tz) if _csv_key(r) not in seen]
    chosen = {c.recipient_id: c.themes for c in theme_choices(store)}
    if not extra and not chosen:
        return loaded
    recipients = tuple(
        replace(r, themes=chosen[r.id]) if r.id in chosen else r for r in site.recipients
    )
    merged = replace(site, requests=(*site.requests, *extra), recipients=recipients)
    return replace(loaded, site=merged)


def _csv_key(request: DeepDiveRequest) -> tuple[str, date, str, str]:
    return (request.scorecard, request.period_end, request.measure, request.requested_by)
