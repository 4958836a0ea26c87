"""Heartbeats: each process records, by the database's clock, that it is alive.

A claim whose holder's heartbeat has gone quiet for HEARTBEAT_TTL is taken back
without waiting for the ten-minute claim lease: its process is dead or stopped.
A holder with no heartbeat row at all (an older digest, a test's claim) is judged
by the claim lease alone.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from digest.delivery.instances import dead_here
from digest.delivery.store import DELIVERY, RUN, Delivery, Store, UtcDateTime, database_now

HEARTBEAT_TTL = timedelta(seconds=float(os.environ.get("DIGEST_HEARTBEAT_SECONDS", "") or 60))
BEAT_EVERY = HEARTBEAT_TTL / 6  # several beats per TTL: one late beat is no death

HEARTBEAT_TABLE = sa.Table(
    "heartbeat",
    Delivery.metadata,
    sa.Column("holder", sa.String(300), primary_key=True),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("alive_at", UtcDateTime(), nullable=False),
)
_H = HEARTBEAT_TABLE.c


def beat(store: Store, holder: str) -> datetime:
    """Record that `holder` is alive now (the database's now); returns that time."""
    insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert
    with store.transaction() as connection:
        now = database_now(connection)
        statement = insert(HEARTBEAT_TABLE).values(holder=holder, started_at=now, alive_at=now)
        connection.execute(
            statement.on_conflict_do_update(index_elements=["holder"], set_={"alive_at": now})
        )
    return now


def silent_holder(now: datetime) -> sa.ColumnElement[bool]:
    """True for a delivery whose claimant's heartbeat stopped before now - HEARTBEAT_TTL."""
    return silent_since(now - HEARTBEAT_TTL)


def silent_since(cutoff: datetime | sa.BindParameter[datetime]) -> sa.ColumnElement[bool]:
    """True for a delivery whose claimant's heartbeat stopped at `cutoff` or before."""
    return sa.exists().where(_H.holder == DELIVERY.c.claimed_by, _H.alive_at <= cutoff)


class Pulse:
    """Beats at most every BEAT_EVERY (by the monotonic clock), between messages."""

    def __init__(self, store: Store, holder: str) -> None:
        self.store, self.holder, self.last = store, holder, float("-inf")

    def __call__(self) -> None:
        if time.monotonic() - self.last >= BEAT_EVERY.total_seconds():
            beat(self.store, self.holder)
            self.last = time.monotonic()


INTERRUPTED = "interrupted"
_INTERRUPTED_DETAIL = "its process stopped before it finished; the next run of it resumes it"


def dead_holders(store: Store, holders: set[str], now: datetime) -> set[str]:
    """Those of `holders` known dead: a process of this machine that is gone, or one
    whose heartbeat fell silent. One with no heartbeat elsewhere is not judged."""
    dead = dead_here(holders)
    others = holders - dead
    if others:
        query = sa.select(_H.holder).where(_H.holder.in_(others), _H.alive_at <= now - HEARTBEAT_TTL)
        with store.transaction() as connection:
            dead |= set(connection.execute(query).scalars())
    return dead


def interrupt_dead_runs(store: Store, now: datetime) -> int:
    """Runs left `running` by a process that died are recorded as interrupted (and run
    again, like any unfinished run); returns how many."""
    query = sa.select(RUN.c.holder).where(RUN.c.outcome == "running", RUN.c.holder.is_not(None))
    with store.transaction() as connection:
        holders = {h for h in connection.execute(query.distinct()).scalars() if h}
    dead = dead_holders(store, holders, now) if holders else set()
    if not dead:
        return 0
    statement = (
        RUN.update()
        .where(RUN.c.outcome == "running", RUN.c.holder.in_(dead))
        .values(outcome=INTERRUPTED, finished_at=now, detail=_INTERRUPTED_DETAIL)
    )
    with store.transaction() as connection:
        return int(connection.execute(statement).rowcount)
