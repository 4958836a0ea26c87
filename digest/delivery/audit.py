"""The audit: what each person was sent, when, its state and the figures it showed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from digest.delivery.store import DELIVERY, SENT_MESSAGE, Store, figures_parts, unpack


@dataclass(frozen=True)
class HistoryQuery:
    """Which deliveries to list; every part optional. `start` and `end` bound the time
    a message was sent (or queued, if never sent), `end` excluded."""

    recipient_id: str | None = None
    schedule_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def of_days(cls, zone: ZoneInfo, recipient_id: str | None = None,
                schedule_id: str | None = None, start: date | None = None,
                end: date | None = None) -> HistoryQuery:  # fmt: skip
        """From local dates, `end` included (`digest history --from --to`, the audit page)."""
        return cls(recipient_id, schedule_id, _midnight(start, zone, 0), _midnight(end, zone, 1))


def _midnight(day: date | None, zone: ZoneInfo, later: int) -> datetime | None:
    return None if day is None else datetime.combine(day + timedelta(days=later), time(), zone)


@dataclass(frozen=True)
class HistoryEntry:
    """One delivery as the audit shows it."""

    id: int
    delivery_key: str
    schedule_id: str
    occurrence_key: str
    recipient_id: str
    recipient_name: str
    email: str
    subject: str
    state: str
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None
    figures: str
    kept: bool  # whether the exact bytes are still kept (retention purges them)

    def as_json(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule_id, "occurrence": self.occurrence_key,
            "recipient": self.recipient_id, "name": self.recipient_name, "email": self.email,
            "subject": self.subject, "state": self.state,
            "queued_at": self.created_at.isoformat(),
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "error": self.last_error, "figures": json.loads(self.figures or "null"),
            "message_kept": self.kept,
        }  # fmt: skip


def _when() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(DELIVERY.c.sent_at, DELIVERY.c.created_at)


def history(store: Store, query: HistoryQuery, limit: int | None = None) -> list[HistoryEntry]:
    """Deliveries matching the query, newest first."""
    kept = sa.func.length(SENT_MESSAGE.c.raw) > 0
    select = (
        sa.select(
            DELIVERY, SENT_MESSAGE.c.figures, SENT_MESSAGE.c.figures_part, kept.label("kept")
        )
        .join(SENT_MESSAGE, SENT_MESSAGE.c.delivery_id == DELIVERY.c.id, isouter=True)
        .order_by(_when().desc(), DELIVERY.c.id.desc())
    )
    conditions = [
        DELIVERY.c.recipient_id == query.recipient_id if query.recipient_id else None,
        DELIVERY.c.schedule_id == query.schedule_id if query.schedule_id else None,
        _when() >= query.start if query.start else None,
        _when() < query.end if query.end else None,
    ]
    for condition in conditions:
        if condition is not None:
            select = select.where(condition)
    if limit is not None:
        select = select.limit(limit)
    with store.transaction() as connection:
        rows = connection.execute(select).mappings().all()
        shared = figures_parts(connection, [r["figures_part"] for r in rows if r["figures_part"]])
    return [_entry({**row, "figures": shared.get(row["figures_part"], row["figures"])})
            for row in rows]  # fmt: skip


def _entry(row: Any) -> HistoryEntry:
    return HistoryEntry(
        id=row["id"], delivery_key=row["delivery_key"], schedule_id=row["schedule_id"],
        occurrence_key=row["occurrence_key"], recipient_id=row["recipient_id"],
        recipient_name=row["recipient_name"], email=row["email"], subject=row["subject"],
        state=row["state"], created_at=row["created_at"], sent_at=row["sent_at"],
        last_error=row["last_error"], figures=row["figures"] or "", kept=bool(row["kept"]),
    )  # fmt: skip


def raw_message(store: Store, delivery_id: int) -> bytes | None:
    """The exact bytes of one delivery, or None once purged."""
    query = sa.select(SENT_MESSAGE).where(SENT_MESSAGE.c.delivery_id == delivery_id)
    with store.transaction() as connection:
        row = connection.execute(query).first()
        raw = unpack(connection, [row])[0][0] if row is not None else b""
    return raw or None
