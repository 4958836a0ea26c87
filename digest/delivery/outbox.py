"""The outbox: enqueue messages once, claim them safely, record what happened.

Claiming is one conditional UPDATE per batch: it moves rows to `sending` only
while they are still claimable, and returns the rows it moved, so a row another
worker took first is simply not returned. On PostgreSQL the candidate rows are
picked with `FOR UPDATE SKIP LOCKED`, so concurrent workers take different rows
instead of queueing on the same ones; on SQLite every transaction is
`BEGIN IMMEDIATE` (see store.py), which serialises writers outright.

A row left in `sending` by a crashed process is sent again with the stored
bytes, so the resend carries the same Message-ID: at once when the claimant was
a process of this host, boot and PID namespace that no longer exists (a killed
`digest send`), once its heartbeat has been silent for HEARTBEAT_TTL (a dead or
stopped process elsewhere), else once the claim is older than the lease. The
times compared are the database's when digest runs for real (see worker.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from itertools import islice
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from digest.delivery.heartbeat import HEARTBEAT_TTL, silent_since
from digest.delivery.instances import dead_here
from digest.delivery.store import (
    DELIVERY,
    FAILED,
    MESSAGE_PART,
    PENDING,
    RETRYING,
    SENDING,
    SENT,
    SENT_MESSAGE,
    Store,
    UtcDateTime,
    pack,
    unpack,
    worker_id,
)
from digest.model import OutgoingMessage, Recipient

ENQUEUE_BATCH = 500
CLAIM_LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)

_D = DELIVERY.c


@dataclass(frozen=True)
class EnqueueResult:
    added: int
    already: int


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds in `sending`, with the bytes to send."""

    id: int
    delivery_key: str
    schedule_id: str
    occurrence_key: str
    recipient_id: str
    recipient_name: str
    email: str
    subject: str
    message_id: str
    attempts: int
    first_attempt_at: datetime | None
    claimed_at: datetime
    raw: bytes
    figures: str

    def message(self) -> OutgoingMessage:
        """The stored message, as the transports take it."""
        recipient = Recipient(self.recipient_id, self.recipient_name, self.email, roles=())
        return OutgoingMessage(
            delivery_key=self.delivery_key,
            schedule_id=self.schedule_id,
            occurrence_key=self.occurrence_key,
            recipient=recipient,
            subject=self.subject,
            message_id=self.message_id,
            raw=self.raw,
            figures=self.figures,
        )


@dataclass(frozen=True)
class Failure:
    """A delivery that has just become `failed`: the performance team must hear of it."""

    delivery_key: str
    recipient_id: str
    email: str
    error: str
    code: int | None
    gave_up: bool  # True: temporary errors for GIVE_UP_AFTER; False: refused outright


