"""`[retention]` applied: the exact bytes after `messages`, then the records after `records`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from digest.delivery.signoff import SIGN_OFF
from digest.delivery.store import DELIVERY, MESSAGE_PART, RUN, SENT_MESSAGE, Store
from digest.site.retention import Retention

log = logging.getLogger("digest")
PURGE_SCHEDULE = "retention"


@dataclass(frozen=True)
class Purged:
    """How many messages lost their bytes, and how many records went."""

    messages: int = 0
    records: int = 0


def _when() -> sa.ColumnElement[datetime]:
    return sa.func.coalesce(DELIVERY.c.sent_at, DELIVERY.c.created_at)


def purge(store: Store, retention: Retention, now: datetime) -> Purged:
    """Delete what is past its time; logged, and kept as a run for `status`."""
    old_bytes = sa.select(DELIVERY.c.id).where(_when() < retention.messages.before(now))
    old_records = sa.select(DELIVERY.c.id).where(_when() < retention.records.before(now))
    with store.transaction() as connection:
        emptied = connection.execute(
            SENT_MESSAGE.update()
            .where(
                SENT_MESSAGE.c.delivery_id.in_(old_bytes), sa.func.length(SENT_MESSAGE.c.raw) > 0
            )
            .values(raw=b"", recipe=None)
        ).rowcount
        connection.execute(SENT_MESSAGE.delete().where(SENT_MESSAGE.c.delivery_id.in_(old_records)))
        records = connection.execute(
            DELIVERY.delete().where(DELIVERY.c.id.in_(old_records))
        ).rowcount
        connection.execute(_unused_parts())
        cutoff = retention.records.before(now)
        connection.execute(
            RUN.delete().where(RUN.c.started_at < cutoff, RUN.c.schedule_id != PURGE_SCHEDULE)
        )
        connection.execute(SIGN_OFF.delete().where(SIGN_OFF.c.at < cutoff))
        connection.execute(RUN.insert().values(
            schedule_id=PURGE_SCHEDULE, occurrence_key=now.date().isoformat(), started_at=now,
            finished_at=now, outcome="purged", added=0, already=0, sent=int(emptied or 0),
            failed=int(records or 0),
            detail=f"{int(emptied or 0)} message(s) emptied, {int(records or 0)} record(s) deleted",
        ))  # fmt: skip
    purged = Purged(int(emptied or 0), int(records or 0))
    log.info(
        "retention: %d message(s) emptied, %d record(s) deleted", purged.messages, purged.records
    )
    return purged


def _unused_parts() -> sa.Delete:
    """Shared bytes no kept message of their occurrence needs, and figures no record shows."""
    part = MESSAGE_PART.c
    kept_bytes = (
        sa.select(1)
        .select_from(DELIVERY.join(SENT_MESSAGE, SENT_MESSAGE.c.delivery_id == DELIVERY.c.id))
        .where(
            DELIVERY.c.schedule_id == part.schedule_id,
            DELIVERY.c.occurrence_key == part.occurrence_key,
            SENT_MESSAGE.c.recipe.is_not(None),
        )
    )
    shown = sa.select(SENT_MESSAGE.c.figures_part).where(SENT_MESSAGE.c.figures_part.is_not(None))
    return MESSAGE_PART.delete().where(~kept_bytes.exists(), part.key.not_in(shown))


def purged_today(store: Store, now: datetime) -> bool:
    """Whether retention already ran on `now`'s date (the daemon's once a day)."""
    query = sa.select(RUN.c.id).where(
        RUN.c.schedule_id == PURGE_SCHEDULE, RUN.c.occurrence_key == now.date().isoformat()
    )
    with store.transaction() as connection:
        return connection.execute(query.limit(1)).first() is not None


def purged_totals(store: Store) -> Purged:
    """Everything retention has purged, for `status`."""
    query = sa.select(sa.func.coalesce(sa.func.sum(RUN.c.sent), 0),
                      sa.func.coalesce(sa.func.sum(RUN.c.failed), 0)).where(
        RUN.c.schedule_id == PURGE_SCHEDULE)  # fmt: skip
    with store.transaction() as connection:
        messages, records = connection.execute(query).one()
    return Purged(int(messages), int(records))
