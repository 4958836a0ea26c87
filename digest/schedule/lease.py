"""One scheduler leader among several instances, by a lease renewed in the database.

Every instance sends (deliveries are claimed row by row); only the leader decides
what is due, so two instances never both start the same occurrence's run. The
lease row also remembers when a leader was last alive: after downtime, the new
leader knows which occurrences were missed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from digest.delivery.store import Delivery, Store, UtcDateTime

SCHEDULER = "scheduler"
TTL = timedelta(seconds=float(os.environ.get("DIGEST_LEADER_LEASE_SECONDS", "") or 90))

LEASE_TABLE = sa.Table(
    "lease",
    Delivery.metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("alive_at", UtcDateTime(), nullable=False),
    # Fencing token: one more at each change of holder. A leader that slept past its
    # lease still has the old token, and `fenced` refuses its decisions.
    sa.Column("token", sa.Integer, nullable=False, server_default="0"),
)


def acquire(
    store: Store, holder: str, now: datetime, *, name: str = SCHEDULER, ttl: timedelta = TTL
) -> bool:
    """Take or renew the lease; True when `holder` leads until now + ttl."""
    values = {"holder": holder, "expires_at": now + ttl, "alive_at": now}
    renewed = sa.case(
        (LEASE_TABLE.c.holder == holder, LEASE_TABLE.c.token), else_=LEASE_TABLE.c.token + 1
    )
    with store.transaction() as connection:
        taken = connection.execute(
            LEASE_TABLE.update()
            .where(LEASE_TABLE.c.name == name)
            .where(sa.or_(LEASE_TABLE.c.holder == holder, LEASE_TABLE.c.expires_at < now))
            .values({**values, "token": renewed})
        ).rowcount
        if taken:
            return True
        exists = connection.execute(
            sa.select(LEASE_TABLE.c.name).where(LEASE_TABLE.c.name == name)
        ).first()
        if exists is not None:
            return False
        connection.execute(_insert_new(store), {"name": name, **values})
    return _holder(store, name) == holder


def _insert_new(store: Store) -> sa.Insert:
    if store.dialect == "postgresql":
        return postgresql.insert(LEASE_TABLE).on_conflict_do_nothing(index_elements=["name"])
    return sqlite.insert(LEASE_TABLE).on_conflict_do_nothing(index_elements=["name"])


def _holder(store: Store, name: str) -> str | None:
    with store.transaction() as connection:
        row = connection.execute(
            sa.select(LEASE_TABLE.c.holder).where(LEASE_TABLE.c.name == name)
        ).first()
    return None if row is None else str(row[0])


def token(store: Store, *, name: str = SCHEDULER) -> int:
    """The lease's fencing token as it is now."""
    with store.transaction() as connection:
        row = connection.execute(
            sa.select(LEASE_TABLE.c.token).where(LEASE_TABLE.c.name == name)
        ).first()
    return 0 if row is None else int(row[0])


@contextmanager
def fenced(
    store: Store, holder: str, held_token: int, now: datetime, *, name: str = SCHEDULER
) -> Iterator[Connection | None]:
    """A transaction in which `holder` still leads with `held_token` until after `now`
    (the lease row locked, so no one takes it over meanwhile); None when it does not."""
    query = (
        sa.select(LEASE_TABLE.c.name)
        .where(LEASE_TABLE.c.name == name, LEASE_TABLE.c.holder == holder)
        .where(LEASE_TABLE.c.token == held_token, LEASE_TABLE.c.expires_at > now)
        .with_for_update()
    )
    with store.transaction() as connection:
        yield connection if connection.execute(query).first() is not None else None


def release(store: Store, holder: str, *, name: str = SCHEDULER) -> None:
    """Give the lease up at once (a clean stop), keeping when it was last alive."""
    with store.transaction() as connection:
        connection.execute(
            LEASE_TABLE.update()
            .where(LEASE_TABLE.c.name == name, LEASE_TABLE.c.holder == holder)
            .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
        )


def last_alive(store: Store, *, name: str = SCHEDULER) -> datetime | None:
    """When any leader last renewed the lease; None on a new site."""
    with store.transaction() as connection:
        row = connection.execute(
            sa.select(LEASE_TABLE.c.alive_at).where(LEASE_TABLE.c.name == name)
        ).first()
    return None if row is None else cast(datetime, row[0])