def _chunks(items: Iterable[OutgoingMessage], size: int) -> Iterator[list[OutgoingMessage]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _insert(store: Store) -> Any:
    return postgresql.insert if store.dialect == "postgresql" else sqlite.insert


def _delivery_row(message: OutgoingMessage, now: datetime) -> dict[str, Any]:
    return {
        "delivery_key": message.delivery_key,
        "schedule_id": message.schedule_id,
        "occurrence_key": message.occurrence_key,
        "recipient_id": message.recipient.id,
        "recipient_name": message.recipient.name,
        "email": message.recipient.email,
        "subject": message.subject,
        "message_id": message.message_id,
        "state": PENDING,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }


def enqueue(
    store: Store,
    messages: Iterable[OutgoingMessage],
    now: datetime,
    *,
    batch_size: int = ENQUEUE_BATCH,
) -> EnqueueResult:
    """Add the messages whose delivery key is new, all in one transaction; leave the rest."""
    # executemany with RETURNING: SQLAlchemy batches it into multi-row INSERTs
    # ("insertmanyvalues") from one compiled statement.
    statement = (
        _insert(store)(DELIVERY)
        .on_conflict_do_nothing(index_elements=["delivery_key"])
        .returning(_D.id, _D.delivery_key)
    )
    parts_statement = _insert(store)(MESSAGE_PART).on_conflict_do_nothing(index_elements=["key"])
    added = total = 0
    stored_parts: set[str] = set()  # each variant's shared bytes written once
    with store.transaction() as connection:
        for chunk in _chunks(messages, batch_size):
            total += len(chunk)
            rows = [_delivery_row(m, now) for m in chunk]
            ids = {key: id_ for id_, key in connection.execute(statement, rows)}
            bodies, parts = [], []
            for m in chunk:
                if m.delivery_key not in ids:
                    continue
                packed = pack(m)
                bodies.append({"delivery_id": ids.pop(m.delivery_key), **packed.row})
                for key, data in packed.parts.items():
                    if key not in stored_parts:
                        stored_parts.add(key)
                        parts.append({"key": key, "schedule_id": m.schedule_id,
                                      "occurrence_key": m.occurrence_key, "data": data})  # fmt: skip
            if parts:
                connection.execute(parts_statement, parts)
            if bodies:
                connection.execute(SENT_MESSAGE.insert(), bodies)
            added += len(bodies)
    return EnqueueResult(added=added, already=total - added)


Moment = datetime | sa.BindParameter[datetime]


def _claimable(now: Moment, expired: Moment, silent: Moment) -> sa.ColumnElement[bool]:
    """Due: pending, retrying whose time has come, or claimed at `expired` or before (or
    by a holder silent since `silent`)."""
    return sa.or_(
        _D.state == PENDING,
        sa.and_(_D.state == RETRYING, _D.next_attempt_at <= now),
        sa.and_(_D.state == SENDING, sa.or_(_D.claimed_at <= expired, silent_since(silent))),
    )


def anything_due(store: Store, now: datetime, lease: timedelta = CLAIM_LEASE) -> bool:
    """Whether a claim would find work: lets an idle daemon leave the mail server alone."""
    due = _claimable(now, now - lease, now - HEARTBEAT_TTL)
    with store.transaction() as connection:
        return connection.execute(sa.select(_D.id).where(due).limit(1)).first() is not None


_CLAIMED_COLUMNS = (
    _D.id, _D.delivery_key, _D.schedule_id, _D.occurrence_key, _D.recipient_id,
    _D.recipient_name, _D.email, _D.subject, _D.message_id, _D.attempts,
    _D.first_attempt_at, _D.claimed_at,
)  # fmt: skip
# A claim's values, bound at each call: its statements are built once per dialect.
_NOW = sa.bindparam("now", type_=UtcDateTime)
_EXPIRED = sa.bindparam("expired", type_=UtcDateTime)
_SILENT = sa.bindparam("silent", type_=UtcDateTime)
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
_BODIES = sa.select(SENT_MESSAGE).where(
    SENT_MESSAGE.c.delivery_id.in_(sa.bindparam("ids", expanding=True))
)


def _sqlite_candidates() -> sa.Select[tuple[int]]:
    """The oldest claimable ids, as the union of each kind's oldest.

    SQLite answers the one OR query by reading every claimable row and sorting them,
    so each claim of a large run cost as much as all that was still pending. Never-tried
    rows (`next_attempt_at` NULL) come in id order straight from ix_delivery_due."""
    kinds = (
        sa.and_(_D.state == PENDING, _D.next_attempt_at.is_(None)),
        sa.and_(_D.state == PENDING, _D.next_attempt_at.is_not(None)),  # given back
        sa.and_(_D.state == RETRYING, _D.next_attempt_at <= _NOW),
        sa.and_(_D.state == SENDING, sa.or_(_D.claimed_at <= _EXPIRED, silent_since(_SILENT))),
    )
    oldest = [
        sa.select(sa.select(_D.id).where(kind).order_by(_D.id).limit(_LIMIT).subquery())
        for kind in kinds
    ]
    found = sa.union_all(*oldest).subquery()
    return sa.select(found.c.id).order_by(found.c.id).limit(_LIMIT)


@cache
def _claim_statement(dialect: str) -> sa.Update:
    if dialect == "sqlite":
        # One statement under BEGIN IMMEDIATE: the candidates are still claimable, and
        # checking again would have SQLite read every claimable row once more.
        held: sa.ColumnElement[bool] = _D.id.in_(_sqlite_candidates())
    else:
        claimable = _claimable(_NOW, _EXPIRED, _SILENT)
        candidates = (
            sa.select(_D.id)
            .where(claimable)
            .order_by(_D.id)
            .limit(_LIMIT)
            .with_for_update(skip_locked=True)
        )
        held = sa.and_(_D.id.in_(candidates), claimable)
    return (
        DELIVERY.update()
        .where(held)
        .values(state=SENDING, claimed_at=_NOW, claimed_by=sa.bindparam("worker"),
                updated_at=_NOW)
        .returning(*_CLAIMED_COLUMNS)
    )  # fmt: skip


def claim(
    store: Store,
    now: datetime,
    limit: int,
    *,
    lease: timedelta = CLAIM_LEASE,
    worker: str | None = None,
) -> list[Claimed]:
    """Move up to `limit` due deliveries to `sending` for this worker, oldest first."""
    parameters = {"now": now, "expired": now - lease, "silent": now - HEARTBEAT_TTL,
                  "limit": limit, "worker": worker or worker_id()}  # fmt: skip
    with store.transaction() as connection:
        rows = connection.execute(_claim_statement(store.dialect), parameters).mappings().all()
        if not rows:
            return []
        found = list(connection.execute(_BODIES, {"ids": [row["id"] for row in rows]}))
        bodies = dict(zip((b.delivery_id for b in found), unpack(connection, found), strict=True))
    return [
        Claimed(**row, raw=bodies[row["id"]][0], figures=bodies[row["id"]][1])
        for row in sorted(rows, key=lambda row: row["id"])
    ]


# Built once: the per-message writes are the hot path of a large run. The SET
# columns come from the keys of each call's parameters.
_STILL_HELD = DELIVERY.update().where(
    _D.id == sa.bindparam("held_id"),
    _D.state == SENDING,
    _D.claimed_at == sa.bindparam("held_claimed_at"),
)


def _update_claimed(store: Store, claimed: Claimed, values: dict[str, Any]) -> bool:
    """Apply `values` if this worker still holds the claim; False if it lost it."""
    parameters = {**values, "held_id": claimed.id, "held_claimed_at": claimed.claimed_at}
    with store.transaction() as connection:
        return connection.execute(_STILL_HELD, parameters).rowcount == 1


def renew(store: Store, claimed: Sequence[Claimed], now: datetime) -> list[Claimed]:
    """Extend claims held for long, so no other worker takes them; drops those lost."""
    kept = []
    with store.transaction() as connection:
        for item in claimed:
            parameters = {
                "claimed_at": now,
                "updated_at": now,
                "held_id": item.id,
                "held_claimed_at": item.claimed_at,
            }
            if connection.execute(_STILL_HELD, parameters).rowcount == 1:
                kept.append(replace(item, claimed_at=now))
    return kept


# The sent mark whole, built once: only the time and the claim are bound per message.
_MARK_SENT = _STILL_HELD.values(
    state=SENT,
    attempts=_D.attempts + 1,
    first_attempt_at=sa.func.coalesce(_D.first_attempt_at, _NOW),
    sent_at=_NOW,
    updated_at=_NOW,
    next_attempt_at=None,
    last_error=None,
    last_code=None,
)


def record_sent(store: Store, claimed: Claimed, now: datetime) -> bool:
    """Mark a delivery sent; False if the claim had been lost to another worker."""
    parameters = {"now": now, "held_id": claimed.id, "held_claimed_at": claimed.claimed_at}
    with store.transaction() as connection:
        return connection.execute(_MARK_SENT, parameters).rowcount == 1


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` failures: 1 min doubling, at most 1 hour."""
    doublings = min(max(attempts - 1, 0), 16)  # bounded: the cap is reached long before
    return min(FIRST_RETRY * (1 << doublings), LONGEST_RETRY)


def record_failure(
    store: Store,
    claimed: Claimed,
    now: datetime,
    *,
    permanent: bool,
    error: str,
    code: int | None = None,
    retry_from: datetime | None = None,
) -> Failure | None:
    """Record a failed attempt: `retrying` with backoff, or `failed` (returned) when
    permanent or after GIVE_UP_AFTER of trying. The next attempt is dated from
    `retry_from` (the clock claims are judged by: the database's), else `now`."""
    attempts = claimed.attempts + 1
    first = claimed.first_attempt_at or now
    gave_up = not permanent and now - first >= GIVE_UP_AFTER
    failed = permanent or gave_up
    values = {
        "state": FAILED if failed else RETRYING,
        "attempts": attempts,
        "first_attempt_at": first,
        "next_attempt_at": None if failed else (retry_from or now) + backoff(attempts),
        "last_error": error,
        "last_code": code,
        "updated_at": now,
    }
    if not _update_claimed(store, claimed, values) or not failed:
        return None
    return Failure(claimed.delivery_key, claimed.recipient_id, claimed.email, error, code, gave_up)


def _unclaimed_state() -> sa.ColumnElement[str]:
    return sa.case((_D.attempts == 0, PENDING), else_=RETRYING)


def release(store: Store, claimed: Sequence[Claimed], now: datetime) -> int:
    """Give back claimed deliveries that were not tried (on stop): due again at once."""
    released = 0
    with store.transaction() as connection:
        for item in claimed:
            statement = (
                DELIVERY.update()
                .where(_D.id == item.id, _D.state == SENDING, _D.claimed_at == item.claimed_at)
                .values(state=_unclaimed_state(), next_attempt_at=now, updated_at=now)
            )
            released += connection.execute(statement).rowcount
    return released


def recover(store: Store, now: datetime, older_than: timedelta = CLAIM_LEASE) -> int:
    """Put deliveries left in `sending` (a crashed worker) back in line; returns how many."""
    statement = (
        DELIVERY.update()
        .where(_D.state == SENDING, _D.claimed_at <= now - older_than)
        .values(state=_unclaimed_state(), next_attempt_at=now, updated_at=now)
    )
    with store.transaction() as connection:
        return int(connection.execute(statement).rowcount)


def recover_abandoned(store: Store, now: datetime) -> int:
    """Put back at once what dead processes of this machine left in `sending`
    (a killed `digest send`), without waiting for the lease; returns how many."""
    holders_query = sa.select(_D.claimed_by).where(_D.state == SENDING).distinct()
    with store.transaction() as connection:
        dead = dead_here(h for h in connection.execute(holders_query).scalars() if h)
        if not dead:
            return 0
        statement = (
            DELIVERY.update()
            .where(_D.state == SENDING, _D.claimed_by.in_(dead))
            .values(state=_unclaimed_state(), next_attempt_at=now, updated_at=now)
        )
        return int(connection.execute(statement).rowcount)


def requeue_failed(
    store: Store, now: datetime, schedule_id: str | None = None, delivery_id: int | None = None
) -> int:
    """Give failed deliveries (of one schedule, or just one) a fresh start (`digest retry
    --failed`, the team's "Send again"); returns how many."""
    statement = (
        DELIVERY.update()
        .where(_D.state == FAILED)
        .values(
            state=PENDING, attempts=0, first_attempt_at=None, next_attempt_at=None, updated_at=now
        )
    )
    if schedule_id is not None:
        statement = statement.where(_D.schedule_id == schedule_id)
    if delivery_id is not None:
        statement = statement.where(_D.id == delivery_id)
    with store.transaction() as connection:
        return int(connection.execute(statement).rowcount)


def retry_now(store: Store, now: datetime) -> int:
    """Messages waiting to retry are due now (`digest retry`: a person asked to try
    now, not in an hour); returns how many."""
    statement = (
        DELIVERY.update()
        .where(_D.state == RETRYING, _D.next_attempt_at > now)
        .values(next_attempt_at=now, updated_at=now)
    )
    with store.transaction() as connection:
        return int(connection.execute(statement).rowcount)
